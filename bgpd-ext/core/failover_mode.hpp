// Which switchover a session gets: transparent failover, graceful restart,
// or a plain restart. A pure decision, taken when a session is Established,
// from the neighbor's configured mode and what the session negotiated.
#pragma once

#include <optional>
#include <string_view>

namespace frr_ha {

enum class ConfiguredMode { Auto, Transparent, GracefulRestart, None };
enum class SessionMode { Transparent, GracefulRestart, PlainRestart };

struct SessionFacts {
    bool established = false;
    bool peer_advertised_gr = false;  // the peer can help our restart
    bool local_gr_restart = false;    // FRR's GR config lets us restart gracefully
    bool forwarding_preserved = false;  // ... and sends the F bit (preserve-fw-state)
    // After a takeover, the difference between what the peer holds and what
    // the new active wants can be computed (stream_rib.hpp: IPv4/IPv6
    // unicast and multicast without ADD-PATH). Without it a continued
    // session could keep routes the new active no longer has.
    bool difference_computable = true;
    // The new active will hold the session's local address: always in local
    // mode (one host); in dual-RP mode only a service address moves to the
    // other host, and a session on a host's own address dies with it.
    bool local_address_moves = true;
};

struct ModeDecision {
    SessionMode mode;
    std::string_view reason;  // static text, for show commands
};

ModeDecision decide_session_mode(ConfiguredMode configured, const SessionFacts &facts);

std::string_view name_of(ConfiguredMode mode);
std::string_view name_of(SessionMode mode);
std::optional<ConfiguredMode> parse_configured_mode(std::string_view name);

}  // namespace frr_ha
