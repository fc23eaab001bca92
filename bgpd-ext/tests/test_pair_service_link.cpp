// The service link (pair_service_link.cpp, docs/dual-rp.md "The service
// link"): PairNode against PairNode (pair_harness.hpp). The host says at
// every tick whether the interface towards the peers has its link; here
// the test says it.
#include <catch2/catch.hpp>

#include "pair_harness.hpp"
#include "pair_node.hpp"

using namespace frr_ha;

namespace {

// a active, b its ready standby, both on TCP (dual-RP).
Harness dual_rp_pair()
{
    auto h = formed_pair(true);
    REQUIRE(h.nodes[0]->role() == Role::Active);
    REQUIRE(h.nodes[1]->ready());
    return h;
}

}  // namespace

TEST_CASE("dual-RP: an active that lost its service link hands its role to its ready standby",
          "[service link]")
{
    auto h = dual_rp_pair();
    h.nodes[0]->service_link("eth1", h.now);
    h.pump();
    check_handed_to_b(h, SwitchoverReason::LinkLoss);
    CHECK(name_of(SwitchoverReason::LinkLoss) == "link-loss");
    CHECK(h.hosts[0]->logged("switchover on link loss (eth1): handing the active role to rp b"));
    CHECK(h.hosts[1]->logged("its host lost the link towards the peers"));

    // Without its link the old active is no standby to switch back to.
    h.run(300);
    CHECK(h.nodes[0]->not_ready_reason() == "the service interface eth1 has no link on this host");
    CHECK(h.nodes[1]->request_switchover(h.now) ==
          "standby not ready: the service interface eth1 has no link on this host");
    // Its link back, it is ready again; nothing moves by itself.
    h.nodes[0]->service_link("", h.now);
    h.run(300);
    CHECK(h.hosts[0]->logged("the service interface eth1 has its link again on this host"));
    CHECK(h.nodes[0]->ready());
    CHECK(h.nodes[1]->role() == Role::Active);
    CHECK(h.nodes[1]->switchovers().size() == 1);
}

TEST_CASE("dual-RP: an active without its service link and no ready standby stays, says why "
          "once, and hands over once the standby is ready",
          "[service link]")
{
    auto h = dual_rp_pair();
    // The standby lost its own link first: it is not ready.
    h.nodes[1]->service_link("eth1", h.now);
    h.run(300);
    CHECK_FALSE(h.nodes[1]->ready());
    for (int i = 0; i < 3; i++) {
        h.nodes[0]->service_link("eth1", h.now);
        h.run(100);
    }
    CHECK(h.nodes[0]->role() == Role::Active);
    int said = 0;
    for (const auto &l : h.hosts[0]->logs)
        said += l.find("has no link, but the active role stays on this host: standby not "
                       "ready: the service interface eth1 has no link on this host") !=
                std::string::npos;
    CHECK(said == 1);
    // The standby's link comes back: the next word of the active's host moves the role.
    h.nodes[1]->service_link("", h.now);
    h.run(300);
    h.nodes[0]->service_link("eth1", h.now);
    h.pump();
    CHECK(h.nodes[0]->role() == Role::Standby);
    CHECK(h.nodes[1]->role() == Role::Active);
    REQUIRE(h.nodes[1]->switchovers().size() == 1);
    CHECK(h.nodes[1]->switchovers()[0].reason == SwitchoverReason::LinkLoss);
}

TEST_CASE("a lost service link moves nothing when the switchover is turned off, or in local mode",
          "[service link]")
{
    SECTION("turned off")
    {
        auto h = dual_rp_pair();
        auto config = h.nodes[0]->config();
        config.switchover_on_link_loss = false;
        h.nodes[0]->reconfigure(config, h.now);
        h.run(300);
        h.nodes[0]->service_link("eth1", h.now);
        h.run(300);
        CHECK(h.nodes[0]->role() == Role::Active);
        CHECK(h.nodes[1]->role() == Role::Standby);
        CHECK(h.hosts[0]->logged("the service interface eth1 lost its link on this host"));
    }
    SECTION("local mode")
    {
        auto h = formed_pair(false);
        h.nodes[0]->service_link("eth1", h.now);
        h.nodes[1]->service_link("eth1", h.now);
        h.run(300);
        CHECK(h.nodes[0]->role() == Role::Active);
        CHECK(h.nodes[1]->ready());
        CHECK(h.nodes[0]->service_link_lost().empty());
    }
}
