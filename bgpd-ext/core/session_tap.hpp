// One BGP connection as this bgpd's I/O sees it, when the HA pair stands
// between the session and its socket (docs/transparent-failover.md): what
// the C API (include/frr_ha/tap.h) holds per socket.
//
// It routes each call to the role the session has now: the active's side
// (active_tap.hpp) or the standby's, later the new active's (shadow_tap.hpp).
// Both share the socket's streams (tap_streams.hpp) and the mode
// (tap_mode.hpp), which changes only through TapState::enter. A new active
// hands its sessions over in turn, so a tap that began as a shadow gains
// an active side at its first hand-over.
//
// All calls but the constructors run with the session's I/O lock held (in
// bgpd: peer->io_mtx), so a tap needs no lock of its own.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "active_tap.hpp"
#include "result.hpp"
#include "shadow_tap.hpp"
#include "tap_mode.hpp"
#include "tap_streams.hpp"
#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"

namespace frr_ha {

class SessionTap {
public:
    using ReplicationStats = frr_ha::ReplicationStats;
    static constexpr std::size_t kMaxHistory = ActiveTap::kMaxHistory;
    static constexpr std::size_t kMaxPendingHandover = ActiveTap::kMaxPendingHandover;
    static constexpr std::chrono::milliseconds kMaxHandoverBackoff = ActiveTap::kMaxHandoverBackoff;

    // A connection of the active, from its first byte.
    explicit SessionTap(int fd);
    // A standby's shadow of a handed-over connection: the links carry the
    // received and the sent stream from their first byte.
    // The bias, if not given here, comes with history_ended().
    SessionTap(int fd, UniqueFd input_link, UniqueFd sendlog_link,
               std::optional<TcpCountBias> bias);
    // The roles hold references into the tap.
    SessionTap(const SessionTap &) = delete;
    SessionTap &operator=(const SessionTap &) = delete;

    int fd() const { return streams_.fd(); }
    // The peer's socket: held apart from bgpd's descriptor once isolated.
    int socket_fd() const { return shadow_ ? shadow_->socket_fd() : fd(); }
    bool isolated() const { return shadow_ && shadow_->isolated(); }
    void set_max_message(std::size_t max) { streams_.set_max_message(max); }
    TapMode mode() const { return state_.mode(); }
    // The mode as shown: a session handed across hosts is handing over
    // until the standby host has caught up and protects it.
    TapMode shown_mode() const
    {
        if (mode() == TapMode::Mirroring && active_ && !active_->standby_caught_up())
            return TapMode::HandingOver;
        return mode();
    }
    const std::string &why_unprotected() const { return state_.why_unprotected(); }
    std::uint64_t consumed() const { return streams_.consumed(); }
    std::uint64_t written() const { return streams_.written(); }
    std::uint64_t mirrored() const { return shadow_ ? shadow_->mirrored() : 0; }
    ReplicationStats replication_stats() const;

    // read(2) / writev(2) for bgpd. `ended` is set when a shadow's mirror
    // has just closed (the caller tells the main thread).
    ssize_t read(void *buf, std::size_t len, bool *ended);
    ssize_t writev(const struct iovec *iov, int iovcnt);
    // The descriptor whose readiness means input: the socket, the mirror,
    // or `parked` (never ready) while a shadow waits after its mirror ended.
    int input_fd(int parked) const;

    // --- the active's side -------------------------------------------------
    // Whether the session can be handed over now (receive-only or not),
    // else why not.
    Status attachable(bool receive_only = false) const;
    // Hands the session to the standby, whose shadow already has the
    // links: the history streams into them and the session is mirrored
    // from then on. A new session's history is its bytes; an older one's
    // is made from what the streams hold (both OPENs, the received routes
    // as UPDATEs, the message in progress), so that the standby ends in the
    // same state. Once the links hold the history, the standby is told on
    // `handover_conn` how the kernel's counters relate to the streams (the
    // bias, measured then). With `receive_only` (a session that will
    // restart gracefully rather than continue), the send log gets the
    // history and then closes: only the received stream is mirrored, which
    // is what keeps the peer's routes in the standby's RIB. With a `gate`
    // (dual-RP: the links end in a RemoteStreamRelay), the protected
    // session writes to the peer only what the standby host confirmed.
    Status attach(UniqueFd input_link, UniqueFd sendlog_link, UniqueFd handover_conn,
                  bool receive_only = false, std::shared_ptr<WriteGate> gate = nullptr);
    bool receive_only() const { return active_ && active_->receive_only(); }
    // The standby is gone or the session cannot be handed over.
    Status unprotect(const std::string &why);
    // The descriptor to watch for the standby's word on a handed-over
    // session (the input link's other direction), or -1.
    int standby_word_fd() const { return active_ ? active_->standby_word_fd() : -1; }
    // The descriptor whose writability bgpd waits on before writing (the
    // send-log link while it is full and nothing logged is unwritten), and
    // the one it waits on while input is held back (-1 when not).
    // What bgpd waits on to write. A shadow's writes are swallowed, so it
    // waits on something always writable (its send-log link): never on the
    // peer's socket, which across hosts is a placeholder, nor on the
    // stand-in, which never is; a write left queued in bgpd would reach the
    // peer at the takeover.
    int output_fd() const
    {
        if (active_)
            return active_->output_fd();
        if (swallows_writes())
            return shadow_->swallow_fd();
        return fd();
    }
    // A shadow's writes go nowhere (swallowed, recorded for the difference).
    bool swallows_writes() const
    {
        return shadow_ && (mode() == TapMode::Shadow || mode() == TapMode::MirrorEnded);
    }
    int input_held_on() const { return active_ ? active_->input_held_on() : -1; }
    // Every few tens of ms: streams the hand-over's history on (making at
    // most `make_budget` bytes of it), and gives up protecting a session
    // held back longer than `lag_limit`. True when the session's I/O must
    // be woken (it is no longer held back).
    bool pump(std::chrono::milliseconds lag_limit,
              std::size_t make_budget = ActiveTap::kHistoryPart);
    // Takes what the standby said on the input link. True when the session
    // is no longer protected: the standby ended its shadow (its reason is
    // shown, and the session is handed over again after a back-off) or
    // closed the links without a word (`if_silent` is shown).
    bool take_standby_word(const std::string &if_silent);
    // The session will never be handed over (its switchover mode is not
    // transparent): stop following its streams, which costs a parse of
    // every message read and written.
    Status exclude(const std::string &why);
    // Old active, planned switchover: never read or write this socket
    // again; bgpd's descriptor becomes a stand-in. `silently`: the socket
    // closes in repair mode, sending nothing (dual-RP: the standby host
    // continues the connection on a socket of its own).
    Status release(bool silently = false);

