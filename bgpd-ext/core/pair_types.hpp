// The vocabulary of the HA pair, shared by the node and its host.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace frr_ha {

using ChannelId = std::uint64_t;
using Millis = std::uint64_t;  // a monotonic clock, in milliseconds

// Chosen from the heartbeat gaps measured under a full-table load on a
// 2-core machine (docs/ha-pair.md, "Hung active").
constexpr std::uint32_t kDefaultHangDetectionMs = 3000;

enum class Role { Init, Active, Standby };
enum class ChannelState { Down, Handshake, Up };
enum class SyncState { None, Syncing, Done };
enum class SwitchoverReason { Planned, PartnerLost, ChannelHeal, PartnerHung, LinkLoss };
enum class LogLevel { Info, Warning, Error };
// What a channel carries: the pair's control (HELLO, STATUS, sync,
// configuration, lease), or (dual-RP) the TF sessions' streams beside it.
enum class ChannelPurpose { Control, Data };

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
    // How long a local-mode active may make no progress (no heartbeat from
    // its main thread, or no advance of its I/O thread's counter) before
    // the standby fences it; 0: never. See docs/ha-pair.md for the default.
    std::uint32_t hang_detection_ms = kDefaultHangDetectionMs;
    // Dual-RP: an active whose host lost the link of its service
    // addresses' interface hands the role to a ready standby
    // (docs/dual-rp.md, "The service link").
    bool switchover_on_link_loss = true;
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
    // The channel's TLS 1.3 session (secure_channel.hpp): handshakes
    // refused (any cause, wrong key included), connecting sides that named
    // this RP itself, records that failed their integrity check after the
    // handshake, streams that ended inside a TLS record or a frame, and
    // streams that ended without the partner's close_notify (a crash or a
    // cut connection look alike).
    std::uint64_t tls_handshake_failures = 0, reflections_refused = 0;
    std::uint64_t records_rejected = 0, truncations = 0, closed_without_notify = 0;
    // The data channel (dual-RP): times it came up, data channels refused
    // (no control channel up, local mode), stream pieces refused on
    // arrival (remote_streams_wire.hpp).
    std::uint64_t data_channels_up = 0, data_channels_refused = 0;
    std::uint64_t stream_pieces_refused = 0;
};

// What the standby knows of its partner's progress (local mode), kept
// across channel drops while the same active holds the ownership lock.
struct PartnerProgress {
    bool watching = false;        // this RP is standby of an active partner
    std::uint64_t heartbeats = 0;  // STATUS frames received while watching
    std::uint64_t last_seq = 0;    // the partner's last STATUS sequence number
    bool io_reported = false;      // the partner sends its I/O thread's counter
    std::uint64_t io_progress = 0;
    // When the main thread last showed life: a STATUS, or a handshake
    // frame from the same process on a new channel.
    Millis last_heartbeat = 0;
    Millis last_status = 0;        // when the last STATUS arrived
    // Start of the current run of STATUS frames showing the same I/O
    // counter (restarted after a pause of the main thread: the I/O thread
    // gets its chance to run again too).
    Millis last_io_advance = 0;
    std::uint32_t max_heartbeat_gap_ms = 0;
    std::uint32_t max_io_stall_ms = 0;
    // This RP's own stalls: a late tick restarts the silence clock, since
    // a standby that could not run could not hear either (the partner's
    // reconnections need it).
    Millis own_resumed = 0;
};

// One fencing of a hung partner (local mode): the standby killed it, waited
// for it to die, and took over.
struct FenceRecord {
    std::int64_t at_unix_ms = 0;
    int pid = 0;                   // 0: no verified partner process to fence
    std::string reason;            // "no heartbeat for N ms", ...
    std::string error;             // why the signal could not be sent
    bool partner_died = false;
    std::uint32_t died_after_ms = 0;     // detection -> the partner's death
    bool took_over = false;
    std::uint32_t active_after_ms = 0;   // detection -> this RP active
};

struct SwitchoverRecord {
    std::uint64_t epoch = 0;
    SwitchoverReason reason = SwitchoverReason::Planned;
    std::int64_t at_unix_ms = 0;
    std::uint32_t duration_ms = 0;
};

}  // namespace frr_ha
