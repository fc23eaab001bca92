// Dual-RP mode: the TF sessions' streams between the two hosts, on both
// sides of the data channel (docs/dual-rp.md, "The hand-over across hosts").
//
// On the active, each session handed across hosts has a RemoteStreamRelay
// (the far ends of its tap's links); this holds them by session number,
// puts their chunks on the data channel within one budget of unconfirmed
// bytes for all sessions (the channel's send queue must never reach its
// limit, which drops the channel), and turns the standby's confirmations
// into each session's write gate. On the standby, each session has a
// StreamReceiver: a chunk is checked, kept and confirmed; its bytes must
// frame into BGP messages. Either side ends a session's streams with a
// StreamEnd that says why; a relay's end reaches its tap as the standby's
// word, so the tap's back-off and unprotection are local mode's.
//
// On the standby each receiver writes what it accepted into two unix links,
// whose far ends feed the standby's shadow of the session exactly as the
// local hand-over's links do, and confirms what the links took and, past
// a full link, what arrived, within one budget for all sessions (docs/
// dual-rp.md, "Confirmed ahead of the links"): a shadow busy with a table
// no longer holds every keepalive of its session back; a slow one still
// slows the active once the budget is spent. A shadow that takes its
// session over first gets every byte its receiver holds (the links grow to
// take them). Once the connection's image arrived the shadow can start on
// a placeholder socket with the session's addresses (placeholder_of).
//
// A session whose gate starts not engaged catches up first (docs/dual-rp.md,
// "Catching up, then protected"): the active writes and acknowledges at
// once while the history crosses, the standby says when its shadow has
// read it (CaughtUp), the active then engages the gate and the hold, and
// once the standby confirmed every byte the peer may have of the session,
// says it is protected. Only then may a shadow continue it. An older
// standby (no Status.stream_protection) gets sessions gated from the start.
//
// Runs on bgpd's main thread (the data channel's).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ack_hold.hpp"
#include "bgp_stream.hpp"
#include "connection_image.hpp"
#include "pair_types.hpp"
#include "remote_stream_relay.hpp"
#include "remote_streams.hpp"
#include "unique_fd.hpp"

namespace frr_ha {

class CrossHostStreams {
public:
    // The data channel (PairNode::send_stream; a test's queue). Each
    // returns false when the channel is down (nothing sent).
    struct Channel {
        std::function<bool(const StreamSessionInfo &)> session;
        std::function<bool(const StreamChunk &)> chunk;
        std::function<bool(const StreamAck &)> ack;
        std::function<bool(const StreamEnd &)> end;
        std::function<bool(const SessionImage &)> image;
        std::function<bool(const SessionProgress &)> progress;
        std::function<bool(const StreamProtection &)> protection;
    };
    // The host: a relay's descriptors changed (it may read again, or it is
    // gone: relay_fds() says), and the log.
    struct Host {
        std::function<void(std::uint64_t session)> relay_changed;
        // Standby: a receiver's state changed (its image came, its links
        // want watching differently, its history is complete, the peer
        // acknowledged more, or it ended): receiver_state() says.
        std::function<void(std::uint64_t session)> receiver_changed;
        std::function<void(LogLevel, const std::string &)> log;
        // Runs the call with CAP_NET_ADMIN in effect: a link's buffer past
        // net.core.wmem_max. Unset: the call runs as it is.
        std::function<void(const std::function<void()> &)> privileged;
    };

    // Chunks on the channel not yet confirmed, over all sessions.
    static constexpr std::size_t kDefaultBudget = 8 << 20;
    static constexpr std::size_t kChunk = 64 << 10;
    // The socket buffer of the standby host's end of each link to a shadow.
    static constexpr int kLinkBuffer = 2 << 20;
    // A session that catches up is confirmed as it arrives until its shadow
    // has caught up: the shadow needs the image, which follows the whole
    // history, so confirming only what the links took would stop a history
    // larger than the links and the window for good; and a shadow still
    // working through the history would hold the active's writes back for
    // a session it cannot continue yet. What one stream may hold
    // undelivered meanwhile: the active's own bound on a hand-over's
    // pending bytes (ActiveTap::kMaxPendingHandover).
    static constexpr std::size_t kMaxHeldBeforeShadow = 512u << 20;
    // What the standby host confirms past its shadows' full links, over all
    // sessions: held here until the links take it, and written into them
    // before a shadow takes its session over, where the shadow reads it
    // (about 0.5 s of parsing for 16 MiB of a full table).
    static constexpr std::size_t kDefaultAheadOfLinks = 16u << 20;
    static constexpr std::chrono::milliseconds kLateLagCheck{200};