    // --- the standby's side, then the new active's ---------------------------
    // The active's links hold the whole history (hand-over connection).
    Status history_ended(TcpCountBias bias);
    // Dual-RP (ShadowTap::remote_history_complete, peer_acked).
    Status remote_history_complete();
    void peer_acked(std::uint64_t offset);
    void follow_remote(const ConnectionImage &image, const ConnectionProgress &progress,
                       std::chrono::steady_clock::time_point progress_at);
    bool history_complete() const { return shadow_ && shadow_->history_complete(); }
    // bgpd's descriptor becomes a stand-in, the peer's socket is held here
    // (once the shadow's FSM has read the session's addresses: bgpd reads
    // them at the connection and again at the peer's OPEN).
    Status isolate();
    // The shadow ended on this RP (hold timer, configuration, an operator):
    // tells the active why, on the input link, before the links close.
    void tell_active_shadow_ended(const std::string &why);
    // Takes in what the send-log link holds (to its end with `to_eof`,
    // waiting for the old active's close).
    Status drain_sendlog(bool to_eof);
    int sendlog_fd() const { return shadow_ ? shadow_->sendlog_fd() : -1; }
    std::size_t sendlog_messages() const { return shadow_ ? shadow_->sendlog_messages() : 0; }
    // The shadow's FSM is Established, so it can take messages of the
    // negotiated size.
    void open_gate();
    // New active: continue the session. Settles the output side now (a
    // half-written message is finished from the send log); the input side
    // finishes in read() once the mirror is read to its end.
    Status take_over(bool writers_gone = false,
                     const std::optional<std::string> &md5_key = std::nullopt);
    std::size_t completed_bytes() const { return shadow_ ? shadow_->completed_bytes() : 0; }
    // Bytes the old active mirrored but never consumed, dropped from the
    // socket's queue at takeover.
    std::uint64_t duplicates_dropped() const { return shadow_ ? shadow_->duplicates_dropped() : 0; }
    std::string rebuilt() const { return shadow_ ? shadow_->rebuilt() : std::string(); }
    bool input_moved() const { return shadow_ && shadow_->input_moved(); }
    // New active, for a session that restarts gracefully (RFC 4724) rather
    // than continue: bgpd reads the end of the stream at once, as if the
    // connection had closed, so that FRR's own GR code keeps the peer's
    // routes as stale until its End-of-RIB; nothing more is written. The
    // socket closes when bgpd drops the session: the peer sees it close.
    Status end_for_graceful_restart();
    // New active, once this RP's own update generation has settled after
    // the takeover: the messages that bring the peer from what the old
    // active had written to what this RP's FSM believes it sent (taken
    // once; none when there is no takeover to finish), or why there are
    // none although there should be.
    Result<std::vector<std::string>> take_takeover_messages();
    std::size_t takeover_diff_messages() const;
    const std::string &takeover_diff_problem() const;
    std::size_t received_prefixes() const { return streams_.received().prefixes(); }
    std::size_t peer_holds_prefixes() const { return streams_.peer_holds().prefixes(); }
    std::size_t shadow_sent_prefixes() const;
    std::size_t unsent_messages() const { return shadow_ ? shadow_->unsent_messages() : 0; }

private:
    TapState state_;
    TapStreams streams_;
    std::unique_ptr<ActiveTap> active_;  // from the start, or the first hand-over
    std::unique_ptr<ShadowTap> shadow_;  // a tap that began on the standby
};

// A socket without a tap released as SessionTap::release(true) releases
// one: in repair mode (its close sends nothing), under a stand-in.
Status release_silently(int fd);

}  // namespace frr_ha
