// The extern "C" face of the core: converts between the C header's enums and
// the core's types. Nothing else lives here.
#include "frr_ha/bgpd_ha_core.h"

#include "failover_mode.hpp"

namespace {

frr_ha::ConfiguredMode to_core(frr_ha_configured_mode m)
{
    switch (m) {
    case FRR_HA_CONFIGURED_TRANSPARENT:
        return frr_ha::ConfiguredMode::Transparent;
    case FRR_HA_CONFIGURED_GRACEFUL_RESTART:
        return frr_ha::ConfiguredMode::GracefulRestart;
    case FRR_HA_CONFIGURED_NONE:
        return frr_ha::ConfiguredMode::None;
    case FRR_HA_CONFIGURED_AUTO:
        break;
    }
    return frr_ha::ConfiguredMode::Auto;
}

frr_ha_configured_mode to_c(frr_ha::ConfiguredMode m)
{
    switch (m) {
    case frr_ha::ConfiguredMode::Transparent:
        return FRR_HA_CONFIGURED_TRANSPARENT;
    case frr_ha::ConfiguredMode::GracefulRestart:
        return FRR_HA_CONFIGURED_GRACEFUL_RESTART;
    case frr_ha::ConfiguredMode::None:
        return FRR_HA_CONFIGURED_NONE;
    case frr_ha::ConfiguredMode::Auto:
        break;
    }
    return FRR_HA_CONFIGURED_AUTO;
}

frr_ha_session_mode to_c(frr_ha::SessionMode m)
{
    switch (m) {
    case frr_ha::SessionMode::GracefulRestart:
        return FRR_HA_SESSION_GRACEFUL_RESTART;
    case frr_ha::SessionMode::PlainRestart:
        return FRR_HA_SESSION_PLAIN_RESTART;
    case frr_ha::SessionMode::Transparent:
        break;
    }
    return FRR_HA_SESSION_TRANSPARENT;
}

frr_ha::SessionMode to_core(frr_ha_session_mode m)
{
    switch (m) {
    case FRR_HA_SESSION_GRACEFUL_RESTART:
        return frr_ha::SessionMode::GracefulRestart;
    case FRR_HA_SESSION_PLAIN_RESTART:
        return frr_ha::SessionMode::PlainRestart;
    case FRR_HA_SESSION_TRANSPARENT:
        break;
    }
    return frr_ha::SessionMode::Transparent;
}

}  // namespace

extern "C" {

frr_ha_mode_decision frr_ha_decide_session_mode(frr_ha_configured_mode configured,
                                                const frr_ha_session_facts *facts)
{
    frr_ha::SessionFacts f;
    if (facts) {
        f.established = facts->established;
        f.peer_advertised_gr = facts->peer_advertised_gr;
        f.local_gr_restart = facts->local_gr_restart;
        f.forwarding_preserved = facts->forwarding_preserved;
        f.difference_computable = facts->difference_computable;
        f.local_address_moves = facts->local_address_moves;
    }
    const auto d = frr_ha::decide_session_mode(to_core(configured), f);
    // Every reason is a string literal, so data() is NUL-terminated.
    return {to_c(d.mode), d.reason.data()};
}

const char *frr_ha_configured_mode_name(frr_ha_configured_mode mode)
{
    return frr_ha::name_of(to_core(mode)).data();
}

const char *frr_ha_session_mode_name(frr_ha_session_mode mode)
{
    return frr_ha::name_of(to_core(mode)).data();
}

bool frr_ha_configured_mode_parse(const char *name, frr_ha_configured_mode *out)
{
    if (!name || !out)
        return false;
    const auto m = frr_ha::parse_configured_mode(name);
    if (!m)
        return false;
    *out = to_c(*m);
    return true;
}

const char *frr_ha_core_version(void)
{
    return FRR_HA_VERSION;
}

}  // extern "C"
