#include <catch2/catch.hpp>

#include "config_text.hpp"

#include <algorithm>
#include <string>
#include <vector>

using frr_ha::config::adoption_script;
using frr_ha::config::comparable;
using frr_ha::config::differing_lines;
using frr_ha::config::digest;
using Lines = std::vector<std::string>;

namespace {

// `show running-config` of FRR 8.4.4's bgpd, as read on its vty: before and
// after an operator's changes (router-id, neighbors, peer-groups, networks,
// policies, a VRF instance replaced, lists and route-map entries).
const char *const kP1Here = R"(! loaded from 8.4.4
frr version 8.4.4-frr-ha
frr defaults traditional
!
hostname r1
log syslog informational
! "log file /var/log/frr/bgpd.log debugging" enabled by "--log" startup option
! use "clear log cmdline-targets" to remove this target
!
debug bgp neighbor-events
!
!
!
bgp no-rib
router bgp 65001
 bgp router-id 1.1.1.1
 no bgp ebgp-requires-policy
 neighbor PG peer-group
 neighbor PG remote-as 65002
 neighbor 10.0.0.3 peer-group PG
 neighbor 10.0.0.2 remote-as 65002
 neighbor 10.0.0.2 description peer two
 neighbor 10.0.0.4 remote-as external
 neighbor 10.0.0.4 timers 3 9
 neighbor 2001:db8::2 remote-as 65003
 !
 address-family ipv4 unicast
  network 10.0.0.0/24
  network 10.1.0.0/24 route-map RM1
  neighbor PG prefix-list PL1 out
  neighbor 10.0.0.2 route-map RM1 in
 exit-address-family
 !
 address-family ipv6 unicast
  network 2001:db8:1::/48
  neighbor 2001:db8::2 activate
 exit-address-family
!
exit
!
router bgp 65001 vrf red
 bgp router-id 2.2.2.2
 neighbor 10.9.0.2 remote-as 65009
exit
!
ip prefix-list PL1 seq 5 permit 10.0.0.0/8 le 24
ipv6 prefix-list PL6 seq 10 permit 2001:db8::/32
!
bgp as-path access-list AP1 seq 5 permit ^65002_
!
bgp community-list standard CL1 seq 5 permit 65001:100
bgp extcommunity-list standard ECL seq 5 permit rt 65001:1
bgp large-community-list standard LCL seq 5 permit 65001:1:1
!
!
route-map RM1 permit 10
 match ip address prefix-list PL1
 set local-preference 200
exit
!
route-map RM1 deny 20
exit
!
!
line vty
 exec-timeout 0 0
exit
!
)";

const char *const kP1Wanted = R"(! loaded from 8.4.4
frr version 8.4.4-frr-ha
frr defaults traditional
!
hostname r2
log syslog informational
! "log file /var/log/frr/bgpd.log debugging" enabled by "--log" startup option
! use "clear log cmdline-targets" to remove this target
!
!
!
bgp no-rib
router bgp 65001
 bgp router-id 1.1.1.9
 no bgp ebgp-requires-policy
 neighbor PG peer-group
 neighbor PG remote-as 65002
 neighbor PG2 peer-group
 neighbor PG2 remote-as 65005
 neighbor 10.0.0.5 peer-group PG
 neighbor 10.0.0.3 peer-group PG2
 neighbor 10.0.0.2 remote-as 65012
 neighbor 10.0.0.2 description peer two
 neighbor 2001:db8::2 remote-as 65003
 !
 address-family ipv4 unicast
  network 10.0.0.0/24
  network 10.2.0.0/24
  neighbor PG prefix-list PL1 out
  neighbor PG2 route-map RM1 out
  neighbor 10.0.0.2 route-map RM2 in
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor 2001:db8::2 activate
  neighbor 2001:db8::2 route-map RM1 in
 exit-address-family
!
exit
!
router bgp 65001 vrf blue
 neighbor 10.8.0.2 remote-as 65008
 !
 address-family ipv4 unicast
  network 10.8.8.0/24
 exit-address-family
