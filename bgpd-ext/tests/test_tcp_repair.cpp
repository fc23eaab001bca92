// A TCP connection rebuilt with TCP_REPAIR, against the real kernel over
// loopback: one end (the "app", as bgpd's socket) is captured and closed in
// repair mode, a new socket is built from the state, and the other end (the
// "peer") never notices. Needs CAP_NET_ADMIN (the tests run as root).
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

using namespace frr_ha;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Whether this process may use TCP_REPAIR; if not, why (the test says so).
std::string repair_unavailable()
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

void nonblocking(int fd)
{
    REQUIRE(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
}

void set_md5(int fd, int family, const std::string &key)
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
Connection connect_pair(const ConnectOptions &o, UniqueFd *listener)
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

tcp_info info_of(int fd)
{
    tcp_info info{};
    socklen_t len = sizeof(info);
    REQUIRE(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
    return info;
}

int outq(int fd)
{
    int n = 0;
    REQUIRE(ioctl(fd, SIOCOUTQ, &n) == 0);
    return n;
}

// The peer saw neither FIN nor RST: its socket is established, without an
// error or a shutdown of its receive side.
void require_peer_untouched(int peer)
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
void require_peer_silent(int peer)
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
bool exchange(int a, int b, Flow &ab, Flow &ba, std::uint64_t extra,
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
bool eventually(F cond, milliseconds limit = milliseconds(3000))
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
std::uint64_t tcp_ext(const std::string &name)
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

UniqueFd restored(const TcpConnectionState &s, const RestoreOptions &o = {})
{
    Result<UniqueFd> fd = restore(s, o);
    INFO(fd.why());
    REQUIRE(fd);
    nonblocking(fd->get());
    return std::move(*fd);
}

TcpConnectionState final_capture(UniqueFd &fd)
{
    Result<TcpConnectionState> s = capture_and_silence(fd);
    INFO(s.why());
    REQUIRE(s);
    CHECK(!fd);
    return *s;
}

}  // namespace

TEST_CASE("A connection rebuilt from its captured state continues both ways, in-flight and "
          "unacknowledged bytes included", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    // The peer (client) has a small receive buffer: the app's writes fill
    // its window and stay in the app's send queue, unacknowledged.
    Connection c = connect_pair({AF_INET, "", 16384}, &listener);
    int peer = c.client.get();
    UniqueFd app = std::move(c.server);
    Flow to_peer{7}, to_app{91};

    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 100000));
    // The peer sends more than the app reads: unread bytes in the app's
    // receive queue (acknowledged by its kernel).
    to_app.write_to(peer, to_app.written + 30000);
    REQUIRE(eventually([&] { return outq(peer) == 0; }));
    to_app.read_from(app.get(), to_app.read + 10000);
    // The app writes until its socket is full: the peer's window is closed.
    to_peer.write_to(app.get(), to_peer.written + (64u << 20));
    // Whatever was in flight has arrived and been acknowledged by now.
    std::this_thread::sleep_for(milliseconds(200));
    REQUIRE(outq(app.get()) > 0);
    const std::uint64_t app_wrote = to_peer.written;
    const std::uint64_t app_read = to_app.read;

    TcpConnectionState s = final_capture(app);
    INFO("send queue " << s.send_queue.size() << ", receive queue " << s.recv_queue.size());
    CHECK(s.local.family == AF_INET);
    CHECK(s.remote.to_string().rfind("127.0.0.1:", 0) == 0);
    CHECK(s.have_window);
    CHECK(s.options.mss > 0);
    CHECK(s.options.timestamps);
    CHECK(s.options.sack);
    CHECK(s.options.window_scaling);
    // What the kernel held is exactly what the app wrote but the peer did
    // not acknowledge, and what the peer sent but the app did not read.
    REQUIRE(s.send_queue.size() > 0);
    CHECK(s.send_queue == to_peer.bytes(app_wrote - s.send_queue.size(), s.send_queue.size()));
    CHECK(s.recv_queue == to_app.bytes(app_read, to_app.written - app_read));

    // The old socket is gone and the peer does not know.
    std::this_thread::sleep_for(milliseconds(300));
    require_peer_untouched(peer);

    UniqueFd again = restored(s);
    CHECK(static_cast<int>(info_of(again.get()).tcpi_state) == TCP_ESTABLISHED);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 200000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    CHECK(to_peer.read == to_peer.written);
    CHECK(to_app.read == to_app.written);
    require_peer_silent(peer);
}

