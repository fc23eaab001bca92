// The active never waits for its standby: a full link holds back the one
// session it belongs to (TCP's flow control pushes back on that peer), never
// another; past the lag limit the session goes on unprotected; a hand-over
// streams a history larger than the links while the session goes on. Real
// loopback TCP sockets and unix links.
#include <catch2/catch.hpp>

#include "tap_fixtures.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace frr_ha;
using namespace frr_ha::test;
using namespace std::chrono_literals;

namespace {

// An active's tap on a fresh connection, handed over on links whose
// standby ends (in_r, out_r) read only when the test says so; each link
// holds about `link_bytes`.
struct SlowStandby {
    Connection c = connect_loopback();
    SessionTap tap{c.ours.get()};
    UniqueFd in_r, out_r, conn_r;

    explicit SlowStandby(int link_bytes, const std::string &history_from_peer = {})
    {
        if (!history_from_peer.empty()) {
            std::thread peer([&] { send_all(c.peer.get(), history_from_peer); });
            std::string got;
            for (int i = 0; i < 100000 && got.size() < history_from_peer.size(); i++)
                got += read_tap(tap);
            peer.join();
            REQUIRE(got == history_from_peer);
        }
        UniqueFd in_w, out_w, conn_w;
        link_pair(&in_w, &in_r);
        link_pair(&out_w, &out_r);
        handover_conn(&conn_w, &conn_r);
        for (int fd : {in_w.get(), out_w.get()})
            REQUIRE(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &link_bytes, sizeof(link_bytes)) == 0);
        REQUIRE(tap.attach(std::move(in_w), std::move(out_w), std::move(conn_w)));
    }
};

std::string keepalives(std::size_t count)
{
    std::string s;
    for (std::size_t i = 0; i < count; i++)
        s += bgp_keepalive();
    return s;
}

// Reads the tap until it says EAGAIN; the bytes it gave.
std::size_t read_all(SessionTap &tap)
{
    char buf[4096];
    std::size_t got = 0;
    for (;;) {
        ssize_t n = tap.read(buf, sizeof(buf), nullptr);
        if (n <= 0)
            return got;
        got += static_cast<std::size_t>(n);
    }
}

// A standby that stopped taking, past the limit: the session goes on
// unprotected, and says why.
void check_unprotected_for_taking_nothing(SlowStandby &a, std::chrono::milliseconds limit)
{
    CHECK(a.tap.pump(limit));
    CHECK(a.tap.why_unprotected().find("standby lagging: its links took nothing for") !=
          std::string::npos);
}

// Unprotected, the session reads the rest of its peer's flood at full speed.
void read_the_rest(SlowStandby &a, std::size_t flood_size, std::thread &peer)
{
    while (a.tap.consumed() < flood_size)
        if (read_all(a.tap) == 0)
            std::this_thread::sleep_for(1ms);
    peer.join();
}

}  // namespace

TEST_CASE("a full input link holds back its own session, not another's")
{
    SlowStandby a(4096), b(1 << 20);
    REQUIRE(a.tap.mode() == TapMode::Mirroring);
    REQUIRE(b.tap.mode() == TapMode::Mirroring);

    // a's peer sends far more than a's link holds; a's standby reads nothing.
    const std::string flood = keepalives(20000);  // 380 kB
    std::thread peer([&] { ::send(a.c.peer.get(), flood.data(), flood.size(), MSG_NOSIGNAL); });
    settle();
    std::size_t taken = read_all(a.tap);
    CHECK(taken > 0);
    CHECK(taken < flood.size());
    CHECK(a.tap.input_held_on() >= 0);  // bgpd now waits for the link, not the socket
    CHECK(a.tap.consumed() == taken);   // nothing consumed that the link did not take
    auto stats = a.tap.replication_stats();
    CHECK(stats.backpressure_events == 1);
    CHECK(stats.bytes_mirrored == taken);

    // Meanwhile b's session runs at full speed, from another thread.
    std::atomic<long> b_ms{-1};
    std::thread other([&] {
        send_all(b.c.peer.get(), bgp_keepalive());
        settle();
        auto t0 = std::chrono::steady_clock::now();
        CHECK(read_tap(b.tap) == bgp_keepalive());
        b_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count();
    });
    other.join();
    CHECK(b_ms.load() >= 0);
    CHECK(b_ms.load() < 10);
    CHECK(b.tap.input_held_on() == -1);

    // a's standby catches up: a's session takes the rest, in order.
    std::string mirrored = take(a.in_r.get());
    for (int idle = 0; a.tap.consumed() < flood.size() && idle < 2000;) {
        std::size_t got = read_all(a.tap);
        mirrored += take(a.in_r.get());
        if (got == 0) {
            idle++;
            std::this_thread::sleep_for(1ms);
        }
    }
    peer.join();
    mirrored += drain(a.in_r.get());
    CHECK(a.tap.consumed() == flood.size());
    CHECK(mirrored == flood);
    CHECK(a.tap.input_held_on() == -1);
}

