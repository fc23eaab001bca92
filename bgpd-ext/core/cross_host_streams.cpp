#include "cross_host_streams.hpp"

#include <utility>

namespace frr_ha {

CrossHostStreams::CrossHostStreams(Channel channel, Host host, std::size_t budget,
                                   std::size_t window)
    : channel_(std::move(channel)), host_(std::move(host)), budget_(budget), window_(window)
{
}

// --- the active ---------------------------------------------------------------

Result<std::uint64_t> CrossHostStreams::add_relay(StreamSessionInfo info, UniqueFd input_link,
                                                  UniqueFd sendlog_link, UniqueFd handover_conn,
                                                  std::shared_ptr<WriteGate> gate,
                                                  std::optional<SocketAtAttach> socket)
{
    info.session = next_session_++;
    // The standby must know the session before its first chunk.
    if (!channel_.session(info))
        return Result<std::uint64_t>::fail("the data channel to the standby host is down");
    std::uint64_t session = info.session;
    auto [it, added] = relays_.try_emplace(
        session, info,
        RemoteStreamRelay(session, std::move(input_link), std::move(sendlog_link),
                          std::move(handover_conn), std::move(gate), window_));
    (void)added;
    it->second.socket = std::move(socket);
    counters_.relays_started++;
    return session;
}

std::size_t CrossHostStreams::in_flight() const
{
    std::size_t total = 0;
    for (const auto &[session, r] : relays_)
        total += r.in_flight();
    return total;
}

// Puts the relay's chunks on the channel while the budget lasts. False: the
// channel is down.
bool CrossHostStreams::send_chunks(Relay &r)
{
    std::size_t flying = in_flight();
    while (flying < budget_) {
        auto chunk = r.relay.next_chunk(std::min(kChunk, budget_ - flying));
        if (!chunk)
            return true;
        if (!channel_.chunk(*chunk))
            return false;
        r.chunked += chunk->bytes.size();
        flying += chunk->bytes.size();
    }
    r.room_wanted = true;  // the budget is spent: a confirmation frees it
    return true;
}

bool CrossHostStreams::pump(std::uint64_t session)
{
    auto it = relays_.find(session);
    if (it == relays_.end())
        return false;
    Relay &r = it->second;
    Status pumped = r.relay.pump();
    if (!pumped) {
        end_relay(it, pumped.why(), true, false);
        return false;
    }
    if (auto end = r.relay.take_history_end())
        r.history_end = end;
    if (!r.image_sent && r.history_end && r.socket)
        send_image(session, r);
    if (!send_chunks(r)) {
        end_relay(it, "the data channel to the standby host is down", false, true);
        return false;
    }
    // A full window leaves bytes in the links: stop watching them until a
    // confirmation makes room (else their readiness would spin the loop).
    if (r.relay.offered_end(StreamKind::received) - r.relay.confirmed_end(StreamKind::received) >=
            window_ ||
        r.relay.offered_end(StreamKind::sent) - r.relay.confirmed_end(StreamKind::sent) >= window_)
        r.room_wanted = true;
    return true;
}

// The socket's sequence numbers, tied to the streams' offsets: at the
// attach, the tap had written history_sent_bytes of the sent stream and
// consumed history_received_bytes of the received one.
void CrossHostStreams::send_image(std::uint64_t session, Relay &r)
{
    ConnectionImage image = image_at_session_up(r.socket->captured, r.history_end->history_sent_bytes,
                                                r.history_end->history_received_bytes);
    r.image_sent = channel_.image(SessionImage{session, image});
}

void CrossHostStreams::progress(std::uint64_t session, const TcpConnectionState &captured,
                                std::uint64_t written, std::uint64_t consumed,
                                std::uint64_t held_at)
{
    auto it = relays_.find(session);
    if (it == relays_.end() || !it->second.image_sent)
        return;
    const Relay &r = it->second;
    // Stream offsets of what the tap has written and consumed now.
    std::uint64_t sent = r.history_end->history_sent_bytes + (written - r.socket->written);
    std::uint64_t received =
        r.history_end->history_received_bytes + (consumed - r.socket->consumed);
    channel_.progress(SessionProgress{session, progress_of(captured, sent, received, held_at)});
}

bool CrossHostStreams::relay_fds(std::uint64_t session, int fds[3]) const
{
    auto it = relays_.find(session);
    if (it == relays_.end())
        return false;
    const Relay &r = it->second;
    bool hold = r.room_wanted;
    fds[0] = hold ? -1 : r.relay.input_fd();
    fds[1] = hold ? -1 : r.relay.sendlog_fd();
    fds[2] = r.relay.handover_fd();
    return true;
}

void CrossHostStreams::on_ack(const StreamAck &ack)
{
    auto it = relays_.find(ack.session);
    if (it == relays_.end())
        return;  // ended meanwhile: acks cross a StreamEnd
    Relay &r = it->second;
    std::uint64_t before = r.relay.confirmed_end(StreamKind::received) +
                           r.relay.confirmed_end(StreamKind::sent);
    if (Status ok = r.relay.confirmed(ack); !ok) {
        end_relay(it, "the standby's confirmation was refused: " + ok.why(), true, true);
        return;
    }
    counters_.bytes_confirmed += r.relay.confirmed_end(StreamKind::received) +
                                 r.relay.confirmed_end(StreamKind::sent) - before;
    // Room again, in this session's window and in the budget: every relay
    // that waited for it reads on (their links may hold what the window
    // refused; the budget is shared).
    std::vector<std::uint64_t> waiting;
    for (auto &[session, relay] : relays_)
        if (relay.room_wanted) {
            relay.room_wanted = false;
            waiting.push_back(session);
        }
    for (std::uint64_t session : waiting)
        if (pump(session) && host_.relay_changed)
            host_.relay_changed(session);
}

void CrossHostStreams::end_relay(std::map<std::uint64_t, Relay>::iterator it,
                                 const std::string &why, bool tell_standby, bool tell_tap)
{
    std::uint64_t session = it->first;
    if (tell_standby)
        channel_.end(StreamEnd{session, why});
    if (tell_tap)
        it->second.relay.standby_ended(why);
    if (host_.log)
        host_.log(LogLevel::Info, "streams of " + it->second.info.neighbor +
                                      " to the standby host end: " + why);
    relays_.erase(it);  // the links' far ends close: the tap drops them
    counters_.relays_ended++;
    if (host_.relay_changed)
        host_.relay_changed(session);
}

void CrossHostStreams::end_relays(const std::string &why)
{
    while (!relays_.empty())
        end_relay(relays_.begin(), why, false, true);
}

// --- the standby ------------------------------------------------------------------

void CrossHostStreams::on_session(const StreamSessionInfo &info)
{
    auto old = receivers_.find(info.session);
    if (old != receivers_.end())
        end_receiver(old, "a new session took its number", false);
    receivers_.try_emplace(info.session, info);
    counters_.receivers_started++;
    if (host_.log)
        host_.log(LogLevel::Info, "receiving the streams of " + info.neighbor +
                                      (info.vrf.empty() ? "" : " vrf " + info.vrf) +
                                      " from the active host");
}

// Takes what the receiver holds: until the standby's shadow runs on it, its
// bytes are framed into BGP messages and counted. A stream that does not
// frame was not a BGP session's.
Status CrossHostStreams::deliver(Receiver &r)
{
    for (StreamKind kind : {StreamKind::received, StreamKind::sent}) {
        BgpStreamFramer &framer =
            kind == StreamKind::received ? r.received_framer : r.sent_framer;
        std::string bytes = r.streams.undelivered(kind, SIZE_MAX);
        if (bytes.empty())
            continue;
        framer.feed(bytes.data(), bytes.size());
        r.streams.delivered(kind, bytes.size());
        while (auto message = framer.next()) {
            if (kind == StreamKind::received) {
                r.messages_received++;
            } else {
                r.messages_sent++;
                if (static_cast<std::uint8_t>((*message)[18]) ==
                    static_cast<std::uint8_t>(BgpType::Update))
                    r.updates_sent++;
            }
        }
        if (framer.broken())
            return Status::fail(std::string("the ") + stream_kind_name(kind) +
                                " stream does not frame into BGP messages: " + framer.error());
    }
    return Status::ok();
}

void CrossHostStreams::on_chunk(const StreamChunk &chunk)
{
    auto it = receivers_.find(chunk.session);
    if (it == receivers_.end()) {
        // A session this RP never heard of (or ended): the active must stop.
        counters_.chunks_refused++;
        channel_.end(StreamEnd{chunk.session, "the standby host has no such session"});
        return;
    }
    Receiver &r = it->second;
    Result<std::size_t> took = r.streams.accept(chunk);
    if (!took) {
        counters_.chunks_refused++;
        end_receiver(it, "a chunk was refused: " + took.why(), true);
        return;
    }
    counters_.bytes_held += *took;
    if (Status ok = deliver(r); !ok) {
        end_receiver(it, ok.why(), true);
        return;
    }
    channel_.ack(r.streams.ack());
}

void CrossHostStreams::end_receiver(std::map<std::uint64_t, Receiver>::iterator it,
                                    const std::string &why, bool tell_active)
{
    if (tell_active)
        channel_.end(StreamEnd{it->first, why});
    if (host_.log)
        host_.log(tell_active ? LogLevel::Warning : LogLevel::Info,
                  "streams of " + it->second.info.neighbor + " from the active host end: " + why);
    receivers_.erase(it);
    counters_.receivers_ended++;
}

void CrossHostStreams::end_receivers(const std::string &why)
{
    while (!receivers_.empty())
        end_receiver(receivers_.begin(), why, false);
}

void CrossHostStreams::on_end(const StreamEnd &end)
{
    if (auto r = relays_.find(end.session); r != relays_.end())
        end_relay(r, "the standby host: " + end.why, false, true);
    if (auto r = receivers_.find(end.session); r != receivers_.end())
        end_receiver(r, "the active host: " + end.why, false);
}

void CrossHostStreams::refused(std::uint64_t session, const std::string &why)
{
    counters_.chunks_refused++;
    auto it = receivers_.find(session);
    if (it != receivers_.end())
        end_receiver(it, why, true);
    else
        channel_.end(StreamEnd{session, why});
}

void CrossHostStreams::on_image(const SessionImage &image)
{
    auto it = receivers_.find(image.session);
    if (it == receivers_.end())
        return;  // ended meanwhile
    it->second.image = image.image;
    it->second.progress = image.image.progress;
    it->second.progress_at = std::chrono::steady_clock::now();
}

void CrossHostStreams::on_progress(const SessionProgress &p)
{
    auto it = receivers_.find(p.session);
    if (it == receivers_.end())
        return;
    if (!it->second.image) {
        end_receiver(it, "a progress before the image", true);
        return;
    }
    it->second.progress = p.progress;
    it->second.progress_at = std::chrono::steady_clock::now();
}

// --- show -------------------------------------------------------------------------

std::vector<CrossHostStreams::View> CrossHostStreams::view() const
{
    std::vector<View> out;
    for (const auto &[session, r] : relays_) {
        View v;
        v.session = session;
        v.relay = true;
        v.vrf = r.info.vrf;
        v.neighbor = r.info.neighbor;
        v.received = r.relay.confirmed_end(StreamKind::received);
        v.sent = r.relay.confirmed_end(StreamKind::sent);
        v.offered_received = r.relay.offered_end(StreamKind::received);
        v.offered_sent = r.relay.offered_end(StreamKind::sent);
        v.image_sent = r.image_sent;
        out.push_back(v);
    }
    for (const auto &[session, r] : receivers_) {
        View v;
        v.session = session;
        v.vrf = r.info.vrf;
        v.neighbor = r.info.neighbor;
        v.received = r.streams.end(StreamKind::received);
        v.sent = r.streams.end(StreamKind::sent);
        v.messages_received = r.messages_received;
        v.messages_sent = r.messages_sent;
        v.updates_sent = r.updates_sent;
        v.image = r.image;
        v.progress = r.progress;
        if (r.progress)
            v.progress_age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - r.progress_at)
                                    .count();
        out.push_back(v);
    }
    return out;
}

CrossHostStreams::Counters CrossHostStreams::counters() const
{
    Counters c = counters_;
    c.in_flight = in_flight();
    return c;
}

}  // namespace frr_ha