    CrossHostStreams(Channel channel, Host host, std::size_t budget = kDefaultBudget,
                     std::size_t window = StreamSender::kDefaultWindow,
                     std::size_t ahead_of_links = kDefaultAheadOfLinks);

    // --- the active ---
    // The hold (docs/dual-rp.md, "The hold"): each relayed session's own
    // segments wait until the standby host confirmed every byte their ACK
    // covers. Not owned; nullptr: no hold (sessions relayed from then on
    // are not held).
    void set_hold(AckHold *hold) { hold_ = hold; }

    // The session's socket as the tap was attached: its state, and the
    // bytes the tap had written to it and consumed from it then. Once the
    // history's end says which stream offsets those were, the standby host
    // gets the image.
    struct SocketAtAttach {
        TcpConnectionState captured;
        std::uint64_t written = 0, consumed = 0;
        // Its 4-tuple, for the hold (held from the capture's receive
        // sequence: what the kernel acknowledged before, it did).
        std::optional<HeldConnection> connection;
    };
    // A session handed over: the far ends of its tap's links (see
    // RemoteStreamRelay). Announces it on the channel; fails (and closes
    // the ends) when the channel is down. Returns the session's number.
    // A `gate` not engaged: the session catches up first (its hold starts
    // when the gate engages).
    Result<std::uint64_t> add_relay(StreamSessionInfo info, UniqueFd input_link,
                                    UniqueFd sendlog_link, UniqueFd handover_conn,
                                    std::shared_ptr<WriteGate> gate,
                                    std::optional<SocketAtAttach> socket = std::nullopt);
    // A fresh capture of the session's socket, with the tap's counts then:
    // sent as progress once the image went (else nothing). `held_at`: the
    // received-stream offset the hold let the kernel acknowledge.
    void progress(std::uint64_t session, const TcpConnectionState &captured,
                  std::uint64_t written, std::uint64_t consumed,
                  std::uint64_t held_at = UINT64_MAX);
    // Reads what the links hold into the channel. False: the relay ended
    // (its tap dropped the links, or the channel went down).
    bool pump(std::uint64_t session);
    // The lag limit through the hold: a relayed session whose peer has
    // waited longer than `lag_limit` for an acknowledgement the standby host
    // has not confirmed goes on unprotected (its streams end, its tap hears
    // why and backs off), as a full link ends it in local mode. A cut relay
    // waits however long it takes (end_relays). Called every few tens of
    // ms: a check more than kLateLagCheck after the last one follows a
    // stall of this thread, with confirmations perhaps still unread, and
    // decides nothing. Returns how many sessions it ended.
    std::size_t end_lagging(std::chrono::milliseconds lag_limit,
                            std::chrono::steady_clock::time_point now);
    // The descriptors to watch for input: the input link, the send-log
    // link, the hand-over connection (-1 when done with, or when the
    // session's window is full: a confirmation makes room and says so
    // through relay_changed). False: no such relay.
    bool relay_fds(std::uint64_t session, int fds[3]) const;

    // --- the standby: the shadow on this host ---
    struct ReceiverState {
        StreamSessionInfo info;
        // Watch read_fd for the shadow's word (or its end); write_fd, when
        // not -1, for room in a full link.
        int read_fd = -1, write_fd = -1;
        bool shadow_wanted = false;     // the image came; start_shadow not called
        bool history_complete = false;  // the links hold the whole history
        std::uint64_t peer_acked = 0;   // sent-stream offset, from the progress
        // The connection (once the image came) and the last progress.
        std::optional<ConnectionImage> image;
        std::optional<ConnectionProgress> progress;
        std::chrono::steady_clock::time_point progress_at{};
    };
    std::optional<ReceiverState> receiver_state(std::uint64_t session) const;
    // Why a shadow on this host could not take its session over yet
    // without the new active sending the peer its table again: its
    // history has not all come, its shadow is not running, or the shadow
    // has not read the history from its links (it would not know the routes
    // the peer sent, nor those the peer holds), or the session catches up
    // and the active has not said it is protected. "" once every shadow
    // is ready; the live lag after it is shown apart. A shadow that has
    // read its history tells the active it caught up (StreamProtection).
    std::string shadows_behind();
    // The shadow's descriptors: the placeholder socket (needs CAP_NET_ADMIN),
    // the far ends of the input and send-log links. Once only. A placeholder
    // this host cannot make ends the receiver (the active is told why).
    Result<std::array<UniqueFd, 3>> start_shadow(std::uint64_t session);
    // A full link has room again.
    void receiver_flush(std::uint64_t session);
    // The input link is readable: the shadow's word that it ended (or the
    // links' end) goes to the active, and the receiver ends.
    void receiver_word(std::uint64_t session);

