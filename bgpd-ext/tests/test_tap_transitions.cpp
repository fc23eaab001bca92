// The tap's transition table (tap_mode.cpp): every mode change goes through
// TapState::enter, which refuses what the table does not hold.
#include "tap_fixtures.hpp"
#include "tap_mode.hpp"

using namespace frr_ha;
using namespace frr_ha::test;

TEST_CASE("the transition table allows the failover path and refuses the rest")
{
    CHECK(TapState::allowed(TapMode::Recording, TapMode::HandingOver));
    CHECK(TapState::allowed(TapMode::HandingOver, TapMode::Mirroring));
    CHECK(TapState::allowed(TapMode::Shadow, TapMode::TakingOver));
    CHECK(TapState::allowed(TapMode::TakingOver, TapMode::Live));
    CHECK(TapState::allowed(TapMode::Live, TapMode::HandingOver));  // a new active hands over
    // Protected only by a whole history; a standby never owns a socket's I/O.
    CHECK_FALSE(TapState::allowed(TapMode::Recording, TapMode::Mirroring));
    CHECK_FALSE(TapState::allowed(TapMode::Shadow, TapMode::Unprotected));
    CHECK_FALSE(TapState::allowed(TapMode::Released, TapMode::Live));
    CHECK_FALSE(TapState::allowed(TapMode::Live, TapMode::Shadow));
}

TEST_CASE("an allowed transition moves the mode and keeps its reason")
{
    TapState state(TapMode::Recording);
    Status done = state.enter(TapMode::Unprotected, "standby gone");
    CHECK(done);
    CHECK(done.why().empty());
    CHECK(state.mode() == TapMode::Unprotected);
    CHECK(state.why_unprotected() == "standby gone");
    REQUIRE(state.enter(TapMode::HandingOver));
    CHECK(state.why_unprotected().empty());
}

TEST_CASE("a refused transition leaves the mode and says why")
{
    TapState state(TapMode::Shadow);
    Status done = state.enter(TapMode::Mirroring);
    CHECK_FALSE(done);
    CHECK(done.why() == "session tap: no transition from shadow to mirroring");
    CHECK(state.mode() == TapMode::Shadow);
}

TEST_CASE("a shadow's tap refuses the active's transitions, its mode unchanged")
{
    ShadowOfFreshConnection f;
    Status unprotected = f.shadow->unprotect("an operator typed it on the standby");
    CHECK_FALSE(unprotected);
    CHECK(unprotected.why().find("no transition from shadow to unprotected") != std::string::npos);
    CHECK(f.shadow->mode() == TapMode::Shadow);
    CHECK(f.shadow->why_unprotected().empty());

    // An active's tap cannot take over: it is no shadow.
    Connection c = connect_loopback();
    SessionTap active(c.ours.get());
    Status taken = active.take_over();
    CHECK_FALSE(taken);
    CHECK(taken.why() == "not a shadow (recording)");
    CHECK(active.mode() == TapMode::Recording);
}
