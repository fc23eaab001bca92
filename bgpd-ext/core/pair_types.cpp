#include "pair_types.hpp"

#include "auth.hpp"

#include <set>

namespace frr_ha {

std::string_view name_of(Role role)
{
    switch (role) {
    case Role::Init:
        return "init";
    case Role::Active:
        return "active";
    case Role::Standby:
        return "standby";
    }
    return "unknown";
}

std::string_view name_of(ChannelState state)
{
    switch (state) {
    case ChannelState::Down:
        return "down";
    case ChannelState::Handshake:
        return "handshake";
    case ChannelState::Up:
        return "up";
    }
    return "unknown";
}

std::string_view name_of(SyncState state)
{
    switch (state) {
    case SyncState::None:
        return "none";
    case SyncState::Syncing:
        return "syncing";
    case SyncState::Done:
        return "done";
    }
    return "unknown";
}

std::string_view name_of(SwitchoverReason reason)
{
    switch (reason) {
    case SwitchoverReason::Planned:
        return "planned";
    case SwitchoverReason::PartnerLost:
        return "partner-lost";
    case SwitchoverReason::ChannelHeal:
        return "channel-heal";
    case SwitchoverReason::PartnerHung:
        return "partner-hung";
    case SwitchoverReason::LinkLoss:
        return "link-loss";
    }
    return "unknown";
}

std::string config_problem(const PairConfig &config)
{
    if (config.self.empty())
        return "no RP name given to the module (load it as -M ha:NAME)";
    if (config.rps.size() != 2)
        return "the pair needs exactly two 'bgp ha rp' entries, found " +
               std::to_string(config.rps.size());
    if (config.rps[0].name == config.rps[1].name)
        return "both 'bgp ha rp' entries are named '" + config.rps[0].name + "'";
    if (config.rps[0].name != config.self && config.rps[1].name != config.self)
        return "no 'bgp ha rp " + config.self + "' entry for this RP";
    if (config.rps[0].tcp != config.rps[1].tcp)
        return "one RP listens on a unix socket and the other on TCP: use the same kind for both";
    if (config.key.empty())
        return "no key configured (bgp ha key)";
    if (config.key.size() < kMinKeyLength || config.key.size() > kMaxKeyLength)
        return "the key must have 16 to 128 characters";
    if (config.interval_ms == 0 || config.multiplier < 2)
        return "heartbeat interval must be positive and multiplier at least 2";
    return {};
}

}  // namespace frr_ha
