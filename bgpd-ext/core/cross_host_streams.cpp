#include "cross_host_streams.hpp"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <iterator>
#include <utility>

#include "handover_messages.hpp"

namespace frr_ha {

CrossHostStreams::CrossHostStreams(Channel channel, Host host, std::size_t budget,
                                   std::size_t window, std::size_t ahead_of_links)
    : channel_(std::move(channel)),
      host_(std::move(host)),
      budget_(budget),
      window_(window),
      ahead_budget_(ahead_of_links)
{
    if (!host_.privileged)
        host_.privileged = [](const std::function<void()> &call) { call(); };
}

// --- the active ---------------------------------------------------------------

Result<std::uint64_t> CrossHostStreams::add_relay(StreamSessionInfo info, UniqueFd input_link,
                                                  UniqueFd sendlog_link, UniqueFd handover_conn,
                                                  std::shared_ptr<WriteGate> gate,
                                                  std::optional<SocketAtAttach> socket)
{
    info.session = next_session_++;
    info.protection_follows = !gate->engaged();
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
    Relay &r = it->second;
    // Gated from its first byte: held from it too (what the kernel
    // acknowledged before the capture, it did). A session that catches up
    // is held once its gate engages.
    r.engaged = !info.protection_follows;
    if (r.engaged && r.socket)
        hold_start(r, r.socket->captured.recv_next());
    return session;
}

// From now on the session's own segments wait until the standby host
// confirmed what their ACK covers (`acknowledged`: a receive sequence the
// kernel may already have acknowledged up to).
void CrossHostStreams::hold_start(Relay &r, std::uint32_t acknowledged)
{
    if (!hold_ || !r.socket || !r.socket->connection)
        return;
    // Refused for a connection still held since its last relay ended with
    // the channel: the new history covers what was read meanwhile.
    Status held = hold_->hold(*r.socket->connection, acknowledged);
    r.held = static_cast<bool>(held);
    if (!held) {
        counters_.hold_refused++;
        if (host_.log)
            host_.log(LogLevel::Warning,
                      "the hold refused " + r.info.neighbor + "'s connection: " + held.why());
    }
}

// The standby's shadow has caught up: from now on the session writes only
// what the standby host confirmed and acknowledges only what it holds.
void CrossHostStreams::engage(std::uint64_t session, Relay &r)
{
    if (r.engaged || r.cut)
        return;
    r.engaged = true;
    r.relay.gate().engage();
    if (r.image_sent)
        hold_start(r, r.recv_base + static_cast<std::uint32_t>(
                                        r.relay.confirmed_end(StreamKind::received)));
    if (host_.log)
        host_.log(LogLevel::Info, "the standby host caught up with " + r.info.neighbor +
                                      ": its streams wait for the standby host from now on");
    tell_if_protected(session, r);
}

// Protected once the standby host confirmed every byte the peer may have:
// all the session wrote before its gate engaged, and all the kernel may
// have acknowledged before the hold started (known from the first progress
// after it).
void CrossHostStreams::tell_if_protected(std::uint64_t session, Relay &r)
{
    if (!r.info.protection_follows || !r.engaged || r.protection_told || r.cut)
        return;
    const std::uint64_t received = r.relay.confirmed_end(StreamKind::received);
    const std::uint64_t sent = r.relay.confirmed_end(StreamKind::sent);
    if (r.held && (!r.acked_before_hold || received < *r.acked_before_hold))
        return;
    if (sent < r.relay.gate().ungated_end())
        return;
    if (!channel_.protection(
            StreamProtection{session, StreamProtection::Step::Protected, received, sent}))
        return;
    r.protection_told = true;
    r.relay.gate().set_protected();
    if (host_.log)
        host_.log(LogLevel::Info, r.info.neighbor + " is protected by the standby host");
}

void CrossHostStreams::want_room(std::uint64_t session, Relay &r)
{
    r.room_wanted = true;
    waiting_.insert(session);
}

// Puts the relay's chunks on the channel while the budget lasts. False: the
// channel is down.
bool CrossHostStreams::send_chunks(std::uint64_t session, Relay &r)
{
    while (in_flight_ < budget_) {
        auto chunk = r.relay.next_chunk(std::min(kChunk, budget_ - in_flight_));
        if (!chunk)
            return true;
        if (!channel_.chunk(*chunk))
            return false;
        r.chunked += chunk->bytes.size();
        in_flight_ += chunk->bytes.size();
    }
    want_room(session, r);  // the budget is spent: a confirmation frees it
    return true;
}

bool CrossHostStreams::pump(std::uint64_t session)
{
    auto it = relays_.find(session);
    if (it == relays_.end())
        return false;
    Relay &r = it->second;
    if (r.cut)
        return true;  // its streams wait in the links until it ends
    Status pumped = r.relay.pump();
    if (!pumped) {
        end_relay(it, pumped.why(), true, false);
        return false;
    }
    if (auto end = r.relay.take_history_end())
        r.history_end = end;
    if (!r.image_sent && r.history_end && r.socket)
        send_image(session, r);
    if (!send_chunks(session, r)) {
        end_relay(it, "the data channel to the standby host is down", false, true);
        return false;
    }
    // A full window leaves bytes in the links: stop watching them until a
    // confirmation makes room (else their readiness would spin the loop).
    if (r.relay.offered_end(StreamKind::received) - r.relay.confirmed_end(StreamKind::received) >=
            window_ ||
        r.relay.offered_end(StreamKind::sent) - r.relay.confirmed_end(StreamKind::sent) >= window_)
        want_room(session, r);
    return true;
}

// The socket's sequence numbers, tied to the streams' offsets: at the
// attach, the tap had written history_sent_bytes of the sent stream and
// consumed history_received_bytes of the received one.
void CrossHostStreams::send_image(std::uint64_t session, Relay &r)
{
    ConnectionImage image = image_at_session_up(r.socket->captured, r.history_end->history_sent_bytes,
                                                r.history_end->history_received_bytes);
    r.recv_base = image.recv_base;
    r.image_sent = channel_.image(SessionImage{session, image, r.history_end->history_received_bytes,
                                               r.history_end->history_sent_bytes});
    hold_confirm(r);  // what the standby confirmed so far now has sequence numbers
}

// The peer may now be acknowledged what the standby host holds of its bytes.
void CrossHostStreams::hold_confirm(Relay &r)
{
    if (r.held && r.image_sent && hold_)
        hold_->confirm(*r.socket->connection,
                       r.recv_base + static_cast<std::uint32_t>(
                                         r.relay.confirmed_end(StreamKind::received)));
}

void CrossHostStreams::progress(std::uint64_t session, const TcpConnectionState &captured,
                                std::uint64_t written, std::uint64_t consumed,
                                std::uint64_t held_at)
{
    auto it = relays_.find(session);
    if (it == relays_.end() || !it->second.image_sent)
        return;
    Relay &r = it->second;
    // Stream offsets of what the tap has written and consumed now.
    std::uint64_t sent = r.history_end->history_sent_bytes + (written - r.socket->written);
    std::uint64_t received =
        r.history_end->history_received_bytes + (consumed - r.socket->consumed);
    // Under the hold the peer was acknowledged no more than the standby
    // host confirmed, whatever the kernel received.
    if (r.held && held_at == UINT64_MAX)
        held_at = r.relay.confirmed_end(StreamKind::received);
    channel_.progress(SessionProgress{session, progress_of(captured, sent, received, held_at)});
    // The first capture since the hold started: the kernel had acknowledged
    // no more than it has received now.
    if (r.held && r.engaged && r.info.protection_follows && !r.acked_before_hold) {
        r.acked_before_hold = received + captured.recv_queue.size();
        tell_if_protected(session, r);
    }
}

bool CrossHostStreams::relay_fds(std::uint64_t session, int fds[3]) const
{
    auto it = relays_.find(session);
    if (it == relays_.end())
        return false;
    const Relay &r = it->second;
    bool hold = r.room_wanted || r.cut;
    fds[0] = hold ? -1 : r.relay.input_fd();
    fds[1] = hold ? -1 : r.relay.sendlog_fd();
    fds[2] = r.cut ? -1 : r.relay.handover_fd();
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
    std::uint64_t confirmed = r.relay.confirmed_end(StreamKind::received) +
                              r.relay.confirmed_end(StreamKind::sent) - before;
    hold_confirm(r);
    tell_if_protected(ack.session, r);
    counters_.bytes_confirmed += confirmed;
    in_flight_ -= confirmed;
    // Room again, in this session's window and in the budget: every relay
    // that waited for it reads on (their links may hold what the window
    // refused; the budget is shared).
    std::set<std::uint64_t> waiting;
    waiting.swap(waiting_);
    for (std::uint64_t session : waiting) {
        if (auto w = relays_.find(session); w != relays_.end())
            w->second.room_wanted = false;
        if (pump(session) && host_.relay_changed)
            host_.relay_changed(session);
    }
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
    in_flight_ -= it->second.in_flight();
    waiting_.erase(session);
    // What waited leaves now: the session goes on without the standby host.
    if (it->second.held && hold_)
        (void)hold_->release(*it->second.socket->connection);
    relays_.erase(it);  // the links' far ends close: the tap drops them
    counters_.relays_ended++;
    if (host_.relay_changed)
        host_.relay_changed(session);
}

// What was on the channel is lost with it; the session's gate and hold stay
// where the standby host's last confirmation left them.
void CrossHostStreams::cut_relay(std::uint64_t session, Relay &r, const std::string &why)
{
    in_flight_ -= r.in_flight();
    r.chunked = r.relay.confirmed_end(StreamKind::received) +
                r.relay.confirmed_end(StreamKind::sent);
    waiting_.erase(session);
    r.room_wanted = false;
    r.cut = true;
    r.relay.gate().seal();
    if (host_.log)
        host_.log(LogLevel::Info, "streams of " + r.info.neighbor + " to the standby host cut (" +
                                      why + "): the session writes and acknowledges nothing "
                                            "the standby host lacks until this RP may write again");
    if (host_.relay_changed)
        host_.relay_changed(session);
}

void CrossHostStreams::end_relays(const std::string &why, bool cut)
{
    if (cut) {
        for (auto &[session, r] : relays_)
            if (!r.cut)
                cut_relay(session, r, why);
        return;
    }
    while (!relays_.empty())
        end_relay(relays_.begin(), why, false, true);
}

void CrossHostStreams::release_cut(const std::string &why)
{
    for (auto it = relays_.begin(); it != relays_.end();) {
        auto next = std::next(it);
        if (it->second.cut)
            end_relay(it, why, false, true);
        it = next;
    }
}

// --- the standby ------------------------------------------------------------------

namespace {

// A link's writing end holds `size` bytes (the kernel doubles it for its
// own accounting). Past net.core.wmem_max only with CAP_NET_ADMIN (FORCE);
// without it, as much as SO_SNDBUF gives.
void grow_link(int fd, std::size_t bytes,
               const std::function<void(const std::function<void()> &)> &privileged)
{
    int size = static_cast<int>(std::min<std::size_t>(bytes, INT_MAX / 2));
    bool forced = false;
    privileged([&] {
        forced = ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) == 0;
    });
    if (!forced)
        (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

// A link of the standby host, as the local hand-over's: a stream socket pair
// whose writing end holds a burst while the shadow catches up.
bool link_pair(UniqueFd &ours, UniqueFd &far,
               const std::function<void(const std::function<void()> &)> &privileged)
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        return false;
    ours = UniqueFd(fds[0]);
    far = UniqueFd(fds[1]);
    grow_link(fds[0], CrossHostStreams::kLinkBuffer, privileged);
    return true;
}

}  // namespace

void CrossHostStreams::on_session(const StreamSessionInfo &info)
{
    auto old = receivers_.find(info.session);
    if (old != receivers_.end())
        end_receiver(old, "a new session took its number", false);
    // One neighbor has one session on the active: a new hand-over of it
    // supersedes whatever this host still receives for it (an end that
    // never came would leave that receiver, its memory and a shadow that
    // never gets its image, behind for good).
    for (auto o = receivers_.begin(); o != receivers_.end();) {
        auto next = std::next(o);
        if (o->second.info.neighbor == info.neighbor && o->second.info.vrf == info.vrf)
            end_receiver(o, "superseded by the neighbor's session " + std::to_string(info.session),
                         true);
        o = next;
    }
    auto [it, added] = receivers_.try_emplace(info.session, info);
    if (added)
        receivers_behind_++;
    counters_.receivers_started++;
    Receiver &r = it->second;
    r.is_protected = !info.protection_follows;
    if (info.protection_follows)
        r.streams.set_max_held(kMaxHeldBeforeShadow);
    if (!link_pair(r.input_link, r.input_far, host_.privileged) ||
        !link_pair(r.sendlog_link, r.sendlog_far, host_.privileged)) {
        end_receiver(it, std::string("no links for the shadow: ") + std::strerror(errno), true);
        return;
    }
    if (host_.log)
        host_.log(LogLevel::Info, "receiving the streams of " + info.neighbor +
                                      (info.vrf.empty() ? "" : " vrf " + info.vrf) +
                                      " from the active host");
}

// Moves what the receiver holds into the shadow's links, as far as they take
// it, framing it into BGP messages on the way (a stream that does not frame
// was not a BGP session's). What stays waits for room (link_full).
Status CrossHostStreams::deliver(Receiver &r)
{
    r.link_full = false;
    for (StreamKind kind : {StreamKind::received, StreamKind::sent}) {
        BgpStreamFramer &framer =
            kind == StreamKind::received ? r.received_framer : r.sent_framer;
        const UniqueFd &link = kind == StreamKind::received ? r.input_link : r.sendlog_link;
        std::string_view bytes = r.streams.undelivered(kind, SIZE_MAX);
        if (bytes.empty())
            continue;
        ssize_t n = ::send(link.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return Status::fail(std::string("the shadow's ") + stream_kind_name(kind) +
                                " link: " + std::strerror(errno));
        std::size_t took = n < 0 ? 0 : static_cast<std::size_t>(n);
        if (took < bytes.size())
            r.link_full = true;
        if (took == 0)
            continue;
        framer.feed(bytes.data(), took);
        r.streams.delivered(kind, took);
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

// Confirms what the links took: the active's gate opens only as far as this
// host holds the bytes, and a shadow that falls behind holds the session
// back as in local mode.
void CrossHostStreams::deliver_and_confirm(std::map<std::uint64_t, Receiver>::iterator it,
                                           bool room)
{
    Receiver &r = it->second;
    if (r.link_full && !room) {
        // Room in the links is watched for; until then only a session that
        // confirms on arrival confirms.
        confirm(it->first, r);
        return;
    }
    bool complete = r.history_complete();
    if (Status ok = deliver(r); !ok) {
        end_receiver(it, ok.why(), true);
        return;
    }
    confirm(it->first, r);
    if (r.link_full || r.history_complete() != complete)
        receiver_changed(it->first);
}

// Tells the active how far this host holds each stream: what the links
// took and, past them, what arrived within the budget ahead of the links
// (docs/dual-rp.md, "Confirmed ahead of the links"); or, a session catching
// up until its shadow has caught up, all that arrived.
void CrossHostStreams::confirm(std::uint64_t session, Receiver &r)
{
    const bool arrived = r.confirms_on_arrival();
    std::size_t room = arrived ? 0 : ahead_budget_ - std::min(ahead_budget_, ahead_ - r.ahead);
    auto held = [&](StreamKind kind) {
        const std::uint64_t end = r.streams.end(kind), delivered = r.streams.delivered_end(kind);
        if (arrived)
            return end;
        const std::uint64_t past = std::min<std::uint64_t>(end - delivered, room);
        room -= past;
        return delivered + past;
    };
    const std::uint64_t received = std::max(r.confirmed_received, held(StreamKind::received));
    const std::uint64_t sent = std::max(r.confirmed_sent, held(StreamKind::sent));
    const bool more = received != r.confirmed_received || sent != r.confirmed_sent;
    r.confirmed_received = received;
    r.confirmed_sent = sent;
    count_ahead(r);
    if (more)
        channel_.ack(StreamAck{session, received, sent});
}

// The receiver's part of the budget: what it confirmed that its links have
// not taken yet. A session catching up is confirmed outside it (its own
// bound is kMaxHeldBeforeShadow).
void CrossHostStreams::count_ahead(Receiver &r)
{
    std::uint64_t ahead = 0;
    if (!r.confirms_on_arrival()) {
        for (StreamKind kind : {StreamKind::received, StreamKind::sent}) {
            const std::uint64_t confirmed =
                kind == StreamKind::received ? r.confirmed_received : r.confirmed_sent;
            const std::uint64_t delivered = r.streams.delivered_end(kind);
            ahead += confirmed > delivered ? confirmed - delivered : 0;
        }
    }
    ahead_ = ahead_ - r.ahead + ahead;
    r.ahead = ahead;
}

// Before its shadow takes the session over, everything the receiver holds
// goes into the links, grown to take it: the active wrote and acknowledged
// what this host confirmed, and the shadow reads its links to their end.
Status CrossHostStreams::deliver_all(Receiver &r)
{
    for (StreamKind kind : {StreamKind::received, StreamKind::sent}) {
        const std::size_t waiting = r.streams.undelivered(kind, SIZE_MAX).size();
        if (waiting == 0)
            continue;
        const UniqueFd &link = kind == StreamKind::received ? r.input_link : r.sendlog_link;
        grow_link(link.get(), 2 * (kLinkBuffer + waiting), host_.privileged);
    }
    if (Status ok = deliver(r); !ok)
        return ok;
    for (StreamKind kind : {StreamKind::received, StreamKind::sent})
        if (std::size_t left = r.streams.undelivered(kind, SIZE_MAX).size())
            return Status::fail(std::to_string(left) + " bytes of the " + stream_kind_name(kind) +
                                " stream did not fit its link");
    return Status::ok();
}

void CrossHostStreams::receiver_changed(std::uint64_t session)
{
    if (host_.receiver_changed)
        host_.receiver_changed(session);
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
    deliver_and_confirm(it, false);
}

void CrossHostStreams::receiver_flush(std::uint64_t session)
{
    auto it = receivers_.find(session);
    if (it != receivers_.end())
        deliver_and_confirm(it, true);
}

void CrossHostStreams::receiver_word(std::uint64_t session)
{
    auto it = receivers_.find(session);
    if (it == receivers_.end())
        return;
    char word[kStandbyWordMax];
    ssize_t n = ::recv(it->second.input_link.get(), word, sizeof(word), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    std::string why = n > 0 ? std::string(word, static_cast<std::size_t>(n))
                            : "the standby's shadow closed its links";
    end_receiver(it, why, true);
}

namespace {

// Bytes written to a unix stream socket and not yet read at its far end.
std::size_t unread(const UniqueFd &link)
{
    int queued = 0;
    if (!link || ::ioctl(link.get(), SIOCOUTQ, &queued) != 0)
        return 0;
    return static_cast<std::size_t>(std::max(queued, 0));
}

}  // namespace

std::string CrossHostStreams::shadows_behind()
{
    // Asked at every status (each heartbeat): nothing to walk once every
    // shadow is ready. Each one behind is looked at, so that every shadow
    // that caught up says so at once.
    if (receivers_behind_ == 0)
        return {};
    std::string first;
    for (auto &[session, r] : receivers_) {
        std::string why = receiver_behind(session, r);
        if (first.empty())
            first = std::move(why);
    }
    return first;
}

// Why this shadow is not ready ("" once it is): it has not read its history,
// or (catching up) the active has not said the session is protected. The
// first time it has read its history, the active hears it caught up.
std::string CrossHostStreams::receiver_behind(std::uint64_t session, Receiver &r)
{
    if (r.history_read && r.is_protected)
        return {};
    const std::string who =
        "the shadow of " + r.info.neighbor + (r.info.vrf.empty() ? "" : " vrf " + r.info.vrf);
    if (!r.history_read) {
        if (!r.image)
            return who + " waits for its connection's image";
        if (!r.history_complete())
            return who + " has not its history in its links yet (" +
                   std::to_string(r.streams.delivered_end(StreamKind::received) +
                                  r.streams.delivered_end(StreamKind::sent)) +
                   " of " + std::to_string(r.history_received + r.history_sent) + " bytes)";
        if (!r.shadow_started)
            return who + " is not running yet";
        // Delivered past the history and nothing left in the links: read.
        // (The queue counts buffer space, not bytes: only its emptiness
        // says something.) What arrived and waits for the links counts too.
        const std::size_t left = unread(r.input_link) + unread(r.sendlog_link) +
                                 r.streams.undelivered(StreamKind::received, SIZE_MAX).size() +
                                 r.streams.undelivered(StreamKind::sent, SIZE_MAX).size();
        if (left != 0)
            return who + " has not read its history yet (" + std::to_string(left) +
                   " bytes of buffers in its links)";
        r.history_read = true;
        if (r.is_protected) {
            receivers_behind_--;
            return {};
        }
    }
    if (!r.caught_up_told &&
        channel_.protection(StreamProtection{session, StreamProtection::Step::CaughtUp, 0, 0}))
        r.caught_up_told = true;
    return who + " has caught up and waits for the active to protect the session";
}

std::optional<CrossHostStreams::ReceiverState>
CrossHostStreams::receiver_state(std::uint64_t session) const
{
    auto it = receivers_.find(session);
    if (it == receivers_.end())
        return std::nullopt;
    const Receiver &r = it->second;
    ReceiverState st;
    st.info = r.info;
    st.read_fd = r.input_link.get();
    if (r.link_full)
        st.write_fd = r.streams.undelivered(StreamKind::received, 1).empty()
                          ? r.sendlog_link.get()
                          : r.input_link.get();
    st.shadow_wanted = r.image && !r.shadow_started;
    st.history_complete = r.history_complete();
    st.peer_acked = r.progress ? r.progress->peer_acked : 0;
    st.image = r.image;
    st.progress = r.progress;
    st.progress_at = r.progress_at;
    return st;
}

Result<std::array<UniqueFd, 3>> CrossHostStreams::start_shadow(std::uint64_t session)
{
    using R = Result<std::array<UniqueFd, 3>>;
    auto it = receivers_.find(session);
    if (it == receivers_.end())
        return R::fail("no such session");
    Receiver &r = it->second;
    if (!r.image || r.shadow_started)
        return R::fail(r.image ? "the shadow started already" : "no image of the connection yet");
    auto placeholder = placeholder_of(*r.image);
    if (!placeholder) {
        // This host cannot shadow the session: the active hears why.
        std::string why = placeholder.why();
        end_receiver(it, why, true);
        return R::fail(why);
    }
    r.shadow_started = true;
    return std::array<UniqueFd, 3>{std::move(*placeholder), std::move(r.input_far),
                                   std::move(r.sendlog_far)};
}

void CrossHostStreams::end_receiver(std::map<std::uint64_t, Receiver>::iterator it,
                                    const std::string &why, bool tell_active)
{
    if (tell_active)
        channel_.end(StreamEnd{it->first, why});
    if (host_.log)
        host_.log(tell_active ? LogLevel::Warning : LogLevel::Info,
                  "streams of " + it->second.info.neighbor + " from the active host end: " + why);
    std::uint64_t session = it->first;
    continuable_.erase(session);
    if (!it->second.history_read || !it->second.is_protected)
        receivers_behind_--;
    ahead_ -= it->second.ahead;
    receivers_.erase(it);  // the links close: the shadow's mirror ends
    counters_.receivers_ended++;
    receiver_changed(session);
}

void CrossHostStreams::end_receivers(const std::string &why, bool continuable)
{
    while (!receivers_.empty()) {
        std::uint64_t session = receivers_.begin()->first;
        // One still catching up never is: the active wrote and acknowledged
        // without waiting for this host.
        Receiver &r = receivers_.begin()->second;
        bool continues = continuable && r.is_protected;
        if (continues) {
            if (Status all = deliver_all(r); !all) {
                continues = false;
                if (host_.log)
                    host_.log(LogLevel::Warning,
                              "the shadow of " + r.info.neighbor +
                                  " cannot continue its session: it lacks what this host "
                                  "confirmed: " +
                                  all.why());
            }
        }
        end_receiver(receivers_.begin(), why, false);
        if (continues)
            continuable_.insert(session);
    }
}

bool CrossHostStreams::may_continue(std::uint64_t session) const
{
    if (auto it = receivers_.find(session); it != receivers_.end())
        return it->second.is_protected;
    return continuable_.count(session) != 0;
}

void CrossHostStreams::partner_back()
{
    continuable_.clear();
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
    auto relay = relays_.find(session);
    if (it != receivers_.end())
        end_receiver(it, why, true);
    else if (relay != relays_.end())
        end_relay(relay, why, true, true);
    else
        channel_.end(StreamEnd{session, why});
}

void CrossHostStreams::on_protection(const StreamProtection &p)
{
    if (p.step == StreamProtection::Step::CaughtUp) {
        if (auto it = relays_.find(p.session);
            it != relays_.end() && it->second.info.protection_follows)
            engage(p.session, it->second);
        return;
    }
    auto it = receivers_.find(p.session);
    if (it == receivers_.end() || it->second.is_protected)
        return;  // ended meanwhile, or gated from its first byte
    Receiver &r = it->second;
    if (r.streams.end(StreamKind::received) < p.received ||
        r.streams.end(StreamKind::sent) < p.sent) {
        end_receiver(it,
                     "protected at offsets this host does not hold (received " +
                         std::to_string(p.received) + ", sent " + std::to_string(p.sent) +
                         "; held " + std::to_string(r.streams.end(StreamKind::received)) + ", " +
                         std::to_string(r.streams.end(StreamKind::sent)) + ")",
                     true);
        return;
    }
    r.is_protected = true;
    if (r.history_read)
        receivers_behind_--;
    if (host_.log)
        host_.log(LogLevel::Info, r.info.neighbor + " is protected: its shadow may continue it");
    receiver_changed(p.session);
}

void CrossHostStreams::on_image(const SessionImage &image)
{
    auto it = receivers_.find(image.session);
    if (it == receivers_.end())
        return;  // ended meanwhile
    Receiver &r = it->second;
    if (r.image) {
        end_receiver(it, "a second image of the connection", true);
        return;
    }
    r.image = image.image;
    r.progress = image.image.progress;
    r.progress_at = std::chrono::steady_clock::now();
    r.history_received = image.history_received;
    r.history_sent = image.history_sent;
    receiver_changed(image.session);  // the shadow can start
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
    receiver_changed(p.session);  // the shadow's send log forgets what the peer holds
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
        v.is_protected = r.relay.gate().is_protected();
        if (r.held && hold_)
            v.hold_wait_ms = static_cast<std::uint64_t>(
                hold_->longest_wait(*r.socket->connection, std::chrono::steady_clock::now()).count());
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
        v.is_protected = r.is_protected;
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
    c.in_flight = in_flight_;
    for (const auto &[session, r] : relays_) {
        c.held_sessions += r.held ? 1 : 0;
        c.catching_up += r.relay.gate().is_protected() ? 0 : 1;
    }
    for (const auto &[session, r] : receivers_)
        c.catching_up += r.is_protected ? 0 : 1;
    c.ahead_of_links = ahead_;
    return c;
}

}  // namespace frr_ha