TEST_CASE("An IPv6 connection rebuilt from its captured state continues both ways",
          "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET6, "", 0}, &listener);
    // Here the app is the end that connected.
    UniqueFd app = std::move(c.client);
    int peer = c.server.get();
    Flow to_peer{3}, to_app{200};

    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 50000));
    to_app.write_to(peer, to_app.written + 20000);
    REQUIRE(eventually([&] { return outq(peer) == 0; }));
    to_app.read_from(app.get(), to_app.read + 5000);

    TcpConnectionState s = final_capture(app);
    CHECK(s.local.family == AF_INET6);
    CHECK(s.remote.to_string().rfind("[::1]:", 0) == 0);
    CHECK(s.recv_queue.size() == 15000);
    std::this_thread::sleep_for(milliseconds(300));
    require_peer_silent(peer);

    UniqueFd again = restored(s);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 100000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}

TEST_CASE("A TCP-MD5 connection continues only when rebuilt with its key", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    const std::string key = "frr-ha md5 key";
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, key, 0}, &listener);
    UniqueFd app = std::move(c.client);
    int peer = c.server.get();
    Flow to_peer{11}, to_app{12};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 20000));

    TcpConnectionState s = final_capture(app);
    require_peer_silent(peer);

    // Without the key: the peer's kernel drops every segment (no MD5
    // option where one is required), so nothing arrives, and nothing resets.
    std::uint64_t not_found = tcp_ext("TCPMD5NotFound");
    {
        UniqueFd keyless = restored(s);
        to_peer.write_to(keyless.get(), to_peer.written + 1000);
        std::this_thread::sleep_for(milliseconds(1500));
        to_peer.read_from(peer);
        CHECK(to_peer.read + 1000 == to_peer.written);
        CHECK(tcp_ext("TCPMD5NotFound") > not_found);
        require_peer_silent(peer);
        Status st = silence(keyless);
        REQUIRE(st);
    }
    // What the keyless socket wrote never reached the peer: the stream
    // goes on from the capture.
    to_peer.written = to_peer.read;

    RestoreOptions with_key;
    with_key.md5_key = key;
    UniqueFd again = restored(s, with_key);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 50000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}

TEST_CASE("The rebuilt connection keeps the timestamp clock the peer knows", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 0}, &listener);
    UniqueFd app = std::move(c.server);
    int peer = c.client.get();
    Flow to_peer{21}, to_app{22};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 20000));

    TcpConnectionState s = final_capture(app);
    REQUIRE(s.options.timestamps);

    // A clock moved back (an offset lost on the way): the peer's PAWS check
    // drops every segment as an old duplicate.
    std::uint64_t paws = tcp_ext("PAWSEstab");
    {
        TcpConnectionState behind = s;
        behind.timestamp -= 1u << 24;
        UniqueFd wrong = restored(behind);
        to_peer.write_to(wrong.get(), to_peer.written + 1000);
        std::this_thread::sleep_for(milliseconds(1500));
        to_peer.read_from(peer);
        CHECK(to_peer.read + 1000 == to_peer.written);
        CHECK(tcp_ext("PAWSEstab") > paws);
        require_peer_silent(peer);
        REQUIRE(silence(wrong));
    }
    to_peer.written = to_peer.read;

    // The captured clock, moved forward by the time since (as the standby
    // will): timestamps still on, and the peer accepts the segments.
    RestoreOptions later;
    later.timestamp_advance_ms = 2000;
    UniqueFd again = restored(s, later);
    tcp_info info = info_of(again.get());
    CHECK((info.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0);
    paws = tcp_ext("PAWSEstab");
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 50000));
    CHECK(tcp_ext("PAWSEstab") == paws);
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    CHECK((info_of(peer).tcpi_options & TCPI_OPT_TIMESTAMPS) != 0);
    require_peer_silent(peer);
}