TEST_CASE("the peer gets only what the send log took, and a full send log holds back the output")
{
    SlowStandby a(4096);
    const std::string burst = keepalives(5000);  // 95 kB
    struct iovec iov = {const_cast<char *>(burst.data()), burst.size()};
    ssize_t n = a.tap.writev(&iov, 1);
    REQUIRE(n > 0);
    CHECK(static_cast<std::size_t>(n) < burst.size());
    CHECK(a.tap.output_fd() != a.c.ours.get());  // bgpd waits for the send-log link
    // What reached the peer was logged first, byte for byte.
    std::string at_peer = drain(a.c.peer.get());
    std::string logged = drain(a.out_r.get());
    CHECK(at_peer.size() == static_cast<std::size_t>(n));
    CHECK(logged.compare(0, at_peer.size(), at_peer) == 0);
    CHECK(a.tap.output_fd() != a.c.ours.get());
    // The link drained: the session writes again, waiting on the socket.
    std::size_t sent = static_cast<std::size_t>(n);
    for (int i = 0; i < 5000 && sent < burst.size(); i++) {
        struct iovec rest = {const_cast<char *>(burst.data()) + sent, burst.size() - sent};
        ssize_t m = a.tap.writev(&rest, 1);
        if (m > 0)
            sent += static_cast<std::size_t>(m);
        logged += take(a.out_r.get());
        at_peer += take(a.c.peer.get());
    }
    at_peer += drain(a.c.peer.get());
    CHECK(at_peer == burst);
    CHECK(logged.substr(0, burst.size()) == burst);
    CHECK(a.tap.output_fd() == a.c.ours.get());
}

TEST_CASE("a standby lagging past the limit leaves the session unprotected, never slower")
{
    SlowStandby a(4096);
    const std::string flood = keepalives(20000);
    std::thread peer([&] { ::send(a.c.peer.get(), flood.data(), flood.size(), MSG_NOSIGNAL); });
    settle();
    read_all(a.tap);
    REQUIRE(a.tap.input_held_on() >= 0);
    CHECK_FALSE(a.tap.pump(500ms));  // not yet past the limit
    std::this_thread::sleep_for(120ms);
    CHECK(a.tap.pump(100ms));  // past it: wake the session
    CHECK(a.tap.mode() == TapMode::Unprotected);
    CHECK(a.tap.why_unprotected().find("standby lagging: its links took nothing for") !=
          std::string::npos);
    CHECK(a.tap.input_held_on() == -1);
    // The session reads at full speed again.
    while (a.tap.consumed() < flood.size())
        if (read_all(a.tap) == 0)
            std::this_thread::sleep_for(1ms);
    peer.join();
    CHECK(a.tap.consumed() == flood.size());
    // It may be handed over again later, not at once.
    CHECK(a.tap.attachable().why().find("handed over again in") != std::string::npos);
}

TEST_CASE("a standby slower than the session paces it and keeps it protected, and loses it once it stops")
{
    SlowStandby a(4096);
    const std::string flood = keepalives(200000);
    std::thread peer([&] { send_all(a.c.peer.get(), flood); });
    settle();
    read_all(a.tap);
    REQUIRE(a.tap.input_held_on() >= 0);
    // The standby takes a little every few ms: the link stays full, the
    // session moves on at the standby's pace.
    const auto limit = 200ms;
    const auto started = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - started < 1500ms) {
        char buf[1024];
        (void)::recv(a.in_r.get(), buf, sizeof(buf), MSG_DONTWAIT);
        read_all(a.tap);
        REQUIRE_FALSE(a.tap.pump(limit));  // past one limit, yet moving: protected
        std::this_thread::sleep_for(5ms);
    }
    CHECK(a.tap.mode() == TapMode::Mirroring);
    const std::size_t paced = a.tap.consumed();
    CHECK(paced > 0);
    // The standby stops taking: the session stands still, and after the
    // limit goes on unprotected, at full speed.
    read_all(a.tap);
    REQUIRE(a.tap.input_held_on() >= 0);
    std::this_thread::sleep_for(limit + 50ms);
    check_unprotected_for_taking_nothing(a, limit);
    read_the_rest(a, flood.size(), peer);
    CHECK(a.tap.consumed() == flood.size());
}

