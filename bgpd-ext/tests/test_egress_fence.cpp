// The lease's fence in the kernel, against the real kernel: a TCP
// connection over loopback on the BGP port, inside a network namespace made
// for the test (so the host's own port 179 is never touched). Needs
// CAP_NET_ADMIN (the tests run as root).
#include <catch2/catch.hpp>

#include "egress_fence.hpp"
#include "netns_fixture.hpp"
#include "orphan_connections.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

using namespace frr_ha;
using frr_ha::test::Connection;
using frr_ha::test::ScopedNetns;

namespace {

constexpr std::uint16_t kBgpPort = 179;

// The bytes `from` sends reach `to` within `ms` (retransmissions included).
bool arrives(int from, int to, const std::string &bytes, int ms)
{
    if (!bytes.empty() && ::send(from, bytes.data(), bytes.size(), 0) != (ssize_t)bytes.size())
        return false;
    pollfd p{to, POLLIN, 0};
    if (::poll(&p, 1, ms) != 1)
        return false;
    char buf[64];
    return ::recv(to, buf, sizeof(buf), 0) > 0;
}

// What a killed bgpd leaves: the table with its lease expired.
void leave_a_shut_table()
{
    nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    REQUIRE(ctx);
    nft_ctx_buffer_error(ctx);
    const std::string port = std::to_string(kBgpPort);
    const std::string table =
        std::string("table inet ") + EgressFence::kTable +
        " {\n set lease { type inet_service; flags timeout\n }\n"
        " chain output {\n type filter hook output priority 0; policy accept\n"
        " tcp dport " + port + " tcp dport != @lease drop\n"
        " tcp sport " + port + " tcp sport != @lease drop\n }\n}\n";
    int rc = nft_run_cmd_from_buffer(ctx, table.c_str());
    INFO(nft_ctx_get_error_buffer(ctx));
    nft_ctx_free(ctx);
    REQUIRE(rc == 0);
}

}  // namespace

TEST_CASE("The fence stops the kernel's segments at the lease's end and lets them pass again",
          "[egress_fence]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    auto fence = EgressFence::install(kBgpPort);
    REQUIRE(fence);  // open: the handshake passes
    Connection c = frr_ha::test::connect_over_loopback(kBgpPort);
    REQUIRE(fence->open_for(300));
    CHECK(arrives(c.client.get(), c.server.get(), "a", 200));
    CHECK(fence->dropped() == 0);

    SECTION("at the timeout the kernel drops both directions by itself")
    {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        CHECK_FALSE(arrives(c.client.get(), c.server.get(), "b", 300));
        CHECK_FALSE(arrives(c.server.get(), c.client.get(), "c", 300));
        CHECK(fence->dropped() >= 2);
        // Opened again: TCP's retransmissions bring what waited.
        REQUIRE(fence->open());
        CHECK(arrives(c.client.get(), c.server.get(), "", 5000));
        CHECK(arrives(c.server.get(), c.client.get(), "", 5000));
    }
    SECTION("shut at once, and the connection is whole after the fence goes")
    {
        REQUIRE(fence->shut());
        CHECK_FALSE(arrives(c.client.get(), c.server.get(), "d", 300));
        fence = Result<EgressFence>::fail("removed");  // the table goes
        CHECK(arrives(c.client.get(), c.server.get(), "", 5000));
    }
    SECTION("a lease renewed before its end never stops a segment")
    {
        for (int i = 0; i < 5; i++) {
            std::this_thread::sleep_for(std::chrono::milliseconds(150));
            REQUIRE(fence->open_for(300));
            CHECK(arrives(c.client.get(), c.server.get(), "e", 200));
        }
        CHECK(fence->dropped() == 0);
    }
}