TEST_CASE("A state that cannot be continued is refused with the reason, and the peer is never "
          "reset", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 0}, &listener);
    UniqueFd app = std::move(c.server);
    int peer = c.client.get();
    Flow to_peer{31}, to_app{32};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 20000));

    SECTION("the 4-tuple is still in use: the live socket is untouched")
    {
        // capture() leaves the socket as it was.
        Result<TcpConnectionState> s = capture(app.get());
        INFO(s.why());
        REQUIRE(s);
        Result<UniqueFd> twin = restore(*s);
        REQUIRE(!twin);
        INFO(twin.why());
        CHECK(twin.why().find("connect") != std::string::npos);
        CHECK(twin.why().find("4-tuple is in use") != std::string::npos);
        REQUIRE(exchange(app.get(), peer, to_peer, to_app, 20000));
        CHECK(to_peer.first_bad == UINT64_MAX);
        CHECK(to_app.first_bad == UINT64_MAX);
        require_peer_silent(peer);
    }

    SECTION("a corrupted receive sequence or window")
    {
        TcpConnectionState s = final_capture(app);
        TcpConnectionState back = s, ahead = s, window = s;
        back.recv_seq -= 1000000;
        ahead.recv_seq += 1000000;
        window.window.snd_wnd = window.window.max_window + 1;
        for (const TcpConnectionState *bad : {&back, &ahead, &window}) {
            Result<UniqueFd> fd = restore(*bad);
            REQUIRE(!fd);
            INFO(fd.why());
            CHECK(fd.why().rfind("state refused: ", 0) == 0);
        }
        require_peer_silent(peer);
        // Refusals touched nothing: the right state still continues.
        UniqueFd again = restored(s);
        REQUIRE(exchange(again.get(), peer, to_peer, to_app, 20000));
        CHECK(to_peer.first_bad == UINT64_MAX);
        CHECK(to_app.first_bad == UINT64_MAX);
    }

    SECTION("a corrupted send sequence cannot be seen here: the peer drops the segments, "
            "no reset either way")
    {
        // Nothing on this host tells a wrong send sequence from a right
        // one (the peer's acknowledgement is the only witness), so restore
        // succeeds; what matters is that the peer is not disturbed.
        TcpConnectionState s = final_capture(app);
        TcpConnectionState wrong = s;
        wrong.send_seq += 1000000;
        {
            UniqueFd fd = restored(wrong);
            to_peer.write_to(fd.get(), to_peer.written + 1000);
            std::this_thread::sleep_for(milliseconds(1500));
            to_peer.read_from(peer);
            CHECK(to_peer.read + 1000 == to_peer.written);
            require_peer_silent(peer);
            CHECK(static_cast<int>(info_of(fd.get()).tcpi_state) == TCP_ESTABLISHED);
            REQUIRE(silence(fd));
        }
        to_peer.written = to_peer.read;
        UniqueFd again = restored(s);
        REQUIRE(exchange(again.get(), peer, to_peer, to_app, 20000));
        CHECK(to_peer.first_bad == UINT64_MAX);
        CHECK(to_app.first_bad == UINT64_MAX);
    }
}

TEST_CASE("The standby's shape: the send queue from a send log that starts before the peer's "
          "acknowledgement and goes past the kernel's queue, the receive queue already read",
          "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 16384}, &listener);
    int peer = c.client.get();
    UniqueFd app = std::move(c.server);
    Flow to_peer{41}, to_app{42};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 100000));
    to_app.write_to(peer, to_app.written + 8000);
    REQUIRE(eventually([&] { return outq(peer) == 0; }));
    to_peer.write_to(app.get(), to_peer.written + (64u << 20));
    std::this_thread::sleep_for(milliseconds(200));

    TcpConnectionState s = final_capture(app);
    REQUIRE(s.send_queue.size() > 0);
    REQUIRE(s.recv_queue.size() == 8000);

    // What the standby has instead of the kernel's queues:
    // - the send log from an older acknowledgement than the last one (the
    //   peer holds those bytes already: sent again at the same sequence
    //   numbers, they are duplicates it discards);
    // - the log's end beyond what reached the kernel (the active logs a
    //   write before making it);
    // - the received bytes it read from the mirror itself: no receive queue.
    const std::uint32_t already_acked = 20000, not_written = 30000;
    const std::uint64_t log_from = to_peer.written - s.send_queue.size() - already_acked;
    TcpConnectionState standby = s;
    standby.send_seq = s.send_seq - already_acked;
    standby.send_queue = to_peer.bytes(log_from, s.send_queue.size() + already_acked + not_written);
    to_peer.written += not_written;
    standby.recv_seq = s.recv_next();
    standby.recv_queue.clear();
    to_app.read += s.recv_queue.size();

    UniqueFd again = restored(standby);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 100000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}