    // --- arriving on the data channel ---
    void on_session(const StreamSessionInfo &info);  // standby
    void on_chunk(const StreamChunk &chunk);         // standby
    void on_ack(const StreamAck &ack);               // active
    void on_end(const StreamEnd &end);               // either
    void on_image(const SessionImage &image);        // standby
    void on_progress(const SessionProgress &p);      // standby
    void on_protection(const StreamProtection &p);   // either
    // Standby: a piece of the session was refused before it got here.
    void refused(std::uint64_t session, const std::string &why);

    // The data channel went down, or this RP's role changed: every relay
    // (tell_tap: its tap hears why) or every receiver ends here.
    // `cut`: the data channel went down, so the standby host may be taking
    // over with what it has. Each relay stays, cut: its session writes
    // nothing past what the standby host confirmed (the gate stays shut)
    // and acknowledges nothing more (the hold keeps its segments), until
    // release_cut() says this RP writes to peers again (its lease came
    // back, or the channel with a partner that did not take over): the
    // relays end then, and their sessions go on unprotected.
    void end_relays(const std::string &why, bool cut = false);
    void release_cut(const std::string &why);
    // `continuable`: the receivers end because the data channel went down
    // (the active's relays are cut, so it writes nothing this host lacks)
    // or because this RP becomes active: their shadows may take over.
    void end_receivers(const std::string &why, bool continuable = false);
    // Whether a shadow fed by this session's receiver may continue the
    // session: its receiver runs and the session is protected, or it ended
    // continuable and no channel to the partner came up since. Any other end (the active ended the
    // streams, this host refused them) means the active went on without
    // this host: continuing would resend what the peer already has, or
    // miss what it sent since.
    bool may_continue(std::uint64_t session) const;
    // A channel to the partner came up: the active may write again (its
    // cut released) without this host, so no ended receiver is continuable.
    void partner_back();