TEST_CASE("a standby that reads a full link part by part keeps the session protected, though the "
          "link is not writable yet")
{
    // bgpd wakes a held session only once its link polls writable: a unix
    // socket does so when it has drained to a quarter of its buffer. A
    // standby that takes one piece every 50 ms needs about a second to get
    // there, far past the lag limit: what it takes must count.
    SlowStandby a(65536);
    const std::string flood = keepalives(200000);
    std::thread peer([&] { send_all(a.c.peer.get(), flood); });
    for (int i = 0; i < 2000 && a.tap.input_held_on() < 0; i++) {  // until the link is full
        read_all(a.tap);
        std::this_thread::sleep_for(1ms);
    }
    const int held_on = a.tap.input_held_on();
    REQUIRE(held_on >= 0);
    const auto limit = 300ms;
    int woken = 0;
    const auto started = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - started < 1500ms) {
        char piece[4096];
        (void)::recv(a.in_r.get(), piece, sizeof(piece), MSG_DONTWAIT);
        struct pollfd writable = {held_on, POLLOUT, 0};
        if (::poll(&writable, 1, 0) > 0) {  // as bgpd's I/O pthread would be
            woken++;
            read_all(a.tap);
        }
        REQUIRE_FALSE(a.tap.pump(limit));
        std::this_thread::sleep_for(50ms);
    }
    CHECK(a.tap.mode() == TapMode::Mirroring);
    // The session itself moved seldom: what kept it protected was the
    // standby's reading.
    CHECK(woken <= 2);
    // A standby that stops reading loses it after the limit.
    std::this_thread::sleep_for(limit + 100ms);
    check_unprotected_for_taking_nothing(a, limit);
    read_the_rest(a, flood.size(), peer);
}

TEST_CASE("a hand-over streams a history larger than its links while the session goes on")
{
    const std::string history = keepalives(30000);  // 570 kB, the links hold ~8 kB
    SlowStandby a(4096, history);
    CHECK(a.tap.mode() == TapMode::HandingOver);
    auto stats = a.tap.replication_stats();
    CHECK(stats.pending_bytes > 0);
    CHECK(stats.protected_after_ms == -1);

    // The session goes on: the peer's new bytes are read at once.
    const std::string live = bgp_empty_update();
    send_all(a.c.peer.get(), live);
    settle();
    CHECK(read_tap(a.tap) == live);

    // The standby reads at its pace; the pump moves the rest along.
    std::string got;
    for (int i = 0; i < 100000 && a.tap.mode() == TapMode::HandingOver; i++) {
        got += take(a.in_r.get());
        a.tap.pump(10s);
    }
    got += drain(a.in_r.get());
    CHECK(a.tap.mode() == TapMode::Mirroring);
    CHECK(got == history + live);  // the history, then what passed meanwhile
    CHECK(a.tap.replication_stats().protected_after_ms >= 0);
}

TEST_CASE("a hand-over whose standby takes nothing ends unprotected, the session untouched")
{
    const std::string history = keepalives(30000);
    SlowStandby a(4096, history);
    REQUIRE(a.tap.mode() == TapMode::HandingOver);
    std::this_thread::sleep_for(120ms);
    CHECK(a.tap.pump(10ms));
    CHECK(a.tap.mode() == TapMode::Unprotected);
    CHECK(a.tap.why_unprotected().find("standby lagging") != std::string::npos);
    CHECK(a.tap.replication_stats().pending_bytes == 0);  // its memory is given back
    send_all(a.c.peer.get(), bgp_keepalive());
    settle();
    CHECK(read_tap(a.tap) == bgp_keepalive());
}

// The delay before the next hand-over, from attachable()'s why.
long handed_over_again_in_ms(SessionTap &tap)
{
    const std::string why = tap.attachable().why();
    const auto at = why.find("handed over again in ");
    return at == std::string::npos ? -1 : std::stol(why.substr(at + 21));
}

TEST_CASE("a standby that takes nothing of the hand-over is not handed it again at once")
{
    SlowStandby a(4096, keepalives(30000));
    std::this_thread::sleep_for(120ms);
    REQUIRE(a.tap.pump(10ms));
    REQUIRE(a.tap.mode() == TapMode::Unprotected);
    // A standby that could not take the history is not handed it again
    // at once, and again, never catching up: 1 s first, doubling with
    // each failure in a row (ActiveTap::back_off).
    const long wait = handed_over_again_in_ms(a.tap);
    CHECK(wait > 800);
    CHECK(wait <= 1000);
}