exit
!
ip prefix-list PL1 seq 5 permit 10.0.0.0/8 le 24
ip prefix-list PL1 seq 10 permit 192.168.0.0/16 le 32
ipv6 prefix-list PL6 seq 10 permit 2001:db8::/32
ipv6 prefix-list PL6 seq 20 deny any
!
bgp as-path access-list AP1 seq 5 permit ^65002_
bgp as-path access-list AP1 seq 10 deny .*
!
bgp community-list standard CL1 seq 5 permit 65001:200
bgp community-list standard CL2 seq 5 permit 65001:300
bgp large-community-list standard LCL seq 5 permit 65001:1:1
!
!
route-map RM1 permit 10
 match ip address prefix-list PL1
 set local-preference 300
 set community 65001:1 additive
exit
!
route-map RM1 permit 30
 set metric 50
exit
!
route-map RM2 deny 5
 match community CL1
exit
!
!
!
)";

// The same as vtysh prints it for a terminal.
const char *const kVtyshOutput = "Building configuration...\n"
                                 "\n"
                                 "Current configuration:\n"
                                 "!\n"
                                 "frr version 8.4.4\n"
                                 "frr defaults traditional\n"
                                 "hostname r1\n"
                                 "domainname example.net\n"
                                 "log syslog informational\n"
                                 "service integrated-vtysh-config\n"
                                 "password zebra\n"
                                 "enable password zebra\n"
                                 "no service password-encryption\n"
                                 "!\n"
                                 "debug bgp neighbor-events\n"
                                 "!\n"
                                 "router bgp 65001\n"
                                 " bgp router-id 1.1.1.1\n"
                                 " neighbor 10.0.0.2 remote-as 65002\n"
                                 " !\n"
                                 " address-family l2vpn evpn\n"
                                 "  vni 100\n"
                                 "   rd 1.1.1.1:100\n"
                                 "  exit-vni\n"
                                 " exit-address-family\n"
                                 "exit\n"
                                 "!\n"
                                 "line vty\n"
                                 " exec-timeout 0 0\n"
                                 "exit\n"
                                 "!\n"
                                 "end";

bool contains(const Lines &lines, const std::string &line)
{
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::size_t index_of(const Lines &lines, const std::string &line)
{
    return static_cast<std::size_t>(std::find(lines.begin(), lines.end(), line) - lines.begin());
}

}  // namespace

TEST_CASE("comparable keeps the shared configuration and drops what each RP keeps for itself",
          "[config_text]")
{
    CHECK(comparable(kVtyshOutput) == "router bgp 65001\n"
                                      " bgp router-id 1.1.1.1\n"
                                      " neighbor 10.0.0.2 remote-as 65002\n"
                                      " address-family l2vpn evpn\n"
                                      "  vni 100\n"
                                      "   rd 1.1.1.1:100\n");
    // "bgp no-rib" (bgpd without zebra here) is the role's: the pair holds
    // a standby with it.
    CHECK(comparable(kP1Here).rfind("router bgp 65001\n bgp router-id 1.1.1.1\n", 0) == 0);
    CHECK(comparable(kP1Here).find("exec-timeout") == std::string::npos);
    CHECK(comparable(kP1Here).find("debug") == std::string::npos);
}

TEST_CASE("comparable is byte for byte otherwise, CRLF and a missing last newline aside",
          "[config_text]")
{
    CHECK(comparable("route-map RM permit 10\r\n set metric 5  \r\n!\r\nend") ==
          "route-map RM permit 10\n set metric 5  \n");
    CHECK(comparable("") == "");
    CHECK(comparable(comparable(kP1Wanted)) == comparable(kP1Wanted));
    // Only top-level lines can be an RP's own: a neighbor's password is shared.
    CHECK(comparable("router bgp 1\n neighbor 10.0.0.2 password x\n log-neighbor\n") ==
          "router bgp 1\n neighbor 10.0.0.2 password x\n log-neighbor\n");
}

