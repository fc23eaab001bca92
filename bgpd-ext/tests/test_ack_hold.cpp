// The hold rule against the real kernel: a TCP connection over loopback on
// the BGP port, inside a network namespace made for the test. The server
// end plays the active RP (its segments are held), the client the peer,
// whose own counters say what it was acknowledged. Needs CAP_NET_ADMIN (the
// tests run as root).
#include <catch2/catch.hpp>

#include "ack_hold.hpp"
#include "egress_fence.hpp"
#include "netns_fixture.hpp"
#include "nfqueue_rule.hpp"
#include "tcp_repair.hpp"
#include "tcp_stream_position.hpp"

#include <linux/netfilter.h>
#include <nftables/libnftables.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <string>

using namespace frr_ha;
using frr_ha::test::Connection;
using frr_ha::test::ScopedNetns;

namespace {

constexpr std::uint16_t kBgpPort = 179;
constexpr std::uint16_t kQueue = 179;

using Clock = std::chrono::steady_clock;

// Lets the hold take what the kernel queues, for `ms`.
void pump(AckHold &hold, int ms)
{
    const auto end = Clock::now() + std::chrono::milliseconds(ms);
    for (auto now = Clock::now(); now < end; now = Clock::now()) {
        pollfd p{hold.fd(), POLLIN, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
        if (::poll(&p, 1, static_cast<int>(left.count()) + 1) == 1)
            hold.on_readable();
    }
}

// Bytes of the peer's own that the peer's kernel says were acknowledged.
std::uint64_t acked(int peer)
{
    auto pos = tcp_stream_position(peer);
    REQUIRE(pos);
    return pos->acked;
}

// Waits (pumping) until the peer's acknowledged count reaches `want`.
std::uint64_t acked_after(AckHold &hold, int peer, std::uint64_t want, int ms)
{
    for (int waited = 0; acked(peer) < want && waited < ms; waited += 20)
        pump(hold, 20);
    return acked(peer);
}

void send_bytes(int fd, std::size_t n, char fill)
{
    const std::string bytes(n, fill);
    REQUIRE(::send(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(n));
}

// Reads up to `n` bytes arriving within `ms`, pumping the hold meanwhile.
std::string receive(AckHold &hold, int fd, std::size_t n, int ms)
{
    std::string got;
    const auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (got.size() < n && Clock::now() < end) {
        pump(hold, 5);
        char buf[65536];
        const ssize_t r = ::recv(fd, buf, std::min(sizeof(buf), n - got.size()), MSG_DONTWAIT);
        if (r > 0)
            got.append(buf, static_cast<std::size_t>(r));
    }
    return got;
}

// Each message goes out at once, as a BGP speaker's do (no Nagle wait for
// the ACK that the hold keeps back).
void no_delay(const Connection &c)
{
    int on = 1;
    REQUIRE(::setsockopt(c.client.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0);
    REQUIRE(::setsockopt(c.server.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0);
}

struct Held {
    std::unique_ptr<AckHold> hold;
    UniqueFd listener;
    Connection c;
    HeldConnection conn;
    std::uint32_t base = 0;  // the server's next receive sequence number
    std::uint64_t acked0 = 0;
};

// A connection whose server end is held from its current receive sequence.
Held held_connection()
{
    Held h;
    auto installed = AckHold::install(kQueue);
    REQUIRE(installed.why() == "");
    h.hold = std::move(*installed);
    h.listener = frr_ha::test::listen_on_loopback(kBgpPort);
    h.c = frr_ha::test::connect_to(h.listener);
    no_delay(h.c);
    auto conn = HeldConnection::of_socket(h.c.server.get());
    REQUIRE(conn);
    h.conn = *conn;
    auto state = capture(h.c.server.get());
    REQUIRE(state);
    h.base = state->recv_next();
    REQUIRE(h.hold->hold(h.conn, h.base));
    h.acked0 = acked(h.c.client.get());
    return h;
}

// A bgpd killed while holding leaves its table behind, with no reader.
void leave_a_table_without_reader(const HeldConnection &c)
{
    nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    REQUIRE(ctx);
    nft_ctx_buffer_error(ctx);
    char local[INET_ADDRSTRLEN], remote[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, c.local, local, sizeof(local));
    ::inet_ntop(AF_INET, c.remote, remote, sizeof(remote));
    const std::string table =
        std::string("table ip ") + AckHold::kTable +
        " {\n set held { type ipv4_addr . inet_service . ipv4_addr . inet_service; elements = { " +
        local + " . " + std::to_string(c.local_port) + " . " + remote + " . " +
        std::to_string(c.remote_port) +
        " } }\n chain output {\n type filter hook output priority -310; policy accept;\n"
        " ip saddr . tcp sport . ip daddr . tcp dport @held jump to_reader\n }\n"
        " chain to_reader { }\n}\n";
    const int rc = nft_run_cmd_from_buffer(ctx, table.c_str());
    INFO(nft_ctx_get_error_buffer(ctx));
    nft_ctx_free(ctx);
    REQUIRE(rc == 0);
    REQUIRE(append_queue_rule(NFPROTO_IPV4, AckHold::kTable, "to_reader", kQueue));
}

// c's server end behind the table a killed holder left: the client's
// 2000 bytes reach the router and are never acknowledged. Returns what the
// client had been acknowledged before them.
std::uint64_t unacknowledged_behind_a_left_table(const Connection &c)
{
    auto conn = HeldConnection::of_socket(c.server.get());
    REQUIRE(conn);
    leave_a_table_without_reader(*conn);
    const std::uint64_t acked0 = acked(c.client.get());
    send_bytes(c.client.get(), 2000, 'k');
    pollfd p{c.server.get(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 2000) == 1);  // delivered to the router...
    ::poll(nullptr, 0, 500);
    REQUIRE(acked(c.client.get()) == acked0);  // ...and never acknowledged
    return acked0;
}

}  // namespace

TEST_CASE("The peer is acknowledged only the bytes the standby confirmed", "[ack_hold]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    Held h = held_connection();
    AckHold &hold = *h.hold;
    const int peer = h.c.client.get(), router = h.c.server.get();

    // The router reads the peer's bytes at once; their ACK waits.
    send_bytes(peer, 8000, 'a');
    CHECK(receive(hold, router, 8000, 2000).size() == 8000);
    pump(hold, 300);
    CHECK(acked(peer) == h.acked0);
    send_bytes(peer, 12000, 'b');
    CHECK(receive(hold, router, 12000, 2000) == std::string(12000, 'b'));
    pump(hold, 300);
    CHECK(acked(peer) == h.acked0);
    CHECK(hold.counters().held >= 2);
    CHECK(hold.waiting(h.conn) >= 2);

    SECTION("each confirmation lets out exactly what it covers")
    {
        REQUIRE(hold.confirm(h.conn, h.base + 8000));
        CHECK(acked_after(hold, peer, h.acked0 + 8000, 1000) == h.acked0 + 8000);
        pump(hold, 200);
        CHECK(acked(peer) == h.acked0 + 8000);  // nothing past it
        // A confirmation behind the last changes nothing.
        REQUIRE(hold.confirm(h.conn, h.base + 100));
        pump(hold, 100);
        CHECK(acked(peer) == h.acked0 + 8000);
        REQUIRE(hold.confirm(h.conn, h.base + 20000));
        CHECK(acked_after(hold, peer, h.acked0 + 20000, 1000) == h.acked0 + 20000);
        CHECK(hold.waiting(h.conn) == 0);
        CHECK(hold.counters().released >= 2);
    }
    SECTION("released, what waited goes and the connection is no longer queued")
    {
        REQUIRE(hold.release(h.conn));
        CHECK(hold.connections() == 0);
        CHECK(acked_after(hold, peer, h.acked0 + 20000, 1000) == h.acked0 + 20000);
        const std::uint64_t queued = hold.counters().queued;
        send_bytes(peer, 3000, 'c');
        CHECK(receive(hold, router, 3000, 2000).size() == 3000);
        CHECK(acked_after(hold, peer, h.acked0 + 23000, 1000) == h.acked0 + 23000);
        CHECK(hold.counters().queued == queued);
    }
    SECTION("the hold removed: what waited is dropped, TCP brings it again, nothing resets")
    {
        h.hold.reset();
        // The peer's retransmission draws a fresh ACK, now unheld.
        for (int waited = 0; acked(peer) < h.acked0 + 20000 && waited < 5000; waited += 50)
            ::poll(nullptr, 0, 50);
        CHECK(acked(peer) == h.acked0 + 20000);
        send_bytes(router, 10, 'd');
        pollfd p{peer, POLLIN, 0};
        REQUIRE(::poll(&p, 1, 2000) == 1);
        char buf[16];
        CHECK(::recv(peer, buf, sizeof(buf), 0) == 10);
    }
}

TEST_CASE("The router's own bytes wait behind the acknowledgement they carry", "[ack_hold]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    Held h = held_connection();
    AckHold &hold = *h.hold;
    const int peer = h.c.client.get(), router = h.c.server.get();

    send_bytes(peer, 1000, 'p');
    REQUIRE(receive(hold, router, 1000, 2000).size() == 1000);
    // Every segment the router sends now carries the ACK of those bytes.
    send_bytes(router, 5000, 'r');
    CHECK(receive(hold, peer, 5000, 500).empty());
    REQUIRE(hold.confirm(h.conn, h.base + 1000));
    CHECK(receive(hold, peer, 5000, 2000) == std::string(5000, 'r'));
    CHECK(acked_after(hold, peer, h.acked0 + 1000, 1000) == h.acked0 + 1000);
}

TEST_CASE("A connection not held is never queued", "[ack_hold]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    Held h = held_connection();
    AckHold &hold = *h.hold;
    Connection other = frr_ha::test::connect_to(h.listener);
    no_delay(other);
    const std::uint64_t acked0 = acked(other.client.get());
    send_bytes(other.client.get(), 4000, 'o');
    CHECK(receive(hold, other.server.get(), 4000, 2000).size() == 4000);
    CHECK(acked_after(hold, other.client.get(), acked0 + 4000, 1000) == acked0 + 4000);
    send_bytes(other.server.get(), 4000, 'q');
    CHECK(receive(hold, other.client.get(), 4000, 2000).size() == 4000);
    CHECK(hold.counters().queued == 0);
    CHECK(hold.counters().unknown == 0);
}

TEST_CASE("A killed holder's table acknowledges nothing until a new hold replaces it",
          "[ack_hold]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    Connection c = frr_ha::test::connect_over_loopback(kBgpPort);
    const std::uint64_t acked0 = unacknowledged_behind_a_left_table(c);

    auto hold = AckHold::install(kQueue);
    REQUIRE(hold.why() == "");
    CHECK(acked_after(**hold, c.client.get(), acked0 + 2000, 5000) == acked0 + 2000);
}

TEST_CASE("The hold refuses what it cannot do, and says why", "[ack_hold]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    Held h = held_connection();
    AckHold &hold = *h.hold;

    Status twice = hold.hold(h.conn, h.base);
    CHECK_FALSE(twice);
    CHECK(twice.why() == h.conn.text() + " is held already");

    Connection other = frr_ha::test::connect_to(h.listener);
    auto stranger = HeldConnection::of_socket(other.server.get());
    REQUIRE(stranger);
    CHECK_FALSE(hold.confirm(*stranger, 1));
    Status release = hold.release(*stranger);
    CHECK_FALSE(release);
    CHECK(release.why() == stranger->text() + " is not held");
    CHECK(stranger->text().rfind("127.0.0.1:179 > 127.0.0.1:", 0) == 0);

    UniqueFd unconnected(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto none = HeldConnection::of_socket(unconnected.get());
    CHECK_FALSE(none);
    CHECK(none.why().rfind("not a connected socket: ", 0) == 0);

    // One reader per queue and network namespace.
    auto second = AckHold::install(kQueue);
    CHECK_FALSE(second);
    CHECK(second.why().rfind("NFQUEUE 179: cannot bind", 0) == 0);
    // The first goes on holding.
    send_bytes(h.c.client.get(), 100, 'x');
    pump(hold, 200);
    CHECK(acked(h.c.client.get()) == h.acked0);
    REQUIRE(hold.confirm(h.conn, h.base + 100));
    CHECK(acked_after(hold, h.c.client.get(), h.acked0 + 100, 1000) == h.acked0 + 100);
}

TEST_CASE("The next bgpd's fence removes a killed holder's table, and the connection is acknowledged again",
          "[ack_hold]")
{
    // A session continued back onto the host of a bgpd killed as active
    // keeps its 4-tuple: the table that bgpd left would keep the new
    // socket's every segment in for good.
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    Connection c = frr_ha::test::connect_over_loopback(kBgpPort);
    const std::uint64_t acked0 = unacknowledged_behind_a_left_table(c);

    auto fence = EgressFence::install(kBgpPort);
    INFO(fence.why());
    REQUIRE(fence);
    CHECK(fence->left_hold_removed());
    CHECK(fence->orphans_error() == "");
    // The peer's retransmission draws the ACK the table kept in.
    std::uint64_t now = acked0;
    for (int i = 0; i < 100 && now != acked0 + 2000; i++) {
        ::poll(nullptr, 0, 50);
        now = acked(c.client.get());
    }
    CHECK(now == acked0 + 2000);
    auto again = AckHold::remove_left_behind();
    REQUIRE(again);
    CHECK_FALSE(*again);
}