    // show bgp ha: one line per session on either side.
    struct View {
        std::uint64_t session = 0;
        bool relay = false;  // the active's side
        std::string vrf, neighbor;
        std::uint64_t received = 0, sent = 0;  // confirmed (relay) or held (receiver)
        std::uint64_t offered_received = 0, offered_sent = 0;  // relay
        std::uint64_t messages_received = 0, messages_sent = 0, updates_sent = 0;  // receiver
        // Standby: the connection as it would be rebuilt (when known), and
        // how old the last progress is.
        std::optional<ConnectionImage> image;
        std::optional<ConnectionProgress> progress;
        std::int64_t progress_age_ms = -1;
        bool image_sent = false;  // relay
        // Relay under the hold: how long its oldest segment waits (0: none).
        std::uint64_t hold_wait_ms = 0;
        // The standby host holds every byte the peer may have of the
        // session (or, catching up, not yet).
        bool is_protected = false;
    };
    std::vector<View> view() const;
    struct Counters {
        std::uint64_t relays_started = 0, relays_ended = 0;
        std::uint64_t receivers_started = 0, receivers_ended = 0;
        std::uint64_t chunks_refused = 0;
        std::uint64_t bytes_confirmed = 0;  // active: both streams
        std::uint64_t bytes_held = 0;       // standby: both streams
        std::size_t in_flight = 0;          // active: chunked, unconfirmed
        std::size_t held_sessions = 0;      // active: under the hold
        std::uint64_t hold_refused = 0;     // active: relayed without the hold
        std::size_t catching_up = 0;        // either: sessions not protected yet
        std::size_t ahead_of_links = 0;     // standby: confirmed, not in the links yet
        std::uint64_t hold_lagging = 0;     // active: relays ended by end_lagging
    };
    Counters counters() const;

private:
    struct Relay {
        Relay(StreamSessionInfo i, RemoteStreamRelay r) : info(std::move(i)), relay(std::move(r)) {}
        StreamSessionInfo info;
        RemoteStreamRelay relay;
        std::uint64_t chunked = 0;  // bytes put on the channel, both streams
        bool room_wanted = false;   // its window or the budget was full (in waiting_)
        std::optional<SocketAtAttach> socket;
        std::optional<HistoryEnd> history_end;  // once the tap told it
        bool image_sent = false;
        bool held = false;                 // its segments wait for the hold
        bool cut = false;                  // the data channel went down under it
        std::uint32_t recv_base = 0;       // once the image went: offset 0's sequence
        // Catching up: the gate engaged (the standby's shadow caught up),
        // the received-stream offset the kernel may have acknowledged before
        // the hold started (from the first progress after), and whether the
        // standby was told the session is protected.
        bool engaged = true;
        std::optional<std::uint64_t> acked_before_hold;
        bool protection_told = false;
        std::uint64_t in_flight() const
        {
            return chunked - relay.confirmed_end(StreamKind::received) -
                   relay.confirmed_end(StreamKind::sent);
        }
    };
    struct Receiver {
        explicit Receiver(StreamSessionInfo i)
            : info(std::move(i)),
              streams(info.session, 0, 0),
              received_framer(kBgpMaxExtendedMessage),
              sent_framer(kBgpMaxExtendedMessage)
        {
        }
        StreamSessionInfo info;
        StreamReceiver streams;
        BgpStreamFramer received_framer, sent_framer;
        std::uint64_t messages_received = 0, messages_sent = 0, updates_sent = 0;
        std::optional<ConnectionImage> image;
        std::optional<ConnectionProgress> progress;
        std::chrono::steady_clock::time_point progress_at{};
        // This host's ends of the links; the far ends until the shadow
        // takes them.
        UniqueFd input_link, sendlog_link, input_far, sendlog_far;
        bool link_full = false;
        bool shadow_started = false;
        bool history_read = false;  // the shadow read its links past the history
        bool is_protected = true;   // false until the active says (protection_follows)
        bool caught_up_told = false;
        std::uint64_t confirmed_received = 0, confirmed_sent = 0;  // the last StreamAck
        std::uint64_t ahead = 0;  // of those, not in the links yet (its part of ahead_)
        // Confirmed on arrival (see kMaxHeldBeforeShadow), or as delivered.
        bool confirms_on_arrival() const { return info.protection_follows && !caught_up_told; }
        std::uint64_t history_received = 0, history_sent = 0;  // from the image
        bool history_complete() const
        {
            return image && streams.delivered_end(StreamKind::received) >= history_received &&
                   streams.delivered_end(StreamKind::sent) >= history_sent;
        }
    };

    bool send_chunks(std::uint64_t session, Relay &r);
    void send_image(std::uint64_t session, Relay &r);
    void end_relay(std::map<std::uint64_t, Relay>::iterator it, const std::string &why,
                   bool tell_standby, bool tell_tap);
    void cut_relay(std::uint64_t session, Relay &r, const std::string &why);
    void end_receiver(std::map<std::uint64_t, Receiver>::iterator it, const std::string &why,
                      bool tell_active);
    Status deliver(Receiver &r);
    // `room`: the links may take more now (else a full link is not tried).
    void deliver_and_confirm(std::map<std::uint64_t, Receiver>::iterator it, bool room);
    void confirm(std::uint64_t session, Receiver &r);
    void count_ahead(Receiver &r);
    Status deliver_all(Receiver &r);
    void receiver_changed(std::uint64_t session);
    void want_room(std::uint64_t session, Relay &r);
    void hold_confirm(Relay &r);
    void hold_start(Relay &r, std::uint32_t acknowledged);
    void engage(std::uint64_t session, Relay &r);
    void tell_if_protected(std::uint64_t session, Relay &r);
    std::string receiver_behind(std::uint64_t session, Receiver &r);

    Channel channel_;
    Host host_;
    std::size_t budget_, window_, ahead_budget_;
    std::uint64_t next_session_ = 1;
    std::map<std::uint64_t, Relay> relays_;
    AckHold *hold_ = nullptr;
    std::map<std::uint64_t, Receiver> receivers_;
    std::set<std::uint64_t> continuable_;  // receivers ended continuable
    // Receivers whose shadow is not ready yet (history not read, or not
    // protected): shadows_behind() walks only while there are any.
    std::size_t receivers_behind_ = 0;
    std::set<std::uint64_t> waiting_;  // relays that wait for room
    std::size_t in_flight_ = 0;        // chunked, not confirmed, over all relays
    std::size_t ahead_ = 0;            // confirmed past the links, over all receivers
    Counters counters_;
    std::chrono::steady_clock::time_point last_lag_check_{};  // end_lagging's
};

}  // namespace frr_ha
