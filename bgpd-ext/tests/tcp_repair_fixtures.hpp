// Real TCP connections over loopback for the TCP_REPAIR tests: one end
// plays bgpd's socket (the "app"), the other the peer; byte streams that
// show any loss, duplicate or reorder; what the peer's kernel saw.
// Needs CAP_NET_ADMIN (the tests run as root).
#pragma once

#include <catch2/catch.hpp>

#include "tcp_repair.hpp"
#include "unique_fd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace frr_ha::tcp_test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Whether this process may use TCP_REPAIR; if not, why (the test says so).
inline std::string repair_unavailable()
{
    UniqueFd fd(socket(AF_INET, SOCK_STREAM, 0));
    int on = 1;
    if (setsockopt(fd.get(), IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) != 0)
        return std::string("TCP_REPAIR refused: ") + std::strerror(errno) +
               " (needs CAP_NET_ADMIN)";
    return "";
}

#define REQUIRE_REPAIR()                                      \
    do {                                                      \
        std::string why_not = repair_unavailable();           \
        if (!why_not.empty()) {                               \
            WARN("skipped: " << why_not);                     \
            return;                                           \
        }                                                     \
    } while (0)

inline void nonblocking(int fd)
{
    REQUIRE(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
}

inline void set_md5(int fd, int family, const std::string &key)
{
    tcp_md5sig sig{};
    if (family == AF_INET) {
        auto *a = reinterpret_cast<sockaddr_in *>(&sig.tcpm_addr);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        auto *a = reinterpret_cast<sockaddr_in6 *>(&sig.tcpm_addr);
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
    }
    sig.tcpm_keylen = static_cast<std::uint16_t>(key.size());
    std::memcpy(sig.tcpm_key, key.data(), key.size());
    REQUIRE(setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof(sig)) == 0);
}

struct Connection {
    UniqueFd client;
    UniqueFd server;
};

struct ConnectOptions {
    int family = AF_INET;
    std::string md5_key;       // on both ends, before connect
    int client_rcvbuf = 0;     // small: its window fills quickly
};

