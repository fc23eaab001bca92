// The extern "C" face of the pair's lease (frr_ha/pair.h): conversions only.
#include "frr_ha/pair.h"

#include "c_api_node.hpp"

#include <cstring>

using namespace frr_ha;

extern "C" {

void frr_ha_node_lease_timer(frr_ha_node *node, std::uint64_t now_ms)
{
    node->node.lease_timer(now_ms);
}

bool frr_ha_node_may_write(const frr_ha_node *node)
{
    return node->node.may_write();
}

void frr_ha_node_lease_status(const frr_ha_node *node, frr_ha_lease_status *out)
{
    const auto v = node->node.lease_view();
    std::memset(out, 0, sizeof(*out));
    copy_text(out->role, sizeof(out->role), v.role);
    copy_text(out->note, sizeof(out->note), v.note);
    out->in_force = v.in_force;
    out->may_write = v.may_write;
    out->valid_for_ms = v.valid_for_ms;
    out->may_take_over_in_ms = v.may_take_over_in_ms;
    out->lease_ms = v.lease_ms;
    out->requests_sent = v.requests_sent;
    out->grants_received = v.grants_received;
    out->grants_refused = v.grants_refused;
    out->lapses = v.lapses;
    out->requests_received = v.requests_received;
    out->grants_given = v.grants_given;
    out->requests_refused = v.requests_refused;
    out->overrides = v.overrides;
    copy_text(out->last_refusal, sizeof(out->last_refusal), v.last_refusal);
    out->last_takeover_wait_ms = v.last_takeover_wait_ms;
    out->last_lapse_at_ms = v.last_lapse_at;
    out->last_takeover_at_ms = v.last_takeover_at;
}

}  // extern "C"
