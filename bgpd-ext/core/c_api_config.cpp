// The extern "C" face of the pair's one configuration (config_sync.hpp).
// Conversions only.
#include "frr_ha/pair.h"

#include "c_api_node.hpp"

#include <cstring>

using namespace frr_ha;

extern "C" {

bool frr_ha_node_config_forward(frr_ha_node *node, std::uint64_t session, const char *line,
                                std::uint64_t *seq, char *why, std::size_t why_len)
{
    std::string why_not;
    auto sent = node->node.forward_config_line(session, line, &why_not);
    copy_text(why, why_len, why_not);
    if (sent)
        *seq = *sent;
    return sent.has_value();
}

frr_ha_config_answer frr_ha_node_config_answer(const frr_ha_node *node, std::uint64_t seq,
                                               char *output, std::size_t output_len)
{
    const auto a = node->node.config_answer(seq);
    copy_text(output, output_len, a.output);
    switch (a.kind) {
    case ConfigAnswer::Kind::Accepted:
        return FRR_HA_CONFIG_ACCEPTED;
    case ConfigAnswer::Kind::Refused:
        return FRR_HA_CONFIG_REFUSED;
    case ConfigAnswer::Kind::Lost:
        return FRR_HA_CONFIG_LOST;
    case ConfigAnswer::Kind::Pending:
        break;
    }
    return FRR_HA_CONFIG_PENDING;
}

void frr_ha_node_config_timed_out(frr_ha_node *node, std::uint64_t seq, std::uint32_t waited_ms)
{
    node->node.config_answer_timed_out(seq, waited_ms);
}

void frr_ha_node_config_changed(frr_ha_node *node)
{
    node->node.config_changed();
}

void frr_ha_node_config_session_end(frr_ha_node *node, std::uint64_t session)
{
    node->node.end_config_session(session);
}

void frr_ha_node_config_status(const frr_ha_node *node, frr_ha_config_status *out)
{
    const auto v = node->node.config_view();
    std::memset(out, 0, sizeof(*out));
    out->state = name_of(v.state).data();
    out->in_step = v.state == ConfigState::InStep;
    out->generation = v.generation;
    copy_text(out->digest, sizeof(out->digest), v.digest);
    out->partner_known = v.partner_known;
    out->partner_generation = v.partner_generation;
    copy_text(out->partner_digest, sizeof(out->partner_digest), v.partner_digest);
    copy_text(out->last_problem, sizeof(out->last_problem), v.last_problem);
    out->lines_forwarded = v.lines_forwarded;
    out->lines_refused = v.lines_refused;
    out->lines_alone = v.lines_alone;
    out->answers_late = v.answers_late;
    out->lines_mirrored = v.lines_mirrored;
    out->adoptions = v.adoptions;
    out->adoption_lines = v.adoption_lines;
    out->last_adoption_ms = v.last_adoption_ms;
    out->differences = v.differences.size();
}

bool frr_ha_node_config_difference(const frr_ha_node *node, std::size_t index, char *line,
                                   std::size_t line_len)
{
    const auto v = node->node.config_view();
    if (index >= v.differences.size())
        return false;
    copy_text(line, line_len, v.differences[index]);
    return true;
}

}  // extern "C"
