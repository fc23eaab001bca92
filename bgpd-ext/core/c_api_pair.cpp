// The extern "C" face of PairNode: converts the C structs and callbacks of
// frr_ha/pair.h to the core's types. No decisions here.
#include "frr_ha/pair.h"

#include "c_api_node.hpp"

#include <cstring>
#include <exception>

namespace frr_ha {

PairConfig to_core(const frr_ha_pair_config &c)
{
    PairConfig out;
    out.self = c.self;
    for (unsigned i = 0; i < c.n_rps && i < 2; i++) {
        const auto &r = c.rps[i];
        RpConfig rp;
        rp.name = r.name;
        rp.tcp = r.tcp;
        rp.priority = r.priority;
        const std::string host(r.host);
        const bool v6 = host.find(':') != std::string::npos;
        rp.address = r.tcp ? "tcp:" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(r.port)
                           : "unix:" + std::string(r.unix_path);
        out.rps.push_back(rp);
    }
    out.key = c.key;
    out.interval_ms = c.interval_ms;
    out.multiplier = c.multiplier;
    out.hang_detection_ms = c.hang_detection_ms;
    out.switchover_on_link_loss = c.switchover_on_link_loss;
    return out;
}

frr_ha_role to_c(Role role)
{
    switch (role) {
    case Role::Active:
        return FRR_HA_ROLE_ACTIVE;
    case Role::Standby:
        return FRR_HA_ROLE_STANDBY;
    case Role::Init:
        break;
    }
    return FRR_HA_ROLE_INIT;
}

frr_ha_log_level to_c(LogLevel level)
{
    switch (level) {
    case LogLevel::Warning:
        return FRR_HA_LOG_WARNING;
    case LogLevel::Error:
        return FRR_HA_LOG_ERROR;
    case LogLevel::Info:
        break;
    }
    return FRR_HA_LOG_INFO;
}

}  // namespace frr_ha

using namespace frr_ha;

