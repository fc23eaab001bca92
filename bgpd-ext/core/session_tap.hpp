// One BGP connection as this bgpd's I/O sees it, when the HA pair stands
// between the session and its socket (docs/transparent-failover.md).
//
// Active side: every byte read or written is counted from the first one,
// and kept until the session is handed to the standby (attach). After
// that, a read peeks, mirrors the bytes to the standby's input link and
// only then consumes them; a write first logs its new bytes on the
// standby's send-log link. Whatever instant the active dies at, the standby
// holds every byte the active consumed and every byte it may have written.
//
// Standby side (a shadow): the session's input comes from the input link;
// writes are swallowed. At takeover, the rest of the link is read, the
// bytes the old active mirrored but never consumed are dropped from the
// socket's queue, and from then on the socket is read directly.
//
// All calls but the constructor run with the session's I/O lock held (in
// bgpd: peer->io_mtx), so a tap needs no lock of its own.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>

#include "bgp_stream.hpp"
#include "receive_mirror.hpp"
#include "send_log.hpp"
#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"

namespace frr_ha {

enum class TapMode {
    Recording,     // active, not handed over (yet): plain I/O, counted
    Mirroring,     // active, handed over: peek-mirror-consume, log-then-write
    Unprotected,   // active, cannot be handed over (history lost or standby gone)
    Released,      // old active after a planned switchover: no I/O at all
    Shadow,        // standby: input from the mirror, output swallowed
    MirrorEnded,   // standby: the mirror closed; waiting to know why
    TakingOver,    // new active: finishing the mirror, then the socket
    Live,          // new active: plain I/O on the socket
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
    TapMode mode() const { return mode_; }
    const std::string &why_unprotected() const { return why_; }
    std::uint64_t consumed() const { return consumed_; }
    std::uint64_t written() const { return written_; }
    std::uint64_t mirrored() const { return mirror_.end(); }

    // read(2) / writev(2) for bgpd. `ended` is set when a shadow's mirror
    // has just closed (the caller tells the main thread).
    ssize_t read(void *buf, std::size_t len, bool *ended);
    ssize_t writev(const struct iovec *iov, int iovcnt);
    // The descriptor whose readiness means input: the socket, the mirror,
    // or `parked` (never ready) while a shadow waits after its mirror ended.
    int input_fd(int parked) const;

    // Active: hands the session to the standby. Writes the history to the
    // links and mirrors from now on; the bias tells the standby how the
    // kernel's counters relate to the stream (measured here, now).
    bool attach(UniqueFd input_link, UniqueFd sendlog_link, TcpCountBias *bias,
                std::string *error);
    // Active: the standby is gone or the session cannot be handed over.
    void unprotect(const std::string &why);
    // Old active, planned switchover: never read or write this socket again.
    void release();

    // Shadow: takes in what the send-log link holds (to its end with
    // `to_eof`, waiting for the old active's close).
    bool drain_sendlog(bool to_eof, std::string *error);
    int sendlog_fd() const { return sendlog_link_.get(); }
    std::size_t sendlog_messages() const { return send_log_.messages(); }

    // New active: continue the session. Settles the output side now (a
    // half-written message is finished from the send log); the input side
    // finishes in read() once the mirror is read to its end.
    bool take_over(std::string *error);
    std::size_t completed_bytes() const { return completed_bytes_; }
    std::size_t unsent_messages() const { return unsent_messages_; }

private:
    ssize_t read_active(void *buf, std::size_t len);
    ssize_t read_shadow(void *buf, std::size_t len, bool *ended);
    ssize_t finish_mirror();
    void record(std::string &history, const void *data, std::size_t len);

    int fd_;
    TapMode mode_ = TapMode::Recording;
    std::string why_;
    std::uint64_t consumed_ = 0;  // received-stream bytes taken from the socket
    std::uint64_t written_ = 0;   // sent-stream bytes handed to the socket
    std::uint64_t logged_ = 0;    // sent-stream bytes on the send-log link
    std::string read_history_, write_history_;
    UniqueFd input_link_, sendlog_link_;
    ReceiveMirror mirror_;  // shadow: the received stream held from the mirror
    TcpCountBias bias_;
    BgpStreamFramer out_framer_{kBgpMaxExtendedMessage};  // shadow: the sent stream
    SendLog send_log_;
    std::size_t completed_bytes_ = 0, unsent_messages_ = 0;
};

}  // namespace frr_ha
