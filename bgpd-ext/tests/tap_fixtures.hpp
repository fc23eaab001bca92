// Real sockets for SessionTap tests: a loopback TCP connection (the RPs'
// socket and the peer's), unix links, and an active's tap handed over.
#pragma once

#include <catch2/catch.hpp>

#include "bgp_stream.hpp"
#include "handover_messages.hpp"
#include "session_tap.hpp"
#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"
#include "write_gate.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>

namespace frr_ha::test {

struct Connection {
    UniqueFd ours;  // the router's socket (the RPs share it)
    UniqueFd peer;
};

inline Connection connect_loopback()
{
    UniqueFd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(l.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0);
    REQUIRE(listen(l.get(), 1) == 0);
    socklen_t len = sizeof(a);
    REQUIRE(getsockname(l.get(), reinterpret_cast<sockaddr *>(&a), &len) == 0);
    Connection c;
    c.ours = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(connect(c.ours.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0);
    c.peer = UniqueFd(accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(c.peer.get() >= 0);
    fcntl(c.ours.get(), F_SETFL, O_NONBLOCK);
    return c;
}

// A unix socket pair whose second end does not block.
inline void unix_pair(int type, UniqueFd *first, UniqueFd *second)
{
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) == 0);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    first->reset(fds[0]);
    second->reset(fds[1]);
}

inline void link_pair(UniqueFd *writer, UniqueFd *reader) { unix_pair(SOCK_STREAM, writer, reader); }

// A hand-over connection: the active's end (the tap keeps it) and the
// standby's, where the history's end arrives.
inline void handover_conn(UniqueFd *active, UniqueFd *standby)
{
    unix_pair(SOCK_SEQPACKET, active, standby);
}

// The history's end, if the active has told it on `conn` by now.
inline std::optional<HistoryEnd> history_end(int conn)
{
    auto got = receive_handover_message(conn);
    if (!got)
        return std::nullopt;
    REQUIRE(got->history_end);
    return got->history_end;
}

inline void send_all(int fd, const std::string &data)
{
    REQUIRE(send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
}

// Everything readable within a short wait.
inline std::string drain(int fd)
{
    std::string out;
    char buf[4096];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            return out;
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

// What is readable now, without waiting.
inline std::string take(int fd)
{
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

inline void settle() { usleep(50 * 1000); }

inline std::string read_tap(SessionTap &tap, bool *ended = nullptr)
{
    std::string out;
    char buf[4096];
    for (int i = 0; i < 100; i++) {
        ssize_t n = tap.read(buf, sizeof(buf), ended);
        if (n > 0)
            out.append(buf, static_cast<std::size_t>(n));
        else if (n < 0 && errno == EAGAIN)
            break;
        else
            break;
    }
    return out;
}

// A standby's shadow of a fresh connection, and the old active's ends of
// its links (write to them, or reset them: the active dies).
struct ShadowOfFreshConnection {
    Connection c = connect_loopback();
    UniqueFd in_w, out_w;
    std::unique_ptr<SessionTap> shadow;

    explicit ShadowOfFreshConnection(bool established = true)
    {
        auto fresh = tcp_stream_position(c.ours.get());
        REQUIRE(fresh);
        UniqueFd in_r, out_r;
        link_pair(&in_w, &in_r);
        link_pair(&out_w, &out_r);
        shadow = std::make_unique<SessionTap>(dup(c.ours.get()), std::move(in_r),
                                              std::move(out_r), calibrate(*fresh, 0, 0));
        if (established)
            shadow->open_gate();  // its FSM is Established
    }
};

inline std::size_t messages_in(const std::string &stream, std::string *error)
{
    BgpStreamFramer f(kBgpMaxExtendedMessage);
    f.feed(stream.data(), stream.size());
    std::size_t n = 0;
    while (f.next())
        n++;
    *error = f.broken() ? f.error() : (f.partial() ? "partial message at the end" : "");
    return n;
}

// A session on loopback whose tap has read and written one exchange
// (`exchanged`, both ways), with the links of a hand-over made: the tap's
// ends (in_w, out_w, conn_w) for attach(), the far ends (in_r, out_r,
// conn_r) for the standby or a relay, and a write gate for one across hosts.
struct ExchangedSession {
    Connection c = connect_loopback();
    SessionTap tap{c.ours.get()};
    std::string exchanged;
    std::shared_ptr<WriteGate> gate;
    UniqueFd in_w, in_r, out_w, out_r, conn_w, conn_r;

    explicit ExchangedSession(std::string first = bgp_keepalive() + bgp_empty_update())
        : exchanged(std::move(first))
    {
        send_all(c.peer.get(), exchanged);
        settle();
        REQUIRE(read_tap(tap) == exchanged);
        REQUIRE(write(exchanged) == static_cast<ssize_t>(exchanged.size()));
        REQUIRE(drain(c.peer.get()) == exchanged);
        auto made = WriteGate::make(0);
        REQUIRE(made);
        gate = *made;
        link_pair(&in_w, &in_r);
        link_pair(&out_w, &out_r);
        handover_conn(&conn_w, &conn_r);
    }
    ssize_t write(const std::string &bytes)
    {
        struct iovec iov = {const_cast<char *>(bytes.data()), bytes.size()};
        return tap.writev(&iov, 1);
    }
    // The tap takes its ends of the links (gated: a hand-over across hosts).
    Status attach(bool receive_only, bool gated)
    {
        return tap.attach(std::move(in_w), std::move(out_w), std::move(conn_w), receive_only,
                          gated ? gate : nullptr);
    }
};

// An active's tap handed over to a local standby after one exchange: the
// links' standby ends are in_r and out_r.
struct HandedOverActive : ExchangedSession {
    const std::string &open_like = exchanged;  // what each side sent first
    struct iovec iov = {const_cast<char *>(exchanged.data()), exchanged.size()};
    TcpCountBias bias;

    explicit HandedOverActive(bool receive_only)
    {
        REQUIRE(attach(receive_only, false));
        // A history this small is in the links at once: protected.
        auto end = history_end(conn_r.get());
        REQUIRE(end);
        bias = end->bias;
    }
};

}  // namespace frr_ha::test
