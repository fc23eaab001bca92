// The extern "C" face of include/frr_ha/cross_host.h: the pair node's
// CrossHostStreams, and the tap's hand-over into a relay.
#include "frr_ha/cross_host.h"

#include <fcntl.h>

#include "c_api_node.hpp"
#include "tcp_repair.hpp"
#include "c_api_taps.hpp"
#include "write_gate.hpp"

using namespace frr_ha;

extern "C" {

bool frr_ha_cross_host_hand_over(frr_ha_node *node, frr_ha_taps *taps, int fd,
                                 const frr_ha_handover *handover,
                                 const frr_ha_handover_links *links, const int conn[2],
                                 size_t max_message, bool receive_only, uint64_t *session,
                                 char *why, size_t why_len)
{
    UniqueFd in(links->input[0]), in_far(links->input[1]);
    UniqueFd out(links->sendlog[0]), out_far(links->sendlog[1]);
    UniqueFd conn_tap(conn[0]), conn_far(conn[1]);
    SessionTap &tap = taps->get(fd);
    tap.set_max_message(max_message);
    if (!said(tap.attachable(receive_only), why, why_len))
        return false;
    // A standby host that says when it caught up gets the session ungated
    // until then (docs/dual-rp.md, "Catching up, then protected"); an older
    // one gets it shut at the history's first byte: the peer gets nothing
    // more until the standby host confirms it holds it.
    auto gate = WriteGate::make(0, !node->node.partner().stream_protection);
    if (!gate)
        return said(Status::fail(gate.why()), why, why_len);
    StreamSessionInfo info;
    info.epoch = handover->epoch;
    info.vrf = handover->vrf;
    info.neighbor = handover->neighbor;
    info.receive_only = receive_only;
    // The socket as the tap is attached (under the session's lock, so no
    // byte moves in between): the standby host's image of the connection.
    // Without CAP_NET_ADMIN there is none, and the streams go all the same.
    std::optional<CrossHostStreams::SocketAtAttach> socket;
    if (auto captured = capture(fd)) {
        socket = CrossHostStreams::SocketAtAttach{*captured, tap.written(), tap.consumed(), {}};
        if (node->hold)
            if (auto held = HeldConnection::of_socket(fd))
                socket->connection = *held;
    }
    else
        node->host.log(LogLevel::Warning,
                       std::string("no image of ") + handover->neighbor +
                           "'s connection for the standby host: " + captured.why());
    auto added = node->cross.add_relay(info, std::move(in_far), std::move(out_far),
                                       std::move(conn_far), *gate, std::move(socket));
    if (!added)
        return said(Status::fail(added.why()), why, why_len);
    Status attached = tap.attach(std::move(in), std::move(out), std::move(conn_tap),
                                 receive_only, *gate);
    if (!attached) {
        // The relay sees the links closed at its first pump and ends.
        node->cross.pump(*added);
        return said(attached, why, why_len);
    }
    *session = *added;
    return true;
}

void frr_ha_cross_host_progress(frr_ha_node *node, frr_ha_taps *taps, int fd, uint64_t session)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    if (!tap)
        return;
    if (auto captured = capture(fd))
        node->cross.progress(session, *captured, tap->written(), tap->consumed());
}

bool frr_ha_cross_host_hold_start(frr_ha_node *node, uint16_t queue,
                                  void (*privileged)(void (*call)(void *), void *arg), char *why,
                                  size_t why_len)
{
    if (node->hold)
        return true;
    auto installed = AckHold::install(queue);
    if (!installed)
        return said(Status::fail(installed.why()), why, why_len);
    node->hold = std::move(*installed);
    if (privileged)
        node->hold->set_privileged([privileged](const std::function<void()> &call) {
            frr_ha::CHost::run_through(privileged, call);
        });
    node->cross.set_hold(node->hold.get());
    return true;
}

void frr_ha_cross_host_release_cut(frr_ha_node *node)
{
    node->cross.release_cut("this RP writes to peers again");
}

void frr_ha_cross_host_hold_stop(frr_ha_node *node)
{
    node->cross.set_hold(nullptr);
    node->hold.reset();
}

int frr_ha_cross_host_hold_fd(const frr_ha_node *node)
{
    return node->hold ? node->hold->fd() : -1;
}

void frr_ha_cross_host_hold_readable(frr_ha_node *node)
{
    if (node->hold)
        node->hold->on_readable();
}

size_t frr_ha_cross_host_end_lagging(frr_ha_node *node, unsigned int lag_limit_ms)
{
    return node->cross.end_lagging(std::chrono::milliseconds(lag_limit_ms),
                                   std::chrono::steady_clock::now());
}

bool frr_ha_cross_host_pump(frr_ha_node *node, uint64_t session)
{
    return node->cross.pump(session);
}

bool frr_ha_cross_host_relay_fds(const frr_ha_node *node, uint64_t session, int fds[3])
{
    return node->cross.relay_fds(session, fds);
}