TEST_CASE("An IPv4 connection accepted on a dual-stack IPv6 listener (v4-mapped addresses) is "
          "rebuilt", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener);
    int off = 0;
    REQUIRE(setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == 0);
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_addr = in6addr_any;
    socklen_t len = sizeof(any);
    REQUIRE(bind(listener.get(), reinterpret_cast<sockaddr *>(&any), len) == 0);
    REQUIRE(listen(listener.get(), 1) == 0);
    REQUIRE(getsockname(listener.get(), reinterpret_cast<sockaddr *>(&any), &len) == 0);

    UniqueFd peer(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = any.sin6_port;
    REQUIRE(connect(peer.get(), reinterpret_cast<sockaddr *>(&to), sizeof(to)) == 0);
    UniqueFd app(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(app);
    nonblocking(peer.get());
    nonblocking(app.get());
    Flow to_peer{51}, to_app{52};
    REQUIRE(exchange(app.get(), peer.get(), to_peer, to_app, 30000));

    TcpConnectionState s = final_capture(app);
    CHECK(s.local.family == AF_INET6);
    CHECK(s.remote.to_string().rfind("[::ffff:127.0.0.1]:", 0) == 0);
    require_peer_silent(peer.get());
    UniqueFd again = restored(s);
    REQUIRE(exchange(again.get(), peer.get(), to_peer, to_app, 50000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer.get());
}

TEST_CASE("The restored send queue must reach every byte the peer may have acknowledged; "
          "the send log beyond it may be written after the rebuild", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 16384}, &listener);
    int peer = c.client.get();
    UniqueFd app = std::move(c.server);
    Flow to_peer{61}, to_app{62};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 50000));
    // The peer's window is closed when the connection is captured.
    to_peer.write_to(app.get(), to_peer.written + (64u << 20));
    std::this_thread::sleep_for(milliseconds(200));

    TcpConnectionState s = final_capture(app);
    REQUIRE(s.send_queue.size() > 0);
    const std::uint64_t captured_end = to_peer.written;

    SECTION("a queue that stops short of the peer's acknowledgement stalls, without a reset")
    {
        // Nothing queued, from 5000 bytes before the peer's last
        // acknowledgement (the standby's conservative point): the socket's
        // next sequence number is behind what the peer acknowledged, so the
        // peer's ACKs, its window update included, are dropped as
        // acknowledging unsent data. With the window closed nothing moves.
        TcpConnectionState empty = s;
        empty.send_seq = s.send_seq - 5000;
        empty.send_queue.clear();
        {
            UniqueFd fd = restored(empty);
            to_peer.written = captured_end - s.send_queue.size() - 5000;
            to_peer.write_to(fd.get(), to_peer.written + 1000);
            auto until = Clock::now() + milliseconds(1500);
            while (Clock::now() < until) {
                to_peer.read_from(peer);
                std::this_thread::sleep_for(milliseconds(20));
            }
            CHECK(to_peer.read == captured_end - s.send_queue.size());
            require_peer_silent(peer);
            REQUIRE(silence(fd));
        }
        to_peer.written = captured_end;
    }

    // Queued in repair mode up to the captured end (which the peer's
    // acknowledgement cannot pass), from 5000 bytes before the last
    // acknowledgement; the log's next bytes written after the rebuild go
    // out as new data, without waiting for the retransmission timer.
    const std::uint32_t already_acked = 5000;
    TcpConnectionState standby = s;
    standby.send_seq = s.send_seq - already_acked;
    standby.send_queue = to_peer.bytes(captured_end - s.send_queue.size() - already_acked,
                                       s.send_queue.size() + already_acked);
    UniqueFd again = restored(standby);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 50000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}