// A loopback connection; both ends non-blocking. The listener is kept
// open, as bgpd's is, so restoring the accepted end binds beside it.
inline Connection connect_pair(const ConnectOptions &o, UniqueFd *listener)
{
    sockaddr_storage ss{};
    socklen_t len;
    if (o.family == AF_INET) {
        auto *a = reinterpret_cast<sockaddr_in *>(&ss);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    } else {
        auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    }
    UniqueFd l(socket(o.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(l);
    if (!o.md5_key.empty())
        set_md5(l.get(), o.family, o.md5_key);
    REQUIRE(bind(l.get(), reinterpret_cast<sockaddr *>(&ss), len) == 0);
    REQUIRE(listen(l.get(), 1) == 0);
    REQUIRE(getsockname(l.get(), reinterpret_cast<sockaddr *>(&ss), &len) == 0);

    Connection c;
    c.client = UniqueFd(socket(o.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(c.client);
    if (!o.md5_key.empty())
        set_md5(c.client.get(), o.family, o.md5_key);
    if (o.client_rcvbuf > 0)
        REQUIRE(setsockopt(c.client.get(), SOL_SOCKET, SO_RCVBUF, &o.client_rcvbuf,
                           sizeof(o.client_rcvbuf)) == 0);
    REQUIRE(connect(c.client.get(), reinterpret_cast<sockaddr *>(&ss), len) == 0);
    c.server = UniqueFd(accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(c.server);
    nonblocking(c.client.get());
    nonblocking(c.server.get());
    *listener = std::move(l);
    return c;
}

inline tcp_info info_of(int fd)
{
    tcp_info info{};
    socklen_t len = sizeof(info);
    REQUIRE(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
    return info;
}

inline int outq(int fd)
{
    int n = 0;
    REQUIRE(ioctl(fd, SIOCOUTQ, &n) == 0);
    return n;
}

// The peer saw neither FIN nor RST: its socket is established, without an
// error or a shutdown of its receive side.
inline void require_peer_untouched(int peer)
{
    CHECK(static_cast<int>(info_of(peer).tcpi_state) == TCP_ESTABLISHED);
    int err = 0;
    socklen_t len = sizeof(err);
    REQUIRE(getsockopt(peer, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    CHECK(err == 0);
    pollfd p{peer, POLLRDHUP, 0};
    REQUIRE(poll(&p, 1, 0) >= 0);
    CHECK((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0);
}

// Same, for a peer with nothing to read: a recv() that would block.
inline void require_peer_silent(int peer)
{
    char b;
    CHECK(recv(peer, &b, 1, MSG_DONTWAIT) < 0);
    CHECK(errno == EAGAIN);
    require_peer_untouched(peer);
}

// One direction's byte stream: byte i is a function of i, so any loss,
// duplicate or reorder shows at the first wrong byte.
struct Flow {
    unsigned seed;
    std::uint64_t written = 0;
    std::uint64_t read = 0;
    std::uint64_t first_bad = UINT64_MAX;

    char byte(std::uint64_t i) const
    {
        return static_cast<char>(((i * 2654435761u) >> 11) + seed + i / 251);
    }
    std::string bytes(std::uint64_t from, std::size_t n) const
    {
        std::string s(n, '\0');
        for (std::size_t k = 0; k < n; ++k)
            s[k] = byte(from + k);
        return s;
    }
    // Writes up to `target` bytes in all; stops where the socket is full.
    void write_to(int fd, std::uint64_t target)
    {
        while (written < target) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(target - written, 65536));
            std::string s = bytes(written, n);
            ssize_t w = send(fd, s.data(), s.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w < 0 && errno == EAGAIN)
                return;
            INFO("send: " << std::strerror(errno));
            REQUIRE(w > 0);
            written += static_cast<std::uint64_t>(w);
        }
    }
    // Reads up to `limit` bytes in all, checking each.
    void read_from(int fd, std::uint64_t limit = UINT64_MAX)
    {
        char buf[65536];
        while (read < limit) {
            std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(limit - read, sizeof(buf)));
            ssize_t n = recv(fd, buf, want, MSG_DONTWAIT);
            if (n < 0 && errno == EAGAIN)
                return;
            REQUIRE(n > 0);
            for (ssize_t k = 0; k < n; ++k)
                if (buf[k] != byte(read + static_cast<std::uint64_t>(k)) && first_bad == UINT64_MAX)
                    first_bad = read + static_cast<std::uint64_t>(k);
            read += static_cast<std::uint64_t>(n);
        }
    }
};

// Moves both flows until each has `extra` more bytes written and everything
// written has been read, or the time is up. Returns whether it got there.
inline bool exchange(int a, int b, Flow &ab, Flow &ba, std::uint64_t extra,
              milliseconds limit = milliseconds(15000))
{
    std::uint64_t ab_target = ab.written + extra, ba_target = ba.written + extra;
    auto until = Clock::now() + limit;
    while (Clock::now() < until) {
        ab.write_to(a, ab_target);
        ba.write_to(b, ba_target);
        ab.read_from(b);
        ba.read_from(a);
        if (ab.read == ab_target && ba.read == ba_target)
            return true;
        pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        poll(p, 2, 10);
    }
    return false;
}

template <typename F>
inline bool eventually(F cond, milliseconds limit = milliseconds(3000))
{
    auto until = Clock::now() + limit;
    while (Clock::now() < until) {
        if (cond())
            return true;
        std::this_thread::sleep_for(milliseconds(10));
    }
    return cond();
}

// A TcpExt counter of /proc/net/netstat (what the kernel dropped, and why).
inline std::uint64_t tcp_ext(const std::string &name)
{
    std::ifstream f("/proc/net/netstat");
    std::string names, values;
    while (std::getline(f, names) && std::getline(f, values)) {
        if (names.rfind("TcpExt:", 0) != 0)
            continue;
        std::istringstream n(names), v(values);
        std::string key, val;
        while (n >> key && v >> val)
            if (key == name)
                return std::stoull(val);
    }
    return 0;
}

inline UniqueFd restored(const TcpConnectionState &s, const RestoreOptions &o = {})
{
    Result<UniqueFd> fd = restore(s, o);
    INFO(fd.why());
    REQUIRE(fd);
    nonblocking(fd->get());
    return std::move(*fd);
}

inline TcpConnectionState final_capture(UniqueFd &fd)
{
    Result<TcpConnectionState> s = capture_and_silence(fd);
    INFO(s.why());
    REQUIRE(s);
    CHECK(!fd);
    return *s;
}

}  // namespace frr_ha::tcp_test
