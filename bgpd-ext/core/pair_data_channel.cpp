// The data channel of dual-RP mode (docs/dual-rp.md, "The data channel"):
// a second TLS session to the partner, beside the control channel, that
// carries the TF sessions' streams (StreamBytes, StreamConfirm) and nothing
// else. A table load's megabytes then never stand between the partner and
// a heartbeat, whose silence for the detection time means a takeover.
//
// - The RP that connects the control channel (the lower name) connects the
//   data channel once the control channel is up and the partner's STATUS
//   said it accepts one; its HELLO says CHANNEL_DATA.
// - Same key, same TLS handshake, same HELLO checks as the control channel.
// - A data channel with no control channel up is refused; a second one
//   replaces the first (the connecting side opens one only when it has
//   none); it ends with the control channel.
// - It has no silence limit of its own: it speaks only when there are
//   streams, and the control channel's heartbeats say whether the partner
//   lives.
#include "pair_node.hpp"
#include "pair_node_channel.hpp"

#include "ha_channel.pb.h"
#include "connection_image_wire.hpp"
#include "remote_streams_wire.hpp"

namespace frr_ha {

bool PairNode::should_connect_data() const
{
    const auto *partner = partner_rp();
    if (!partner || local_mode() || !primary_ || data_ || !partner_.known ||
        !partner_.data_channel || config_.self >= partner->name)
        return false;
    for (const auto &[id, ch] : channels_)
        if (ch->purpose == ChannelPurpose::Data)
            return false;  // one opening already
    return true;
}

// After the HELLO checks that every channel passes: whether this is a data
// channel, which is then taken (or refused) here.
bool PairNode::on_data_hello(Channel &ch, const wire::Message &msg)
{
    if (ch.side == ChannelSide::Accepted && msg.hello().purpose() == wire::CHANNEL_DATA)
        ch.purpose = ChannelPurpose::Data;
    if (ch.purpose != ChannelPurpose::Data)
        return false;
    const std::string partner = partner_rp()->name;
    std::string refuse;
    if (local_mode())
        refuse = "rp " + partner +
                 " opened a data channel, but local mode carries the streams on unix links";
    else if (!primary_)
        refuse = "rp " + partner + " opened a data channel with no control channel up";
    if (!refuse.empty()) {
        counters_.data_channels_refused++;
        close_channel(ch.id, refuse, LogLevel::Error);
        return true;
    }
    if (data_)
        close_channel(*data_, "superseded by rp " + partner + "'s new data channel",
                      LogLevel::Info);
    ch.stage = Channel::Stage::Up;
    data_ = ch.id;
    counters_.data_channels_up++;
    log(LogLevel::Info, "HA data channel to rp " + partner + " up");
    host_.data_channel_changed(true);
    return true;
}

void PairNode::on_data_message(Channel &ch, const wire::Message &msg)
{
    switch (msg.body_case()) {
    case wire::Message::kStreamBytes: {
        Result<StreamChunk> chunk = chunk_from_wire(msg.stream_bytes());
        if (!chunk) {
            // The session it belongs to cannot trust its stream any more;
            // the host learns it when the next piece leaves a gap.
            counters_.stream_pieces_refused++;
            log(LogLevel::Error, "stream piece of session " +
                                     std::to_string(msg.stream_bytes().session()) +
                                     " refused: " + chunk.why());
            return;
        }
        host_.stream_chunk(*chunk);
        return;
    }
    case wire::Message::kStreamConfirm:
        host_.stream_ack(ack_from_wire(msg.stream_confirm()));
        return;
    case wire::Message::kStreamSession: {
        // No chunk of a refused one will find a receiver: the active hears
        // it ended.
        Result<StreamSessionInfo> info = session_from_wire(msg.stream_session());
        if (!info)
            return refuse_stream_piece(msg.stream_session().session(), "session", info.why());
        host_.stream_session(*info);
        return;
    }
    case wire::Message::kStreamEnd:
        host_.stream_end(end_from_wire(msg.stream_end()));
        return;
    case wire::Message::kStreamImage: {
        // An image the standby could not rebuild from is refused now, not
        // at takeover: the session's streams end and it is handed over again.
        std::uint64_t session = msg.stream_image().session();
        Result<ConnectionImage> image = image_from_wire(msg.stream_image().image());
        if (!image)
            return refuse_stream_piece(session, "image", image.why());
        host_.stream_image(SessionImage{session, *image, msg.stream_image().history_received(),
                                        msg.stream_image().history_sent()});
        return;
    }
    case wire::Message::kStreamProgress: {
        std::uint64_t session = msg.stream_progress().session();
        Result<ConnectionProgress> progress =
            progress_from_wire(msg.stream_progress().progress());
        if (!progress)
            return refuse_stream_piece(session, "progress", progress.why());
        host_.stream_progress(SessionProgress{session, *progress});
        return;
    }
    case wire::Message::kStreamProtection: {
        Result<StreamProtection> p = protection_from_wire(msg.stream_protection());
        if (!p)
            return refuse_stream_piece(msg.stream_protection().session(), "protection", p.why());
        host_.stream_protection(*p);
        return;
    }
    default:
        counters_.malformed_frames++;
        close_channel(ch.id, "unexpected message on the data channel", LogLevel::Error);
        return;
    }
}

// A piece that names a session but cannot be taken: counted and logged; the
// host ends the session's streams on both sides.
void PairNode::refuse_stream_piece(std::uint64_t session, const char *what,
                                   const std::string &why)
{
    counters_.stream_pieces_refused++;
    log(LogLevel::Error, std::string("stream ") + what + " of session " +
                             std::to_string(session) + " refused: " + why);
    host_.stream_refused(session, std::string("the standby refused the ") + what + ": " + why);
}

// The data channel was erased (closed by either side).
void PairNode::data_channel_closed()
{
    data_.reset();
    log(LogLevel::Info, "HA data channel to rp " + partner_rp()->name + " down");
    host_.data_channel_changed(false);
}

void PairNode::close_data_channels(const std::string &why)
{
    std::vector<ChannelId> ids;
    for (const auto &[id, ch] : channels_)
        if (ch->purpose == ChannelPurpose::Data)
            ids.push_back(id);
    for (auto id : ids)
        close_channel(id, why, LogLevel::Info);
}

bool PairNode::send_on_data(const wire::Message &msg)
{
    if (!data_)
        return false;
    auto it = channels_.find(*data_);
    if (it == channels_.end())
        return false;
    send(*it->second, msg);
    return true;
}

bool PairNode::send_stream(const StreamChunk &chunk)
{
    wire::Message msg;
    to_wire(chunk, msg.mutable_stream_bytes());
    return send_on_data(msg);
}

bool PairNode::send_stream(const StreamAck &ack)
{
    wire::Message msg;
    to_wire(ack, msg.mutable_stream_confirm());
    return send_on_data(msg);
}

bool PairNode::send_stream(const StreamSessionInfo &info)
{
    wire::Message msg;
    to_wire(info, msg.mutable_stream_session());
    return send_on_data(msg);
}

bool PairNode::send_stream(const StreamEnd &end)
{
    wire::Message msg;
    to_wire(end, msg.mutable_stream_end());
    return send_on_data(msg);
}

bool PairNode::send_stream(const SessionImage &image)
{
    wire::Message msg;
    msg.mutable_stream_image()->set_session(image.session);
    to_wire(image.image, msg.mutable_stream_image()->mutable_image());
    msg.mutable_stream_image()->set_history_received(image.history_received);
    msg.mutable_stream_image()->set_history_sent(image.history_sent);
    return send_on_data(msg);
}

bool PairNode::send_stream(const StreamProtection &p)
{
    wire::Message msg;
    to_wire(p, msg.mutable_stream_protection());
    return send_on_data(msg);
}

bool PairNode::send_stream(const SessionProgress &progress)
{
    wire::Message msg;
    msg.mutable_stream_progress()->set_session(progress.session);
    to_wire(progress.progress, msg.mutable_stream_progress()->mutable_progress());
    return send_on_data(msg);
}

}  // namespace frr_ha
