#include <catch2/catch.hpp>

#include "failover_mode.hpp"
#include "frr_ha/bgpd_ha_core.h"

#include <string>

using frr_ha::ConfiguredMode;
using frr_ha::decide_session_mode;
using frr_ha::SessionFacts;
using frr_ha::SessionMode;

namespace {
SessionFacts established(bool peer_gr, bool local_restart, bool forwarding_preserved = true)
{
    return SessionFacts{true, peer_gr, local_restart, forwarding_preserved};
}
}  // namespace

TEST_CASE("auto picks GR only when the peer negotiated it and FRR may restart gracefully")
{
    CHECK(decide_session_mode(ConfiguredMode::Auto, established(true, true)).mode ==
          SessionMode::GracefulRestart);
    CHECK(decide_session_mode(ConfiguredMode::Auto, established(true, false)).mode ==
          SessionMode::Transparent);
    CHECK(decide_session_mode(ConfiguredMode::Auto, established(false, true)).mode ==
          SessionMode::Transparent);
    CHECK(decide_session_mode(ConfiguredMode::Auto, established(false, false)).mode ==
          SessionMode::Transparent);
}

TEST_CASE("auto prefers TF over a graceful restart whose F bit would be clear")
{
    auto d = decide_session_mode(ConfiguredMode::Auto, established(true, true, false));
    CHECK(d.mode == SessionMode::Transparent);
    CHECK(std::string(d.reason).find("preserve-fw-state") != std::string::npos);

    d = decide_session_mode(ConfiguredMode::GracefulRestart, established(true, true, false));
    CHECK(d.mode == SessionMode::GracefulRestart);
    CHECK(std::string(d.reason).find("F bit") != std::string::npos);
}

TEST_CASE("transparent wins over a negotiated GR")
{
    auto d = decide_session_mode(ConfiguredMode::Transparent, established(true, true));
    CHECK(d.mode == SessionMode::Transparent);
}

TEST_CASE("graceful-restart without GR negotiated falls back to a plain restart and says why")
{
    auto d = decide_session_mode(ConfiguredMode::GracefulRestart, established(false, true));
    CHECK(d.mode == SessionMode::PlainRestart);
    CHECK(std::string(d.reason).find("did not negotiate GR") != std::string::npos);

    d = decide_session_mode(ConfiguredMode::GracefulRestart, established(true, false));
    CHECK(d.mode == SessionMode::PlainRestart);
    CHECK(std::string(d.reason).find("GR config") != std::string::npos);

    d = decide_session_mode(ConfiguredMode::GracefulRestart, established(true, true));
    CHECK(d.mode == SessionMode::GracefulRestart);
}

TEST_CASE("none, and sessions not yet Established, restart as stock FRR")
{
    CHECK(decide_session_mode(ConfiguredMode::None, established(true, true)).mode ==
          SessionMode::PlainRestart);
    for (auto m : {ConfiguredMode::Auto, ConfiguredMode::Transparent,
                   ConfiguredMode::GracefulRestart, ConfiguredMode::None})
        CHECK(decide_session_mode(m, SessionFacts{false, true, true}).mode ==
              SessionMode::PlainRestart);
}

TEST_CASE("mode names round-trip and unknown names are refused")
{
    for (auto m : {ConfiguredMode::Auto, ConfiguredMode::Transparent,
                   ConfiguredMode::GracefulRestart, ConfiguredMode::None})
        CHECK(frr_ha::parse_configured_mode(frr_ha::name_of(m)) == m);
    CHECK_FALSE(frr_ha::parse_configured_mode("Auto").has_value());
    CHECK_FALSE(frr_ha::parse_configured_mode("").has_value());
}

TEST_CASE("the C boundary gives the core's answers")
{
    frr_ha_session_facts facts{true, true, true, true, true, true};
    auto d = frr_ha_decide_session_mode(FRR_HA_CONFIGURED_AUTO, &facts);
    CHECK(d.mode == FRR_HA_SESSION_GRACEFUL_RESTART);
    CHECK(std::string(frr_ha_session_mode_name(d.mode)) == "graceful-restart");
    CHECK(d.reason != nullptr);

    // A NULL facts pointer is a session we know nothing about.
    CHECK(frr_ha_decide_session_mode(FRR_HA_CONFIGURED_AUTO, nullptr).mode ==
          FRR_HA_SESSION_PLAIN_RESTART);

    frr_ha_configured_mode out = FRR_HA_CONFIGURED_AUTO;
    CHECK(frr_ha_configured_mode_parse("graceful-restart", &out));
    CHECK(out == FRR_HA_CONFIGURED_GRACEFUL_RESTART);
    CHECK_FALSE(frr_ha_configured_mode_parse("bogus", &out));
    CHECK(out == FRR_HA_CONFIGURED_GRACEFUL_RESTART);
    CHECK_FALSE(frr_ha_configured_mode_parse(nullptr, &out));
}

TEST_CASE("a session whose difference cannot be computed is never continued")
{
    SessionFacts facts = established(false, false);
    facts.difference_computable = false;
    for (auto m : {ConfiguredMode::Auto, ConfiguredMode::Transparent}) {
        auto d = decide_session_mode(m, facts);
        CHECK(d.mode == SessionMode::PlainRestart);
        CHECK(std::string(d.reason).find("cannot reconcile") != std::string::npos);
    }

    // With GR possible, graceful restart instead (even with a clear F bit,
    // where auto would otherwise prefer the transparent failover).
    facts = established(true, true, false);
    facts.difference_computable = false;
    for (auto m : {ConfiguredMode::Auto, ConfiguredMode::Transparent})
        CHECK(decide_session_mode(m, facts).mode == SessionMode::GracefulRestart);

    // Graceful restart and none need no difference: unchanged.
    facts = established(true, true);
    facts.difference_computable = false;
    CHECK(decide_session_mode(ConfiguredMode::GracefulRestart, facts).mode ==
          SessionMode::GracefulRestart);
    CHECK(decide_session_mode(ConfiguredMode::None, facts).mode == SessionMode::PlainRestart);
}

TEST_CASE("dual-RP: a session on a host's own address is never continued, whatever its mode")
{
    for (auto facts : {established(false, false), established(true, true)}) {
        facts.local_address_moves = false;
        for (auto m : {ConfiguredMode::Auto, ConfiguredMode::Transparent,
                       ConfiguredMode::GracefulRestart}) {
            auto d = decide_session_mode(m, facts);
            CHECK(d.mode == SessionMode::PlainRestart);
            CHECK(std::string(d.reason).find("not a service address") != std::string::npos);
        }
    }
    CHECK(decide_session_mode(ConfiguredMode::Auto, established(false, false)).mode ==
          SessionMode::Transparent);
}
