// The new active's host takes over the service addresses: against the
// kernel, with three network namespaces made for the test as two RP hosts
// and a peer on one bridged segment (as root; iproute2 builds them). The
// peer's own neighbour cache, and its pings, say where it sends.
#include <catch2/catch.hpp>

#include "address_claim.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

using namespace frr_ha;

namespace {

std::string output_of(const std::string &command)
{
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE *)> p(::popen(command.c_str(), "r"), ::pclose);
    if (!p)
        return out;
    std::array<char, 256> buf;
    while (std::fgets(buf.data(), buf.size(), p.get()))
        out += buf.data();
    return out;
}

bool run(const std::string &command)
{
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// rpa and rpb, each with eth0 towards a bridge in the peer's namespace.
class Segment {
public:
    Segment()
    {
        const std::string id = std::to_string(::getpid());
        rpa = "fha-rpa-" + id;
        rpb = "fha-rpb-" + id;
        peer = "fha-peer-" + id;
        ok_ = run("ip netns add " + rpa) && run("ip netns add " + rpb) &&
              run("ip netns add " + peer) &&
              run("ip -n " + peer + " link add br0 type bridge") &&
              run("ip -n " + peer + " link set br0 up") && host(rpa, "0a", "pa", "11") &&
              host(rpb, "0b", "pb", "12") &&
              run("ip -n " + peer + " addr add 192.0.2.2/24 dev br0") &&
              run("ip -n " + peer + " addr add 2001:db8::2/64 dev br0 nodad");
    }
    ~Segment()
    {
        for (const std::string &ns : {rpa, rpb, peer})
            run("ip netns del " + ns);
    }
    bool ok() const { return ok_; }

    // What the peer's cache says the address's MAC is ("" if none).
    std::string peer_sees(const std::string &address) const
    {
        const std::string line =
            output_of("ip -n " + peer + " neigh show " + address + " dev br0");
        const std::size_t at = line.find("lladdr ");
        return at == std::string::npos ? "" : line.substr(at + 7, 17);
    }
    bool peer_reaches(const std::string &address) const
    {
        return run("ip netns exec " + peer + " ping -c1 -W1 " + address);
    }

    std::string rpa, rpb, peer;

private:
    // A host with its MAC's last byte and its own address's last part.
    bool host(const std::string &ns, const std::string &mac_end, const std::string &port,
              const std::string &own)
    {
        return run("ip -n " + peer + " link add " + port + " type veth peer name eth0 netns " + ns) &&
               run("ip -n " + peer + " link set " + port + " master br0 up") &&
               run("ip -n " + ns + " link set eth0 address 02:00:00:00:00:" + mac_end) &&
               run("ip -n " + ns + " link set eth0 up") && run("ip -n " + ns + " link set lo up") &&
               run("ip -n " + ns + " addr add 192.0.2." + own + "/24 dev eth0") &&
               run("ip -n " + ns + " addr add 2001:db8::" + own + "/64 dev eth0 nodad");
    }
    bool ok_ = false;
};

// This thread in the named namespace until the scope ends.
class InNamespace {
public:
    explicit InNamespace(const std::string &name)
        : home_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC))
    {
        UniqueFd target(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
        entered_ = home_ && target && ::setns(target.get(), CLONE_NEWNET) == 0;
    }
    ~InNamespace()
    {
        if (entered_)
            (void)::setns(home_.get(), CLONE_NEWNET);
    }
    bool entered() const { return entered_; }

private:
    UniqueFd home_;
    bool entered_ = false;
};

Status claim_in(const std::string &ns, const ServiceAddress &a)
{
    InNamespace in(ns);
    REQUIRE(in.entered());
    return claim(a);
}

// The address on the host's interface in its subnet (eth0, which has the
// host's own 192.0.2.11 / 2001:db8::11, or .12 / ::12).
ServiceAddress service(const std::string &ns, const std::string &address)
{
    InNamespace in(ns);
    REQUIRE(in.entered());
    auto a = ServiceAddress::on_its_subnet(address);
    INFO(a.why());
    REQUIRE(a);
    CHECK(a->interface == "eth0");
    return *a;
}

}  // namespace

TEST_CASE("The new host claims the service addresses: the peer's cache follows at once",
          "[address_claim]")
{
    Segment s;
    REQUIRE(s.ok());
    const auto [address, with_length] =
        GENERATE(std::pair<std::string, std::string>{"192.0.2.1", "192.0.2.1/24"},
                 std::pair<std::string, std::string>{"2001:db8::1", "2001:db8::1/64"});
    INFO(address);

    // rpa holds the address; the peer talks to it.
    REQUIRE(claim_in(s.rpa, service(s.rpa, with_length)));
    REQUIRE(s.peer_reaches(address));
    CHECK(s.peer_sees(address) == "02:00:00:00:00:0a");
    // ARP keeps a fresh entry for a second against other replies.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));

    // rpa's host dies (its link goes); rpb claims. The peer has sent
    // nothing since, yet its cache names rpb.
    REQUIRE(run("ip -n " + s.rpa + " link set eth0 down"));
    REQUIRE(claim_in(s.rpb, service(s.rpb, with_length)));
    bool moved = false;
    for (int i = 0; i < 50 && !moved; i++) {
        moved = s.peer_sees(address) == "02:00:00:00:00:0b";
        if (!moved)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(moved);
    CHECK(s.peer_reaches(address));

    // Claimed again (a repeated takeover step): announced, not an error.
    CHECK(claim_in(s.rpb, service(s.rpb, with_length)));
    // Released, twice: gone, and gone is not an error.
    {
        InNamespace in(s.rpb);
        REQUIRE(in.entered());
        CHECK(release(service(s.rpb, with_length)));
        CHECK(release(service(s.rpb, with_length)));
    }
    CHECK_FALSE(s.peer_reaches(address));
}

TEST_CASE("A service address that cannot be claimed says why", "[address_claim]")
{
    CHECK(ServiceAddress::parse("192.0.2.1", "lo").why() ==
          "'192.0.2.1': no prefix length (as in 192.0.2.1/24)");
    CHECK(ServiceAddress::parse("192.0.2.300/24", "lo").why() ==
          "'192.0.2.300' is not an IPv4 or IPv6 address");
    CHECK(ServiceAddress::parse("192.0.2.1/33", "lo").why() == "prefix length '33' is not 0 to 32");
    CHECK(ServiceAddress::parse("2001:db8::1/", "lo").why() == "prefix length '' is not 0 to 128");
    CHECK(ServiceAddress::parse("192.0.2.1/24", "no-such-if0").why().rfind(
              "no interface no-such-if0: ", 0) == 0);
    auto a = ServiceAddress::parse("2001:db8::1/64", "lo");
    REQUIRE(a);
    CHECK(a->text() == "2001:db8::1/64 on lo");
    // Loopback has no MAC to announce.
    Segment s;
    REQUIRE(s.ok());
    InNamespace in(s.rpa);
    REQUIRE(in.entered());
    auto on_lo = ServiceAddress::parse("192.0.2.9/32", "lo");
    REQUIRE(on_lo);
    Status refused = claim(*on_lo);
    CHECK(refused.why() == "lo is not an Ethernet interface");
    CHECK(ServiceAddress::on_its_subnet("198.51.100.1/24").why() ==
          "no interface of this host has an address in 198.51.100.1/24's subnet");
}
