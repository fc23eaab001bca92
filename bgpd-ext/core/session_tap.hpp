// One BGP connection as this bgpd's I/O sees it, when the HA pair stands
// between the session and its socket (docs/transparent-failover.md).
//
// Active side: every byte read or written is counted from the first one,
// and kept until the session is handed to the standby (attach). The
// hand-over passes the descriptors first; the history then streams into
// the links while the session goes on (HandingOver: what passes meanwhile
// is appended to the history), without ever blocking. Once the links hold
// it all, the session is protected (Mirroring): a read peeks, mirrors the
// bytes to the standby's input link and consumes only what the link took;
// a write first logs its new bytes on the send-log link and writes to the
// peer only what is logged. Whatever instant the active dies at, the
// standby holds every byte the active consumed and every byte it may have
// written. A link that is full holds back that one session (TCP's own flow
// control pushes back on its peer); past the lag limit the session goes on
// unprotected ("standby lagging") and is handed over again later.
//
// Standby side (a shadow): the session's input comes from the input link;
// writes are swallowed. Once its FSM has taken the session's addresses, the
// shadow is isolated: bgpd's descriptor for the session becomes a stand-in
// (a unix socket whose other end is closed) and the peer's socket is held
// here alone, so nothing bgpd does on a standby (a NOTIFICATION, a close,
// a socket option) can reach the peer. At takeover the peer's socket takes
// the stand-in's descriptor number back, the rest of the link is read, the
// bytes the old active mirrored but never consumed are dropped from the
// socket's queue, and from then on the socket is read directly. An old
// active gets a stand-in the same way when it releases a session.
//
// All calls but the constructor run with the session's I/O lock held (in
// bgpd: peer->io_mtx), so a tap needs no lock of its own.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bgp_stream.hpp"
#include "receive_mirror.hpp"
#include "send_log.hpp"
#include "stream_rib.hpp"
#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"

namespace frr_ha {

enum class TapMode {
    Recording,     // active, not handed over (yet): plain I/O, counted
    HandingOver,   // active, descriptors passed, the history streaming
    Mirroring,     // active, handed over: peek-mirror-consume, log-then-write
    Unprotected,   // active, cannot be handed over (history lost or standby gone)
    Released,      // old active after a planned switchover: no I/O at all
    Shadow,        // standby: input from the mirror, output swallowed
    MirrorEnded,   // standby: the mirror closed; waiting to know why
    TakingOver,    // new active: finishing the mirror, then the socket
    Live,          // new active: plain I/O on the socket
    GracefulEnd,   // new active, graceful restart: reads end of stream at once
};

const char *tap_mode_name(TapMode mode);

class SessionTap {
public:
    // Bytes of history an active keeps for a later hand-over.
    static constexpr std::size_t kMaxHistory = 4u << 20;

    // A connection of the active, from its first byte.
    explicit SessionTap(int fd) : fd_(fd) {}
    // A standby's shadow of a handed-over connection: the links carry the
    // received and the sent stream from their first byte.
    SessionTap(int fd, UniqueFd input_link, UniqueFd sendlog_link, TcpCountBias bias);

    int fd() const { return fd_; }
    // The peer's socket: held apart from bgpd's descriptor once isolated.
    int socket_fd() const { return live_ ? live_.get() : fd_; }
    bool isolated() const { return static_cast<bool>(live_); }
    // The session's largest message (RFC 8654 extended messages or not).
    void set_max_message(std::size_t max) { max_message_ = max; }
    TapMode mode() const { return mode_; }
    const std::string &why_unprotected() const { return why_; }
    std::uint64_t consumed() const { return consumed_; }
    std::uint64_t written() const { return written_; }
    std::uint64_t mirrored() const { return mirror_.end(); }

    // Active: what replication costs and how far the standby lags.
    struct ReplicationStats {
        std::uint64_t bytes_mirrored = 0, bytes_logged = 0;  // into the links
        std::uint64_t backpressure_events = 0;  // a link was full
        std::uint64_t lag_bytes = 0;  // in the links, not read by the standby yet
        std::uint64_t pending_bytes = 0;  // hand-over: not in the links yet
        std::uint64_t held_ms = 0;    // the session is held back now, for so long
        std::uint64_t held_p50_ms = 0, held_p99_ms = 0, held_max_ms = 0;  // past holds
        std::int64_t protected_after_ms = -1;  // from attach to protected
    };
    ReplicationStats replication_stats() const;