TEST_CASE("The fence replaces a table a killed process left shut", "[egress_fence]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    leave_a_shut_table();
    {
        UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(kBgpPort);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        // Not even the SYN leaves while the old table stands.
        ::connect(probe.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
        pollfd p{probe.get(), POLLOUT, 0};
        CHECK(::poll(&p, 1, 300) == 0);
    }
    auto fence = EgressFence::install(kBgpPort);
    REQUIRE(fence);
    Connection c = frr_ha::test::connect_over_loopback(kBgpPort);
    CHECK(arrives(c.client.get(), c.server.get(), "f", 200));
}

namespace {

int tcp_state(int fd)
{
    tcp_info info{};
    socklen_t len = sizeof(info);
    REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
    return info.tcpi_state;
}

}  // namespace

TEST_CASE("The connections a killed process left are destroyed behind its shut fence, unseen by their peers",
          "[egress_fence]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    Connection c = frr_ha::test::connect_over_loopback(kBgpPort);
    SECTION("a table left behind: its orphans go, silently")
    {
        leave_a_shut_table();
        // The killed process's end: an orphan that keeps sending its FIN,
        // which the shut table drops.
        c.server.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        REQUIRE(tcp_state(c.client.get()) == TCP_ESTABLISHED);

        auto fence = EgressFence::install(kBgpPort);
        INFO(fence.why());
        REQUIRE(fence);
        CHECK(fence->orphans_destroyed() == 1);
        CHECK(fence->orphans_error() == "");
        // Neither the FIN nor the RST of its destruction reached the peer,
        // and the fence, open, lets the peer's own segments out.
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        CHECK(tcp_state(c.client.get()) == TCP_ESTABLISHED);
        auto again = destroy_orphaned_connections(kBgpPort);
        REQUIRE(again);
        CHECK(*again == 0);
    }
    SECTION("no table left behind: a process that exited closed its connections itself")
    {
        c.server.reset();
        auto fence = EgressFence::install(kBgpPort);
        REQUIRE(fence);
        CHECK(fence->orphans_destroyed() == 0);
        // Its FIN went out as a clean close's does.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        CHECK(tcp_state(c.client.get()) == TCP_CLOSE_WAIT);
    }
}

TEST_CASE("A connection closed behind the shut fence is destroyed on demand, unseen by its peer",
          "[egress_fence]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    auto fence = EgressFence::install(kBgpPort);
    REQUIRE(fence);
    Connection c = frr_ha::test::connect_over_loopback(kBgpPort);
    SECTION("shut: the orphan goes, neither its FIN nor its RST reaches the peer")
    {
        REQUIRE(fence->shut());
        // A thawed bgpd closing a session before it steps down: its FIN
        // is dropped and the orphan holds the 4-tuple.
        c.server.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        REQUIRE(tcp_state(c.client.get()) == TCP_ESTABLISHED);
        std::string which;
        auto destroyed = fence->destroy_orphans_behind(&which);
        INFO(destroyed.why());
        REQUIRE(destroyed);
        CHECK(*destroyed == 1);
        sockaddr_in client{};
        socklen_t len = sizeof(client);
        REQUIRE(::getsockname(c.client.get(), reinterpret_cast<sockaddr *>(&client), &len) == 0);
        CHECK(which == "127.0.0.1:179 > 127.0.0.1:" + std::to_string(ntohs(client.sin_port)) +
                           " fin-wait-1");
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        CHECK(tcp_state(c.client.get()) == TCP_ESTABLISHED);
        auto again = destroy_orphaned_connections(kBgpPort);
        REQUIRE(again);
        CHECK(*again == 0);
    }
    SECTION("a deadline past counts as shut: the fence is shut for certain first")
    {
        REQUIRE(fence->open_for(50));
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        c.server.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        CHECK(fence->shut_now());
        auto destroyed = fence->destroy_orphans_behind();
        REQUIRE(destroyed);
        CHECK(*destroyed == 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        CHECK(tcp_state(c.client.get()) == TCP_ESTABLISHED);
    }
    SECTION("open: refused, the close goes on as any close")
    {
        c.server.reset();
        CHECK_FALSE(fence->shut_now());
        auto destroyed = fence->destroy_orphans_behind();
        CHECK_FALSE(destroyed);
        CHECK(destroyed.why().find("open") != std::string::npos);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        CHECK(tcp_state(c.client.get()) == TCP_CLOSE_WAIT);
    }
}

TEST_CASE("A fence that cannot be changed says why", "[egress_fence]")
{
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    auto fence = EgressFence::install(kBgpPort);
    REQUIRE(fence);
    EgressFence moved = std::move(*fence);
    Status gone = fence->open();
    CHECK_FALSE(gone);
    CHECK(gone.why() == "nftables: the fence was moved away");
    // Someone deleted the table under it: each change fails with nftables'
    // own words, and nothing throws.
    nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    REQUIRE(nft_run_cmd_from_buffer(ctx, (std::string("delete table inet ") +
                                          EgressFence::kTable).c_str()) == 0);
    nft_ctx_free(ctx);
    Status refused = moved.open_for(100);
    CHECK_FALSE(refused);
    CHECK(refused.why().rfind("nftables: ", 0) == 0);
    CHECK(moved.dropped() == 0);
}

namespace {

int shell(const std::string &command)
{
    return std::system((command + " >/dev/null 2>&1").c_str());
}

// A peer on a link to this thread's namespace (the host): a veth pair, the
// host's own address (.11 / ::11) and a service address (.10 / ::10) on
// the host's end, .2 / ::2 on the peer's, in a namespace of its own.
class NeighborPeer {
public:
    NeighborPeer() : name_("fha-nd-peer-" + std::to_string(::getpid()))
    {
        ok_ = shell("ip netns add " + name_) == 0 &&
              shell("ip link add h0 type veth peer name p0 netns " + name_) == 0 &&
              shell("ip addr add 192.0.2.11/24 dev h0") == 0 &&
              shell("ip addr add 192.0.2.10/24 dev h0") == 0 &&
              shell("ip addr add 2001:db8::11/64 dev h0 nodad") == 0 &&
              shell("ip addr add 2001:db8::10/64 dev h0 nodad") == 0 &&
              shell("ip link set h0 up") == 0 &&
              shell("ip -n " + name_ + " addr add 192.0.2.2/24 dev p0") == 0 &&
              shell("ip -n " + name_ + " addr add 2001:db8::2/64 dev p0 nodad") == 0 &&
              shell("ip -n " + name_ + " link set p0 up") == 0;
    }
    ~NeighborPeer() { shell("ip netns del " + name_); }
    bool ok() const { return ok_; }
    // The peer forgets what it knew and asks again: does the host answer?
    bool reaches(const std::string &address) const
    {
        shell("ip -n " + name_ + " neigh flush dev p0");
        return shell("ip netns exec " + name_ + " ping -c1 -W1 " + address) == 0;
    }

private:
    std::string name_;
    bool ok_ = false;
};

}  // namespace

TEST_CASE("Once the lease has run out the host answers no ARP or neighbour solicitation for the "
          "guarded service addresses, and still does for its own",
          "[egress_fence]")
{
    const auto [service, own] =
        GENERATE(std::pair<std::string, std::string>{"192.0.2.10", "192.0.2.11"},
                 std::pair<std::string, std::string>{"2001:db8::10", "2001:db8::11"});
    INFO(service);
    ScopedNetns ns;
    REQUIRE(ns.why() == "");
    NeighborPeer peer;
    REQUIRE(peer.ok());
    auto fence = EgressFence::install(kBgpPort);
    INFO(fence.why());
    REQUIRE(fence);
    REQUIRE(fence->guard_addresses({service}));
    CHECK(peer.reaches(service));  // open: answered

    REQUIRE(fence->shut());
    CHECK_FALSE(peer.reaches(service));
    CHECK(peer.reaches(own));  // not guarded
    CHECK(fence->neighbor_dropped() > 0);

    // Until a deadline, then not.
    REQUIRE(fence->open_for(1500));
    CHECK(peer.reaches(service));
    std::this_thread::sleep_for(std::chrono::milliseconds(1600));
    CHECK_FALSE(peer.reaches(service));

    // A list given while open until a deadline takes the same deadline.
    REQUIRE(fence->guard_addresses({}));
    REQUIRE(fence->open_for(1500));
    REQUIRE(fence->guard_addresses({service}));
    CHECK(peer.reaches(service));
    std::this_thread::sleep_for(std::chrono::milliseconds(1600));
    CHECK_FALSE(peer.reaches(service));

    // No address guarded: answered even when shut.
    REQUIRE(fence->guard_addresses({}));
    CHECK(peer.reaches(service));

    CHECK(fence->guard_addresses({"2001:db8::1/64"}).why() ==
          "'2001:db8::1/64' is not an IPv4 or IPv6 address");
}