bool frr_ha_cross_host_receiver_get(const frr_ha_node *node, uint64_t session,
                                    frr_ha_cross_host_receiver *out)
{
    auto st = node->cross.receiver_state(session);
    if (!st)
        return false;
    *out = frr_ha_cross_host_receiver{};
    copy_text(out->vrf, sizeof(out->vrf), st->info.vrf);
    copy_text(out->neighbor, sizeof(out->neighbor), st->info.neighbor);
    out->epoch = st->info.epoch;
    out->receive_only = st->info.receive_only;
    out->read_fd = st->read_fd;
    out->write_fd = st->write_fd;
    out->shadow_wanted = st->shadow_wanted;
    out->history_complete = st->history_complete;
    out->peer_acked = st->peer_acked;
    return true;
}

bool frr_ha_cross_host_may_continue(const frr_ha_node *node, uint64_t session)
{
    return node->cross.may_continue(session);
}

bool frr_ha_cross_host_start_shadow(frr_ha_node *node, uint64_t session, int fds[3], char *why,
                                    size_t why_len)
{
    auto started = node->cross.start_shadow(session);
    if (!started)
        return said(Status::fail(started.why()), why, why_len);
    for (int i = 0; i < 3; i++)
        fds[i] = (*started)[i].release();
    return true;
}

bool frr_ha_cross_host_shadow_follow(const frr_ha_node *node, frr_ha_taps *taps, uint64_t session,
                                     int fd)
{
    auto st = node->cross.receiver_state(session);
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    if (!st || !tap || !st->image || !st->progress)
        return false;
    tap->follow_remote(*st->image, *st->progress, st->progress_at);
    if (!st->history_complete || tap->history_complete())
        return false;
    return static_cast<bool>(tap->remote_history_complete());
}

void frr_ha_cross_host_receiver_flush(frr_ha_node *node, uint64_t session)
{
    node->cross.receiver_flush(session);
}

void frr_ha_cross_host_receiver_word(frr_ha_node *node, uint64_t session)
{
    node->cross.receiver_word(session);
}

void frr_ha_cross_host_counters_get(const frr_ha_node *node, frr_ha_cross_host_counters *out)
{
    CrossHostStreams::Counters c = node->cross.counters();
    std::size_t relays = 0, receivers = 0;
    for (const auto &v : node->cross.view())
        (v.relay ? relays : receivers)++;
    *out = frr_ha_cross_host_counters{};
    out->relays = relays;
    out->relays_started = c.relays_started;
    out->relays_ended = c.relays_ended;
    out->receivers = receivers;
    out->receivers_started = c.receivers_started;
    out->receivers_ended = c.receivers_ended;
    out->chunks_refused = c.chunks_refused;
    out->catching_up = c.catching_up;
    out->bytes_ahead_of_links = c.ahead_of_links;
    out->bytes_confirmed = c.bytes_confirmed;
    out->bytes_held = c.bytes_held;
    out->bytes_in_flight = c.in_flight;
    out->hold_on = static_cast<bool>(node->hold);
    out->held_sessions = c.held_sessions;
    out->hold_refused = c.hold_refused;
    out->hold_lagging = c.hold_lagging;
    if (node->hold) {
        const AckHold::Counters &h = node->hold->counters();
        out->hold_queued = h.queued;
        out->hold_waited = h.held;
        out->hold_lost = h.lost;
    }
}

bool frr_ha_cross_host_stream_get(const frr_ha_node *node, size_t index,
                                  frr_ha_cross_host_stream *out)
{
    std::vector<CrossHostStreams::View> views = node->cross.view();
    if (index >= views.size())
        return false;
    const CrossHostStreams::View &v = views[index];
    *out = frr_ha_cross_host_stream{};
    out->session = v.session;
    out->relay = v.relay;
    copy_text(out->vrf, sizeof(out->vrf), v.vrf);
    copy_text(out->neighbor, sizeof(out->neighbor), v.neighbor);
    out->received = v.received;
    out->sent = v.sent;
    out->offered_received = v.offered_received;
    out->offered_sent = v.offered_sent;
    out->messages_received = v.messages_received;
    out->messages_sent = v.messages_sent;
    out->updates_sent = v.updates_sent;
    out->image_sent = v.image_sent;
    out->hold_wait_ms = v.hold_wait_ms;
    out->is_protected = v.is_protected;
    out->has_image = v.image.has_value();
    if (v.image) {
        copy_text(out->local, sizeof(out->local), v.image->local.to_string());
        copy_text(out->remote, sizeof(out->remote), v.image->remote.to_string());
        out->mss = v.image->options.mss;
        out->snd_wscale = v.image->options.snd_wscale;
        out->rcv_wscale = v.image->options.rcv_wscale;
        out->sack = v.image->options.sack;
        out->timestamps = v.image->options.timestamps;
    }
    if (v.progress) {
        out->peer_acked = v.progress->peer_acked;
        out->received_acked = v.progress->received_acked;
    }
    out->progress_age_ms = v.progress_age_ms;
    return true;
}

}  // extern "C"