    // read(2) / writev(2) for bgpd. `ended` is set when a shadow's mirror
    // has just closed (the caller tells the main thread).
    ssize_t read(void *buf, std::size_t len, bool *ended);
    ssize_t writev(const struct iovec *iov, int iovcnt);
    // The descriptor whose readiness means input: the socket, the mirror,
    // or `parked` (never ready) while a shadow waits after its mirror ended.
    int input_fd(int parked) const;

    // Active: hands the session to the standby. Writes the history to the
    // links and mirrors from now on; the bias tells the standby how the
    // kernel's counters relate to the stream (measured here, now). A new
    // session's history is its bytes; an older one's is made from what
    // the streams hold (both OPENs, the received routes as UPDATEs, the
    // message in progress), so that the standby ends in the same state.
    // With `receive_only` (a session that will restart gracefully rather
    // than continue), the send log gets the history and then closes: only
    // the received stream is mirrored, which is what keeps the peer's
    // routes in the standby's RIB. Why not, or "" if it can.
    std::string why_not_attachable() const;
    bool attach(UniqueFd input_link, UniqueFd sendlog_link, TcpCountBias *bias,
                std::string *error, bool receive_only = false);
    bool receive_only() const { return receive_only_; }
    // Active: the standby is gone or the session cannot be handed over.
    void unprotect(const std::string &why);
    // Active: the descriptor to watch for the standby's word on a handed-
    // over session (the input link's other direction), or -1.
    int standby_word_fd() const
    {
        return mode_ == TapMode::Mirroring || mode_ == TapMode::HandingOver ? input_link_.get() : -1;
    }
    // Active: the descriptor whose writability bgpd waits on before writing
    // (the send-log link while it is full and nothing logged is unwritten),
    // and the one it waits on while input is held back (-1 when not).
    int output_fd() const { return output_held_ && mode_ == TapMode::Mirroring ? sendlog_link_.get() : fd_; }
    int input_held_on() const { return input_held_ && mode_ == TapMode::Mirroring ? input_link_.get() : -1; }
    // Active, every few tens of ms: streams the hand-over's history on, and
    // gives up protecting a session held back longer than `lag_limit`. True
    // when the session's I/O must be woken (it is no longer held back).
    bool pump(std::chrono::milliseconds lag_limit);
    // The hand-over's history and what passes while it streams, at most.
    static constexpr std::size_t kMaxPendingHandover = 512u << 20;
    // Active: takes what the standby said on the input link. True when the
    // session is no longer protected: the standby ended its shadow (its
    // reason is shown, and the session is handed over again after a
    // back-off) or closed the links without a word (`if_silent` is shown).
    bool take_standby_word(const std::string &if_silent);
    // Active: after the standby ended shadows of this session, the next
    // hand-over waits (1 s, doubling to kMaxHandoverBackoff).
    static constexpr std::chrono::milliseconds kMaxHandoverBackoff{16000};
    // Active: the session will never be handed over (its switchover mode is
    // not transparent): stop following its streams, which costs a parse of
    // every message read and written.
    void exclude(const std::string &why);
    // Old active, planned switchover: never read or write this socket again;
    // bgpd's descriptor becomes a stand-in.
    void release();

    // Shadow: bgpd's descriptor becomes a stand-in, the peer's socket is
    // held here (once the shadow's FSM has read the session's addresses:
    // bgpd reads them at the connection and again at the peer's OPEN).
    bool isolate(std::string *error);
    // Shadow: it ended on this RP (hold timer, configuration, an operator):
    // tells the active why, on the input link, before the links close.
    void tell_active_shadow_ended(const std::string &why);

    // Shadow: takes in what the send-log link holds (to its end with
    // `to_eof`, waiting for the old active's close).
    bool drain_sendlog(bool to_eof, std::string *error);
    int sendlog_fd() const { return sendlog_link_.get(); }
    std::size_t sendlog_messages() const { return send_log_.messages(); }

    // Shadow: its FSM is Established, so it can take messages of the
    // negotiated size. Until then it gets the OPEN and the KEEPALIVE only:
    // bgpd checks each header's length against what the OPENs negotiated,
    // in its I/O thread, as soon as the bytes arrive.
    void open_gate()
    {
        gate_open_ = true;
        std::string().swap(pregate_start_);
    }

    // New active: continue the session. Settles the output side now (a
    // half-written message is finished from the send log); the input side
    // finishes in read() once the mirror is read to its end.
    bool take_over(std::string *error);
    std::size_t completed_bytes() const { return completed_bytes_; }
    // Bytes the old active mirrored but never consumed, dropped from the
    // socket's queue at takeover.
    std::uint64_t duplicates_dropped() const { return duplicates_dropped_; }
    // New active, for a session that restarts gracefully (RFC 4724) rather
    // than continue: bgpd reads the end of the stream at once, as if the
    // connection had closed, so that FRR's own GR code keeps the peer's
    // routes as stale until its End-of-RIB; nothing more is written. The
    // socket closes when bgpd drops the session: the peer sees it close.
    void end_for_graceful_restart();

