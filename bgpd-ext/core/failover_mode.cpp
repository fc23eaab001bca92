#include "failover_mode.hpp"

#include <array>
#include <utility>

namespace frr_ha {

namespace {

ModeDecision decide_ignoring_difference(ConfiguredMode configured, const SessionFacts &facts)
{
    // Only an Established session has state worth carrying over; anything
    // earlier in the FSM simply starts again on the new active.
    if (!facts.established)
        return {SessionMode::PlainRestart, "not established: restarts as stock FRR"};
    // Neither failover can reach the peer from an address the other host
    // never holds (the peer would send to, and reconnect to, a dead host).
    if (!facts.local_address_moves)
        return {SessionMode::PlainRestart,
                "dual-RP: its local address is this host's own, not a service address (bgp ha service-address): no other host can continue it"};

    const bool gr_possible = facts.peer_advertised_gr && facts.local_gr_restart;
    switch (configured) {
    case ConfiguredMode::None:
        return {SessionMode::PlainRestart, "mode none: restarts as stock FRR"};
    case ConfiguredMode::Transparent:
        return {SessionMode::Transparent, "mode transparent"};
    case ConfiguredMode::GracefulRestart:
        if (gr_possible)
            return {SessionMode::GracefulRestart,
                    facts.forwarding_preserved
                        ? "mode graceful-restart"
                        : "mode graceful-restart, without preserve-fw-state: the F bit is clear, so the peer drops our routes when the session returns"};
        // The peer (or our own GR config) cannot do RFC 4724: the best we
        // can do without overriding the operator is what stock FRR does.
        return {SessionMode::PlainRestart,
                facts.peer_advertised_gr
                    ? "mode graceful-restart, but FRR's GR config is not 'restart' for this peer: restarts as stock FRR"
                    : "mode graceful-restart, but the peer did not negotiate GR: restarts as stock FRR"};
    case ConfiguredMode::Auto:
        break;
    }
    // A graceful restart without the F bit makes the peer drop our routes
    // (RFC 4724 4.2): then the transparent failover is the better choice.
    if (gr_possible && facts.forwarding_preserved)
        return {SessionMode::GracefulRestart, "auto: GR negotiated and enabled"};
    if (!facts.peer_advertised_gr)
        return {SessionMode::Transparent, "auto: peer did not negotiate GR"};
    if (!facts.local_gr_restart)
        return {SessionMode::Transparent, "auto: GR not enabled for this peer in FRR's config"};
    return {SessionMode::Transparent,
            "auto: FRR's GR config does not preserve forwarding (bgp graceful-restart preserve-fw-state)"};
}

}  // namespace

ModeDecision decide_session_mode(ConfiguredMode configured, const SessionFacts &facts)
{
    ModeDecision d = decide_ignoring_difference(configured, facts);
    if (d.mode != SessionMode::Transparent || facts.difference_computable)
        return d;
    // A transparent failover that cannot compute the difference would lose
    // what the old active had queued: never continue such a session.
    if (facts.peer_advertised_gr && facts.local_gr_restart)
        return {SessionMode::GracefulRestart,
                "a family or ADD-PATH the takeover cannot reconcile was negotiated: graceful restart instead of transparent failover"};
    return {SessionMode::PlainRestart,
            "a family or ADD-PATH the takeover cannot reconcile was negotiated, and no GR: restarts as stock FRR"};
}

namespace {
constexpr std::array<std::pair<ConfiguredMode, std::string_view>, 4> configured_names{{
    {ConfiguredMode::Auto, "auto"},
    {ConfiguredMode::Transparent, "transparent"},
    {ConfiguredMode::GracefulRestart, "graceful-restart"},
    {ConfiguredMode::None, "none"},
}};
}  // namespace

std::string_view name_of(ConfiguredMode mode)
{
    for (const auto &[m, name] : configured_names)
        if (m == mode)
            return name;
    return "unknown";
}

std::string_view name_of(SessionMode mode)
{
    switch (mode) {
    case SessionMode::Transparent:
        return "transparent";
    case SessionMode::GracefulRestart:
        return "graceful-restart";
    case SessionMode::PlainRestart:
        return "restart";
    }
    return "unknown";
}

std::optional<ConfiguredMode> parse_configured_mode(std::string_view name)
{
    for (const auto &[m, n] : configured_names)
        if (n == name)
            return m;
    return std::nullopt;
}

}  // namespace frr_ha
