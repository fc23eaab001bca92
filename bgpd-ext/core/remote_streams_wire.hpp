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
}  // namespace wire

void to_wire(const StreamChunk &chunk, wire::StreamBytes *out);
void to_wire(const StreamAck &ack, wire::StreamConfirm *out);

Result<StreamChunk> chunk_from_wire(const wire::StreamBytes &in);
// Any three offsets make a confirmation: only the session's state can
// refuse one (StreamSender::confirmed).
StreamAck ack_from_wire(const wire::StreamConfirm &in);

}  // namespace frr_ha