    // New active, once this RP's own update generation has settled after
    // the takeover: the messages that bring the peer from what the old
    // active had written to what this RP's FSM believes it sent (taken once).
    std::vector<std::string> take_takeover_messages();
    std::size_t takeover_diff_messages() const { return takeover_diff_messages_; }
    const std::string &takeover_diff_problem() const { return takeover_diff_problem_; }
    std::size_t received_prefixes() const { return in_rib_.prefixes(); }
    std::size_t peer_holds_prefixes() const { return out_rib_.prefixes(); }
    std::size_t shadow_sent_prefixes() const { return shadow_sent_.prefixes(); }
    std::size_t unsent_messages() const { return unsent_messages_; }

private:
    ssize_t read_active(void *buf, std::size_t len);
    ssize_t read_mirroring(void *buf, std::size_t len);
    ssize_t writev_mirroring(const struct iovec *iov, int iovcnt, std::size_t total);
    ssize_t writev_plain(const struct iovec *iov, int iovcnt);
    void flush_pending();
    void hold(bool *direction);
    void unhold(bool *direction);
    ssize_t read_shadow(void *buf, std::size_t len, bool *ended);
    ssize_t finish_mirror();
    std::size_t gated_length(std::size_t len);
    void record(std::string &history, const void *data, std::size_t len);
    void track_input(const void *data, std::size_t len);
    void track_output(const struct iovec *iov, int iovcnt, std::size_t len);
    void track_sendlog(const std::string &message);
    bool history_from_streams(std::string *in, std::string *out, std::string *error) const;

    int fd_;
    TapMode mode_ = TapMode::Recording;
    std::string why_;
    std::uint64_t consumed_ = 0;  // received-stream bytes taken from the socket
    std::uint64_t written_ = 0;   // sent-stream bytes handed to the socket
    std::uint64_t logged_ = 0;    // sent-stream bytes on the send-log link
    std::string read_history_, write_history_;
    UniqueFd input_link_, sendlog_link_;
    UniqueFd always_readable_;  // GracefulEnd: wakes bgpd's I/O to read the end
    ReceiveMirror mirror_;  // shadow: the received stream held from the mirror
    TcpCountBias bias_;
    BgpStreamFramer out_framer_{kBgpMaxExtendedMessage};  // shadow: the sent stream
    SendLog send_log_;
    // What both streams hold, for a standby that joins later.
    BgpStreamFramer in_track_{kBgpMaxExtendedMessage}, out_track_{kBgpMaxExtendedMessage};
    StreamRib in_rib_;
    StreamRib out_rib_;  // what the peer holds from us (written, or logged and acknowledged)
    std::string out_open_;
    // Shadow: what its own FSM sent (swallowed), the state it believes the
    // peer has; at takeover the peer is brought from out_rib_ to it.
    BgpStreamFramer shadow_track_{kBgpMaxExtendedMessage};
    StreamRib shadow_sent_;
    bool difference_pending_ = false;
    std::size_t max_message_ = kBgpMaxMessage;
    std::size_t completed_bytes_ = 0, unsent_messages_ = 0, takeover_diff_messages_ = 0;
    std::uint64_t duplicates_dropped_ = 0;
    UniqueFd live_;  // isolated shadow: the peer's socket (bgpd has a stand-in)
    // Active, hand-over: bytes for each link not taken yet (from *_off_).
    std::string pending_in_, pending_out_;
    std::size_t pending_in_off_ = 0, pending_out_off_ = 0;
    std::chrono::steady_clock::time_point pending_progress_{};
    // Active, protected: a full link holds the session back.
    bool input_held_ = false, output_held_ = false;
    std::chrono::steady_clock::time_point held_since_{};
    std::vector<std::uint32_t> held_history_ms_;  // the last holds, a ring
    std::size_t held_history_next_ = 0;
    ReplicationStats stats_;
    // Active: shadows of this session the standby ended in a row, and when
    // the session may be handed over again.
    unsigned int standby_ends_ = 0;
    std::chrono::steady_clock::time_point handover_not_before_{};
    std::chrono::steady_clock::time_point attached_at_{};
    std::string takeover_diff_problem_;
    bool gate_open_ = false;
    bool receive_only_ = false;  // attached without a send log
    bool following_ = true;  // streams parsed into in_rib_/out_rib_
    bool gate_waiting_ = false;
    std::string pregate_start_;  // shadow input taken before the gate opened
};

}  // namespace frr_ha
