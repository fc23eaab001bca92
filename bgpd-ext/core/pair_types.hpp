// The vocabulary of the HA pair, shared by the node and its host.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace frr_ha {

using ChannelId = std::uint64_t;
using Millis = std::uint64_t;  // a monotonic clock, in milliseconds

enum class Role { Init, Active, Standby };
enum class ChannelState { Down, Handshake, Up };
enum class SyncState { None, Syncing, Done };
enum class SwitchoverReason { Planned, PartnerLost, ChannelHeal };
enum class LogLevel { Info, Warning, Error };

std::string_view name_of(Role role);
std::string_view name_of(ChannelState state);
std::string_view name_of(SyncState state);
std::string_view name_of(SwitchoverReason reason);

struct RpConfig {
    std::string name;
    std::string address;  // "unix:/path" or "tcp:[addr]:port", as shown
    bool tcp = false;
    std::uint8_t priority = 100;
};

struct PairConfig {
    std::string self;  // this process's RP name (from -M ha:NAME)
    std::vector<RpConfig> rps;
    std::string key;
    std::uint32_t interval_ms = 100;
    std::uint32_t multiplier = 3;
};

// Why this configuration cannot form a pair, or "" when it can.
std::string config_problem(const PairConfig &config);

// A session the active owns, as the standby needs to know it.
struct SessionItem {
    std::string vrf;
    std::string neighbor;
    std::uint32_t remote_as = 0;
    std::string state;
};

struct Counters {
    std::uint64_t frames_sent = 0, frames_received = 0;
    std::uint64_t bytes_sent = 0, bytes_received = 0;
    std::uint64_t channels_up = 0, channel_drops = 0;
    std::uint64_t auth_failures = 0, version_mismatches = 0;
    std::uint64_t malformed_frames = 0, oversized_frames = 0;
    std::uint64_t handshake_timeouts = 0, partners_refused = 0;
    std::uint64_t backlog_drops = 0, switchovers = 0;
};

struct SwitchoverRecord {
    std::uint64_t epoch = 0;
    SwitchoverReason reason = SwitchoverReason::Planned;
    std::int64_t at_unix_ms = 0;
    std::uint32_t duration_ms = 0;
};

}  // namespace frr_ha