extern "C" {

void frr_ha_config_defaults(frr_ha_pair_config *config)
{
    std::memset(config, 0, sizeof(*config));
    config->interval_ms = FRR_HA_DEFAULT_INTERVAL_MS;
    config->multiplier = FRR_HA_DEFAULT_MULTIPLIER;
    config->hang_detection_ms = FRR_HA_DEFAULT_HANG_DETECTION_MS;
    config->switchover_on_link_loss = true;
}

bool frr_ha_config_check(const frr_ha_pair_config *config, char *why, std::size_t why_len)
{
    const auto problem = config_problem(to_core(*config));
    copy_text(why, why_len, problem);
    return problem.empty();
}

frr_ha_node *frr_ha_node_new(const frr_ha_host_ops *ops, void *ctx,
                             const frr_ha_pair_config *config, std::uint64_t now_ms)
{
    try {
        return new frr_ha_node(*ops, ctx, *config, now_ms);  // owned by the C caller
    } catch (const std::exception &) {
        return nullptr;
    }
}

void frr_ha_node_free(frr_ha_node *node)
{
    delete node;  // the C side's matching release of frr_ha_node_new
}

void frr_ha_node_reconfigure(frr_ha_node *node, const frr_ha_pair_config *config,
                             std::uint64_t now_ms)
{
    node->node.reconfigure(to_core(*config), now_ms);
}

void frr_ha_node_channel_opened(frr_ha_node *node, std::uint64_t ch, bool connected,
                                std::uint64_t now_ms)
{
    node->node.channel_opened(ch, now_ms,
                              connected ? ChannelSide::Connected : ChannelSide::Accepted);
}

void frr_ha_node_channel_bytes(frr_ha_node *node, std::uint64_t ch, const void *data,
                               std::size_t len, std::uint64_t now_ms)
{
    node->node.channel_bytes(ch, data, len, now_ms);
}

void frr_ha_node_channel_closed(frr_ha_node *node, std::uint64_t ch, std::uint64_t now_ms)
{
    node->node.channel_closed(ch, now_ms);
}

void frr_ha_node_channel_backlog(frr_ha_node *node, std::uint64_t ch, std::size_t queued,
                                 std::uint64_t now_ms)
{
    node->node.channel_backlog(ch, queued, now_ms);
}

void frr_ha_node_tick(frr_ha_node *node, std::uint64_t now_ms)
{
    node->node.tick(now_ms);
}

void frr_ha_node_partner_exited(frr_ha_node *node, std::uint64_t now_ms)
{
    node->node.partner_exited(now_ms);
}

void frr_ha_node_partner_died(frr_ha_node *node, std::uint64_t now_ms)
{
    node->node.partner_died(now_ms);
}

bool frr_ha_node_should_connect(const frr_ha_node *node)
{
    return node->node.should_connect();
}

bool frr_ha_node_should_connect_data(const frr_ha_node *node)
{
    return node->node.should_connect_data();
}

void frr_ha_node_data_channel_opened(frr_ha_node *node, std::uint64_t ch, std::uint64_t now_ms)
{
    node->node.channel_opened(ch, now_ms, ChannelSide::Connected, ChannelPurpose::Data);
}

bool frr_ha_node_data_channel_up(const frr_ha_node *node)
{
    return node->node.data_channel_up();
}

frr_ha_role frr_ha_node_role(const frr_ha_node *node)
{
    return to_c(node->node.role());
}

bool frr_ha_node_request_switchover(frr_ha_node *node, std::uint64_t now_ms, char *why,
                                    std::size_t why_len)
{
    const auto problem = node->node.request_switchover(now_ms);
    copy_text(why, why_len, problem);
    return problem.empty();
}

void frr_ha_node_service_link(frr_ha_node *node, const char *lost_interface,
                              std::uint64_t now_ms)
{
    node->node.service_link(lost_interface ? lost_interface : "", now_ms);
}

bool frr_ha_node_override_lease(frr_ha_node *node, std::uint64_t now_ms, char *why,
                                std::size_t why_len)
{
    const auto problem = node->node.override_lease(now_ms);
    copy_text(why, why_len, problem);
    return problem.empty();
}

void frr_ha_node_drop_channels(frr_ha_node *node, const char *why, std::uint64_t now_ms)
{
    node->node.drop_channels(why ? why : "operator request", now_ms);
}

void frr_ha_node_status(const frr_ha_node *node, frr_ha_status *out)
{
    const auto &n = node->node;
    std::memset(out, 0, sizeof(*out));
    copy_text(out->rp, sizeof(out->rp), n.config().self);
    out->role = to_c(n.role());
    out->role_name = name_of(n.role()).data();
    out->epoch = n.epoch();
    out->local_mode = n.local_mode();
    out->priority = n.self_rp() ? n.self_rp()->priority : 0;
    out->ready = n.ready();
    copy_text(out->not_ready_reason, sizeof(out->not_ready_reason), n.not_ready_reason());
    copy_text(out->config_error, sizeof(out->config_error), n.config_error());
    out->interval_ms = n.config().interval_ms;
    out->multiplier = n.config().multiplier;
    out->detection_ms = static_cast<std::uint32_t>(n.detection_ms());
    out->channel = name_of(n.channel_state()).data();
    if (const auto *p = n.partner_rp()) {
        out->partner_configured = true;
        copy_text(out->partner_name, sizeof(out->partner_name), p->name);
    }
    const auto &pv = n.partner();
    out->partner_known = pv.known;
    out->partner_role = to_c(pv.role);
    out->partner_role_name = name_of(pv.role).data();
    out->partner_epoch = pv.epoch;
    out->partner_ready = pv.ready;
    copy_text(out->partner_not_ready_reason, sizeof(out->partner_not_ready_reason),
              pv.not_ready_reason);
    out->partner_up_since_unix_ms = pv.up_since_unix_ms;
    out->partner_sessions_unprotected = pv.sessions_unprotected;
    out->sync_state = name_of(n.sync_state()).data();
    out->sync_items_received = n.sync_items_received();
    out->sync_items_total = n.sync_items_total();
    const auto &c = n.counters();
    out->counters = frr_ha_counters{c.frames_sent,       c.frames_received,
                                    c.bytes_sent,        c.bytes_received,
                                    c.channels_up,       c.channel_drops,
                                    c.auth_failures,     c.version_mismatches,
                                    c.malformed_frames,  c.oversized_frames,
                                    c.handshake_timeouts, c.partners_refused,
                                    c.backlog_drops,     c.switchovers,
                                    c.tls_handshake_failures, c.reflections_refused,
                                    c.records_rejected,  c.truncations,
                                    c.closed_without_notify,
                                    c.data_channels_up,  c.data_channels_refused,
                                    c.stream_pieces_refused};
    copy_text(out->channel_tls_version, sizeof(out->channel_tls_version),
              n.channel_tls_version());
    copy_text(out->channel_cipher, sizeof(out->channel_cipher), n.channel_cipher());
    out->data_channel_up = n.data_channel_up();
    out->channel_id = n.control_channel_id();
    out->data_channel_id = n.data_channel_id();
    copy_text(out->last_refusal, sizeof(out->last_refusal), n.last_refusal());
    out->last_refusal_unix_ms = n.last_refusal_unix_ms();
    out->hang_detection_ms = static_cast<std::uint32_t>(n.hang_detection_ms());
    out->fencing = n.fencing_state().data();
    const auto &p = n.partner_progress();
    out->progress_watching = p.watching;
    out->progress_heartbeats = p.heartbeats;
    out->progress_last_seq = p.last_seq;
    out->progress_io = p.io_progress;
    out->progress_io_reported = p.io_reported;
    out->progress_last_heartbeat_ms = p.last_heartbeat;
    out->progress_last_io_advance_ms = p.last_io_advance;
    out->progress_max_heartbeat_gap_ms = p.max_heartbeat_gap_ms;
    out->progress_max_io_stall_ms = p.max_io_stall_ms;
    out->progress_max_own_tick_gap_ms = n.max_own_tick_gap_ms();
}

std::size_t frr_ha_node_fence_count(const frr_ha_node *node)
{
    return node->node.fences().size();
}

bool frr_ha_node_fence_get(const frr_ha_node *node, std::size_t index, frr_ha_fence *out)
{
    const auto &all = node->node.fences();
    if (index >= all.size())
        return false;
    const auto &r = all[index];
    std::memset(out, 0, sizeof(*out));
    out->at_unix_ms = r.at_unix_ms;
    out->pid = r.pid;
    copy_text(out->reason, sizeof(out->reason), r.reason);
    copy_text(out->error, sizeof(out->error), r.error);
    out->partner_died = r.partner_died;
    out->died_after_ms = r.died_after_ms;
    out->took_over = r.took_over;
    out->active_after_ms = r.active_after_ms;
    return true;
}

std::size_t frr_ha_node_switchover_count(const frr_ha_node *node)
{
    return node->node.switchovers().size();
}

bool frr_ha_node_switchover_get(const frr_ha_node *node, std::size_t index,
                                frr_ha_switchover *out)
{
    const auto &all = node->node.switchovers();
    if (index >= all.size())
        return false;
    const auto &r = all[index];
    *out = frr_ha_switchover{r.epoch, name_of(r.reason).data(), r.at_unix_ms, r.duration_ms};
    return true;
}

}  // extern "C"
