#include "remote_streams_wire.hpp"

#include <cstdint>

#include "ha_channel.pb.h"

namespace frr_ha {

void to_wire(const StreamChunk &chunk, wire::StreamBytes *out)
{
    out->set_session(chunk.session);
    out->set_stream(chunk.kind == StreamKind::sent ? wire::STREAM_SENT : wire::STREAM_RECEIVED);
    out->set_offset(chunk.offset);
    out->set_bytes(chunk.bytes);
}

void to_wire(const StreamAck &ack, wire::StreamConfirm *out)
{
    out->set_session(ack.session);
    out->set_received(ack.received);
    out->set_sent(ack.sent);
}

void to_wire(const StreamSessionInfo &info, wire::StreamSession *out)
{
    out->set_session(info.session);
    out->set_epoch(info.epoch);
    out->set_vrf(info.vrf);
    out->set_neighbor(info.neighbor);
    out->set_receive_only(info.receive_only);
    out->set_protection_follows(info.protection_follows);
}

void to_wire(const StreamEnd &end, wire::StreamEnd *out)
{
    out->set_session(end.session);
    out->set_why(end.why.substr(0, StreamEnd::kMaxWhy));
}

void to_wire(const StreamProtection &p, wire::StreamProtection *out)
{
    out->set_session(p.session);
    out->set_step(p.step == StreamProtection::Step::Protected ? wire::StreamProtection::PROTECTED
                                                               : wire::StreamProtection::CAUGHT_UP);
    out->set_received(p.received);
    out->set_sent(p.sent);
}

Result<StreamChunk> chunk_from_wire(const wire::StreamBytes &in)
{
    using R = Result<StreamChunk>;
    StreamChunk chunk;
    switch (in.stream()) {
    case wire::STREAM_RECEIVED:
        chunk.kind = StreamKind::received;
        break;
    case wire::STREAM_SENT:
        chunk.kind = StreamKind::sent;
        break;
    default:
        // proto3 keeps an unknown enum value as it came.
        return R::fail("stream " + std::to_string(static_cast<int>(in.stream())) +
                       " (0: received, 1: sent)");
    }
    if (in.bytes().empty())
        return R::fail(std::string("an empty piece of the ") + stream_kind_name(chunk.kind) +
                       " stream");
    if (in.bytes().size() > StreamReceiver::kMaxChunk)
        return R::fail("a piece of " + std::to_string(in.bytes().size()) + " bytes (at most " +
                       std::to_string(StreamReceiver::kMaxChunk) + ")");
    if (in.offset() > UINT64_MAX - in.bytes().size())
        return R::fail("offset " + std::to_string(in.offset()) + " overflows with its bytes");
    chunk.session = in.session();
    chunk.offset = in.offset();
    chunk.bytes = in.bytes();
    return chunk;
}

StreamAck ack_from_wire(const wire::StreamConfirm &in)
{
    return StreamAck{in.session(), in.received(), in.sent()};
}

Result<StreamSessionInfo> session_from_wire(const wire::StreamSession &in)
{
    using R = Result<StreamSessionInfo>;
    if (in.neighbor().empty())
        return R::fail("a session with no neighbor");
    if (in.neighbor().size() > StreamSessionInfo::kMaxName ||
        in.vrf().size() > StreamSessionInfo::kMaxName)
        return R::fail("a name longer than " + std::to_string(StreamSessionInfo::kMaxName) +
                       " bytes");
    return StreamSessionInfo{in.session(), in.epoch(), in.vrf(), in.neighbor(),
                             in.receive_only(), in.protection_follows()};
}

StreamEnd end_from_wire(const wire::StreamEnd &in)
{
    return StreamEnd{in.session(), in.why().substr(0, StreamEnd::kMaxWhy)};
}

Result<StreamProtection> protection_from_wire(const wire::StreamProtection &in)
{
    using R = Result<StreamProtection>;
    StreamProtection p{in.session(), StreamProtection::Step::CaughtUp, in.received(), in.sent()};
    switch (in.step()) {
    case wire::StreamProtection::CAUGHT_UP:
        return p;
    case wire::StreamProtection::PROTECTED:
        p.step = StreamProtection::Step::Protected;
        return p;
    default:
        return R::fail("protection step " + std::to_string(static_cast<int>(in.step())) +
                       " (0: caught up, 1: protected)");
    }
}

}  // namespace frr_ha
