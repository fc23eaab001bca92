#include "tcp_stream_position.hpp"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace frr_ha {

namespace {

// Samples taken while the peer keeps sending or acknowledging would almost
// never fail this many times in a row: one sample takes a few microseconds,
// and under a loopback flood of 1-byte segments about a third of samples are
// retaken, none more than about ten times.
constexpr unsigned kMaxAttempts = 1000;

// What the kernel moves on its own, in the socket's counters.
struct Counters {
    std::uint64_t received = 0;
    std::uint64_t acked = 0;
    std::uint8_t state = 0;

    bool operator==(const Counters &o) const
    {
        return received == o.received && acked == o.acked && state == o.state;
    }
};

}  // namespace

// Why the sample is bracketed by two TCP_INFO reads.
//
// TCP_INFO, SIOCINQ and SIOCOUTQ are three syscalls; the kernel keeps
// processing the peer's segments between them (softirq on another CPU, or
// the socket's backlog when a syscall releases the socket lock):
// - a data segment advances rcv_nxt: tcpi_bytes_received and SIOCINQ grow by
//   the same amount, so received - unread is right only if both were read at
//   the same rcv_nxt;
// - an ACK advances snd_una: tcpi_bytes_acked grows and SIOCOUTQ
//   (write_seq - snd_una) shrinks by the same amount, so acked + unacked is
//   right only if both were read at the same snd_una;
// - the state (SYN_RECV to ESTABLISHED: both ioctls answer 0 before) and a
//   FIN (counted in tcpi_bytes_received, not in SIOCINQ) move these too.
// The kernel changes tcpi_bytes_received with rcv_nxt and tcpi_bytes_acked
// with snd_una under the socket lock, both only grow, and TCP_INFO reads them
// under that lock. So if the TCP_INFO read before the ioctls and the one
// after agree, rcv_nxt, snd_una and the state did not move in between, and
// the ioctls saw the same connection. What else SIOCINQ and SIOCOUTQ depend
// on (copied_seq, write_seq) moves only when the application reads or writes.
std::optional<TcpStreamPosition> tcp_stream_position(int fd, std::string *error, unsigned *retries)
{
    auto fail = [error](const char *what) -> std::optional<TcpStreamPosition> {
        if (error)
            *error = std::string(what) + ": " + std::strerror(errno);
        return std::nullopt;
    };
    auto counters = [fd](Counters *c) -> const char * {
        struct tcp_info info;
        std::memset(&info, 0, sizeof(info));
        socklen_t len = sizeof(info);
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0)
            return "TCP_INFO";
        // tcpi_bytes_received appeared after tcpi_bytes_acked; an older
        // kernel returns a shorter struct.
        if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received)) {
            errno = ENOTSUP;
            return "TCP_INFO without byte counters";
        }
        c->received = info.tcpi_bytes_received;
        c->acked = info.tcpi_bytes_acked;
        c->state = info.tcpi_state;
        return nullptr;
    };
    Counters before;
    if (const char *what = counters(&before))
        return fail(what);
    for (unsigned attempt = 0; attempt < kMaxAttempts; attempt++) {
        int inq = 0, outq = 0;
        if (ioctl(fd, SIOCINQ, &inq) < 0)
            return fail("SIOCINQ");
        if (ioctl(fd, SIOCOUTQ, &outq) < 0)
            return fail("SIOCOUTQ");
        Counters after;
        if (const char *what = counters(&after))
            return fail(what);
        if (after == before) {
            if (retries)
                *retries = attempt;
            TcpStreamPosition pos;
            pos.received = after.received;
            pos.unread = static_cast<std::uint64_t>(inq);
            pos.acked = after.acked;
            pos.unacked = static_cast<std::uint64_t>(outq);
            return pos;
        }
        // The connection moved: this TCP_INFO opens the next sample.
        before = after;
    }
    if (retries)
        *retries = kMaxAttempts;
    if (error)
        *error = "the connection's byte counters moved during each of " +
                 std::to_string(kMaxAttempts) + " samples: no consistent position";
    return std::nullopt;
}

}  // namespace frr_ha

namespace frr_ha {

TcpCountBias calibrate(const TcpStreamPosition &pos, std::uint64_t app_written,
                       std::uint64_t app_consumed)
{
    TcpCountBias bias;
    bias.acked = pos.acked + pos.unacked - app_written;
    bias.received = pos.received - pos.unread - app_consumed;
    return bias;
}

}  // namespace frr_ha