TEST_CASE("digest is the SHA-256 of the comparable text", "[config_text]")
{
    CHECK(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // Two RPs with different host names and logging share the digest.
    std::string other(kP1Here);
    other.replace(other.find("hostname r1"), 11, "hostname r9");
    other.replace(other.find("debug bgp neighbor-events"), 25, "!");
    CHECK(digest(comparable(other)) == digest(comparable(kP1Here)));
    CHECK(digest(comparable(kP1Wanted)) != digest(comparable(kP1Here)));
}

TEST_CASE("the same configuration has nothing to differ and nothing to run", "[config_text]")
{
    std::string other(kP1Wanted);
    other.replace(other.find("hostname r2"), 11, "hostname r1");
    CHECK(differing_lines(other, kP1Wanted).empty());
    CHECK(adoption_script(other, kP1Wanted).empty());
    CHECK(adoption_script(kVtyshOutput, kVtyshOutput).empty());
}

TEST_CASE("differing_lines says each line with the headers above it", "[config_text]")
{
    const Lines d = differing_lines(kP1Here, kP1Wanted);
    CHECK(d.front() == "- router bgp 65001 > bgp router-id 1.1.1.1");
    CHECK(contains(d, "- router bgp 65001 > address-family ipv6 unicast > network 2001:db8:1::/48"));
    CHECK(contains(d, "- router bgp 65001 vrf red"));
    CHECK(contains(d, "- router bgp 65001 vrf red > neighbor 10.9.0.2 remote-as 65009"));
    CHECK(contains(d, "- route-map RM1 permit 10 > set local-preference 200"));
    CHECK(contains(d, "+ router bgp 65001 > address-family ipv4 unicast > network 10.2.0.0/24"));
    CHECK(contains(d, "+ router bgp 65001 vrf blue > address-family ipv4 unicast > network 10.8.8.0/24"));
    CHECK(contains(d, "+ ip prefix-list PL1 seq 10 permit 192.168.0.0/16 le 32"));
    CHECK(d.back() == "+ route-map RM2 deny 5 > match community CL1");
    // The lines both have are not listed, nor their headers.
    CHECK_FALSE(contains(d, "- router bgp 65001"));
    CHECK_FALSE(contains(d, "+ router bgp 65001 > neighbor 10.0.0.2 description peer two"));
    // Removed lines first, then added ones.
    const auto first_added = std::find_if(d.begin(), d.end(), [](const std::string &l) {
        return l.rfind("+ ", 0) == 0;
    });
    CHECK(std::all_of(first_added, d.end(),
                      [](const std::string &l) { return l.rfind("+ ", 0) == 0; }));
}

TEST_CASE("adoption_script removes in reverse, then adds in order, each line in its context",
          "[config_text]")
{
    // Run on a bgpd holding kP1Here, this script and one more round (which
    // adds what "no neighbor 10.0.0.2 remote-as" took: its description)
    // gave a running configuration equal to kP1Wanted.
    const Lines expected{
        "no route-map RM1 deny 20",
        "route-map RM1 permit 10",
        "no set local-preference 200",
        "exit",
        "no bgp extcommunity-list standard ECL seq 5 permit rt 65001:1",
        "no bgp community-list standard CL1 seq 5 permit 65001:100",
        "no router bgp 65001 vrf red",
        "router bgp 65001",
        "address-family ipv6 unicast",
        "no network 2001:db8:1::/48",
        "exit-address-family",
        "address-family ipv4 unicast",
        "no neighbor 10.0.0.2 route-map RM1 in",
        "no network 10.1.0.0/24 route-map RM1",
        "exit-address-family",
        "no neighbor 10.0.0.4 timers 3 9",
        "no neighbor 10.0.0.4 remote-as external",
        "no neighbor 10.0.0.2 remote-as 65002",
        "no neighbor 10.0.0.3 peer-group PG",
        "no bgp router-id 1.1.1.1",
        "exit",
        "router bgp 65001",
        "bgp router-id 1.1.1.9",
        "neighbor PG2 peer-group",
        "neighbor PG2 remote-as 65005",
        "neighbor 10.0.0.5 peer-group PG",
        "neighbor 10.0.0.3 peer-group PG2",
        "neighbor 10.0.0.2 remote-as 65012",
        "address-family ipv4 unicast",
        "network 10.2.0.0/24",
        "neighbor PG2 route-map RM1 out",
        "neighbor 10.0.0.2 route-map RM2 in",
        "exit-address-family",
        "address-family ipv6 unicast",
        "neighbor 2001:db8::2 route-map RM1 in",
        "exit-address-family",
        "exit",
        "router bgp 65001 vrf blue",
        "neighbor 10.8.0.2 remote-as 65008",
        "address-family ipv4 unicast",
        "network 10.8.8.0/24",
        "exit-address-family",
        "exit",
        "ip prefix-list PL1 seq 10 permit 192.168.0.0/16 le 32",
        "ipv6 prefix-list PL6 seq 20 deny any",
        "bgp as-path access-list AP1 seq 10 deny .*",
        "bgp community-list standard CL1 seq 5 permit 65001:200",
        "bgp community-list standard CL2 seq 5 permit 65001:300",
        "route-map RM1 permit 10",
        "set local-preference 300",
        "set community 65001:1 additive",
        "exit",
        "route-map RM1 permit 30",
        "set metric 50",
        "exit",
        "route-map RM2 deny 5",
        "match community CL1",
        "exit",
    };
    CHECK(adoption_script(kP1Here, kP1Wanted) == expected);
}

TEST_CASE("adoption_script reverses a line that starts with no", "[config_text]")
{
    const char *here = "router bgp 65001\n"
                       " no bgp default ipv4-unicast\n"
                       " no bgp ebgp-requires-policy\n"
                       " neighbor 10.0.0.4 remote-as 65004\n"
                       " !\n"
                       " address-family ipv4 unicast\n"
                       "  neighbor 10.0.0.4 activate\n"
                       " exit-address-family\n"
                       "exit\n";
    const char *wanted = "router bgp 65001\n"
                         " no bgp ebgp-requires-policy\n"
                         " neighbor 10.0.0.4 remote-as 65004\n"
                         " !\n"
                         " address-family ipv4 unicast\n"
                         "  no neighbor 10.0.0.4 activate\n"
                         " exit-address-family\n"
                         "exit\n";
    CHECK(adoption_script(here, wanted) == Lines{"router bgp 65001",
                                                 "address-family ipv4 unicast",
                                                 "no neighbor 10.0.0.4 activate",
                                                 "exit-address-family",
                                                 "bgp default ipv4-unicast",
                                                 "exit",
                                                 "router bgp 65001",
                                                 "address-family ipv4 unicast",
                                                 "no neighbor 10.0.0.4 activate",
                                                 "exit-address-family",
                                                 "exit"});
}

TEST_CASE("adoption_script empties an address-family line by line and negates other blocks",
          "[config_text]")
{
    const char *here = "router bgp 65001\n"
                       " neighbor 10.0.0.2 remote-as 65002\n"
                       " !\n"
                       " address-family ipv6 unicast\n"
                       "  network 2001:db8:1::/48\n"
                       "  neighbor 10.0.0.2 activate\n"
                       " exit-address-family\n"
                       " !\n"
                       " address-family l2vpn evpn\n"
                       "  advertise-all-vni\n"
                       "  vni 100\n"
                       "   rd 1.1.1.1:100\n"
                       "  exit-vni\n"
                       " exit-address-family\n"
                       "exit\n"
                       "!\n"
                       "route-map EMPTY deny 5\n"
                       "exit\n";
    const char *wanted = "router bgp 65001\n"
                         " neighbor 10.0.0.2 remote-as 65002\n"
                         " !\n"
                         " address-family l2vpn evpn\n"
                         "  advertise-all-vni\n"
                         " exit-address-family\n"
                         "exit\n";
    CHECK(adoption_script(here, wanted) == Lines{"no route-map EMPTY",
                                                 "router bgp 65001",
                                                 "address-family l2vpn evpn",
                                                 "no vni 100",
                                                 "exit-address-family",
                                                 "address-family ipv6 unicast",
                                                 "no neighbor 10.0.0.2 activate",
                                                 "no network 2001:db8:1::/48",
                                                 "exit-address-family",
                                                 "exit"});
    // The other way round, blocks are added whole, an empty route-map entry
    // included (the vty enters its node all the same).
    CHECK(adoption_script(wanted, here) == Lines{"router bgp 65001",
                                                 "address-family ipv6 unicast",
                                                 "network 2001:db8:1::/48",
                                                 "neighbor 10.0.0.2 activate",
                                                 "exit-address-family",
                                                 "address-family l2vpn evpn",
                                                 "vni 100",
                                                 "rd 1.1.1.1:100",
                                                 "exit",
                                                 "exit-address-family",
                                                 "exit",
                                                 "route-map EMPTY deny 5",
                                                 "exit"});
}

TEST_CASE("adoption_script removes a whole instance, VRF instances before the default one",
          "[config_text]")
{
    const char *here = "router bgp 65001\n"
                       " neighbor 10.0.0.2 remote-as 65002\n"
                       "exit\n"
                       "!\n"
                       "router bgp 65001 vrf red\n"
                       " neighbor 10.9.0.2 remote-as 65009\n"
                       "exit\n";
    const char *wanted = "router bgp 65002\n"
                         " neighbor 10.0.0.2 remote-as 65001\n"
                         "exit\n";
    CHECK(adoption_script(here, wanted) == Lines{"no router bgp 65001 vrf red",
                                                 "no router bgp 65001",
                                                 "router bgp 65002",
                                                 "neighbor 10.0.0.2 remote-as 65001",
                                                 "exit"});
}

TEST_CASE("adoption_script puts creation-ordered lists in the wanted order", "[config_text]")
{
    // FRR 8.4.4 prints prefix-list names and route-maps in creation order,
    // and keeps a route-map's place until "no route-map NAME". Run on a bgpd,
    // this script gave the wanted order in one round.
    const char *here = "bgp no-rib\n"
                       "ip prefix-list ZP seq 5 permit 1.0.0.0/8\n"
                       "ip prefix-list ZP seq 10 permit 2.0.0.0/8\n"
                       "ip prefix-list AP seq 5 permit 3.0.0.0/8\n"
                       "!\n"
                       "route-map ZZ permit 5\n"
                       " set metric 1\n"
                       "exit\n"
                       "!\n"
                       "route-map MM permit 5\n"
                       "exit\n"
                       "!\n"
                       "route-map AA permit 5\n"
                       " set metric 3\n"
                       "exit\n";
    const char *wanted = "bgp no-rib\n"
                         "ip prefix-list AP seq 5 permit 3.0.0.0/8\n"
                         "ip prefix-list NEW seq 5 permit 4.0.0.0/8\n"
                         "ip prefix-list ZP seq 5 permit 1.0.0.0/8\n"
                         "ip prefix-list ZP seq 10 permit 2.0.0.0/8\n"
                         "!\n"
                         "route-map AA permit 5\n"
                         " set metric 3\n"
                         "exit\n"
                         "!\n"
                         "route-map BB permit 5\n"
                         "exit\n"
                         "!\n"
                         "route-map ZZ permit 5\n"
                         " set metric 1\n"
                         "exit\n"
                         "!\n"
                         "route-map MM permit 5\n"
                         "exit\n";
    CHECK(adoption_script(here, wanted) == Lines{"no route-map MM",
                                                 "no route-map ZZ",
                                                 "no ip prefix-list ZP seq 10 permit 2.0.0.0/8",
                                                 "no ip prefix-list ZP seq 5 permit 1.0.0.0/8",
                                                 "ip prefix-list NEW seq 5 permit 4.0.0.0/8",
                                                 "ip prefix-list ZP seq 5 permit 1.0.0.0/8",
                                                 "ip prefix-list ZP seq 10 permit 2.0.0.0/8",
                                                 "route-map BB permit 5",
                                                 "exit",
                                                 "route-map ZZ permit 5",
                                                 "set metric 1",
                                                 "exit",
                                                 "route-map MM permit 5",
                                                 "exit"});
    // Lists FRR sorts are never out of order: a line added in the middle
    // moves nothing.
    const Lines s = adoption_script("bgp community-list standard A seq 5 permit 1:1\n"
                                    "bgp community-list standard C seq 5 permit 1:3\n",
                                    "bgp community-list standard A seq 5 permit 1:1\n"
                                    "bgp community-list standard B seq 5 permit 1:2\n"
                                    "bgp community-list standard C seq 5 permit 1:3\n");
    CHECK(s == Lines{"bgp community-list standard B seq 5 permit 1:2"});
}

TEST_CASE("adoption_script changes the pair's own lines like any other", "[config_text]")
{
    // As bgpd -M ha printed them; the script took one round on a bgpd.
    const char *here = "router bgp 65001\n"
                       " bgp router-id 1.1.1.1\n"
                       " neighbor 10.0.0.2 remote-as 65002\n"
                       " neighbor 10.0.0.3 remote-as 65003\n"
                       " bgp ha rp rp1 address unix /run/frr/ha-rp1.sock\n"
                       " bgp ha rp rp2 address unix /run/frr/ha-rp2.sock priority 50\n"
                       " bgp ha key 0123456789abcdef0123\n"
                       " bgp ha hang-detection off\n"
                       " neighbor 10.0.0.2 ha failover-mode transparent\n"
                       " neighbor 10.0.0.3 ha failover-mode graceful-restart\n"
                       "exit\n";
    const char *wanted = "router bgp 65001\n"
                         " bgp router-id 1.1.1.1\n"
                         " neighbor 10.0.0.2 remote-as 65002\n"
                         " neighbor 10.0.0.3 remote-as 65003\n"
                         " neighbor 10.0.0.4 remote-as 65004\n"
                         " bgp ha rp rp2 address unix /run/frr/ha-rp2.sock priority 50\n"
                         " bgp ha rp rp1 address unix /run/frr/ha-rp1.sock priority 200\n"
                         " bgp ha key 0123456789abcdef9999\n"
                         " bgp ha heartbeat interval 200 multiplier 4\n"
                         " neighbor 10.0.0.2 ha failover-mode none\n"
                         " neighbor 10.0.0.4 ha failover-mode transparent\n"
                         "exit\n";
    const Lines s = adoption_script(here, wanted);
    CHECK(s == Lines{"router bgp 65001",
                     "no neighbor 10.0.0.3 ha failover-mode graceful-restart",
                     "no neighbor 10.0.0.2 ha failover-mode transparent",
                     "no bgp ha hang-detection off",
                     "no bgp ha key 0123456789abcdef0123",
                     "no bgp ha rp rp1 address unix /run/frr/ha-rp1.sock",
                     "exit",
                     "router bgp 65001",
                     "neighbor 10.0.0.4 remote-as 65004",
                     "bgp ha rp rp1 address unix /run/frr/ha-rp1.sock priority 200",
                     "bgp ha key 0123456789abcdef9999",
                     "bgp ha heartbeat interval 200 multiplier 4",
                     "neighbor 10.0.0.2 ha failover-mode none",
                     "neighbor 10.0.0.4 ha failover-mode transparent",
                     "exit"});
    // A neighbor's failover mode comes after the neighbor it names.
    CHECK(index_of(s, "neighbor 10.0.0.4 remote-as 65004") <
          index_of(s, "neighbor 10.0.0.4 ha failover-mode transparent"));
}

TEST_CASE("adoption_script builds a whole configuration from nothing and removes it again",
          "[config_text]")
{
    const Lines build = adoption_script("frr version 8.4.4\nhostname r2\n!\nend\n", kP1Here);
    CHECK(build.size() == 38);
    CHECK(build.front() == "router bgp 65001");
    CHECK(index_of(build, "neighbor PG peer-group") < index_of(build, "neighbor 10.0.0.3 peer-group PG"));
    CHECK(index_of(build, "router bgp 65001") < index_of(build, "router bgp 65001 vrf red"));
    CHECK(build.back() == "exit");

    CHECK(adoption_script(kP1Here, "frr version 8.4.4\nhostname r2\n!\nend\n") ==
          Lines{"no route-map RM1", "no bgp large-community-list standard LCL seq 5 permit 65001:1:1",
                "no bgp extcommunity-list standard ECL seq 5 permit rt 65001:1",
                "no bgp community-list standard CL1 seq 5 permit 65001:100",
                "no bgp as-path access-list AP1 seq 5 permit ^65002_",
                "no ipv6 prefix-list PL6 seq 10 permit 2001:db8::/32",
                "no ip prefix-list PL1 seq 5 permit 10.0.0.0/8 le 24", "no router bgp 65001 vrf red",
                "no router bgp 65001"});
}
