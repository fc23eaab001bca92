// The streams carried across hosts (remote_streams.hpp) on the HA channel:
// a chunk is a StreamBytes message, a confirmation a StreamConfirm. What
// arrives is checked for what the message alone can show (a stream that
// does not exist, a piece larger than a chunk may be, an offset whose end
// overflows); StreamReceiver and StreamSender then check it against the
// session's state.
#pragma once

#include "remote_streams.hpp"
#include "result.hpp"

namespace frr_ha {

namespace wire {
class StreamBytes;
class StreamConfirm;
class StreamSession;
class StreamEnd;
class StreamProtection;
}  // namespace wire

void to_wire(const StreamChunk &chunk, wire::StreamBytes *out);
void to_wire(const StreamAck &ack, wire::StreamConfirm *out);
void to_wire(const StreamSessionInfo &info, wire::StreamSession *out);
void to_wire(const StreamEnd &end, wire::StreamEnd *out);  // `why` cut to kMaxWhy
void to_wire(const StreamProtection &p, wire::StreamProtection *out);

Result<StreamChunk> chunk_from_wire(const wire::StreamBytes &in);
// Any three offsets make a confirmation: only the session's state can
// refuse one (StreamSender::confirmed).
StreamAck ack_from_wire(const wire::StreamConfirm &in);
// Refused: no neighbor, a name longer than kMaxName.
Result<StreamSessionInfo> session_from_wire(const wire::StreamSession &in);
// A longer `why` is cut to kMaxWhy.
StreamEnd end_from_wire(const wire::StreamEnd &in);
// Refused: a step this side does not know.
Result<StreamProtection> protection_from_wire(const wire::StreamProtection &in);

}  // namespace frr_ha
