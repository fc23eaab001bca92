#include "remote_streams.hpp"

#include <algorithm>
#include <limits>

namespace frr_ha {

const char *stream_kind_name(StreamKind kind)
{
    return kind == StreamKind::received ? "received" : "sent";
}

// --- the active's side ------------------------------------------------------

std::size_t UnconfirmedBytes::take(const std::uint8_t *data, std::size_t len, std::size_t window)
{
    const std::size_t n = std::min(len, window > pending() ? window - pending() : 0);
    // What was confirmed is dropped from the front once it is half the
    // buffer, so the buffer stays within twice the window.
    if (head_ > 0 && head_ >= bytes_.size() / 2) {
        bytes_.erase(0, head_);
        head_ = 0;
    }
    bytes_.append(reinterpret_cast<const char *>(data), n);
    return n;
}

std::optional<StreamChunk> UnconfirmedBytes::next(std::uint64_t session, StreamKind kind,
                                                  std::size_t max)
{
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(unsent(), max));
    if (n == 0)
        return std::nullopt;
    StreamChunk chunk;
    chunk.session = session;
    chunk.kind = kind;
    chunk.offset = sent_;
    chunk.bytes = bytes_.substr(head_ + static_cast<std::size_t>(sent_ - confirmed_), n);
    sent_ += n;
    return chunk;
}

Status UnconfirmedBytes::can_confirm(std::uint64_t offset, StreamKind kind) const
{
    if (offset > sent_)
        return Status::fail(std::string("the standby confirms the ") + stream_kind_name(kind) +
                            " stream up to " + std::to_string(offset) + ", past the " +
                            std::to_string(sent_) + " bytes sent to it");
    return Status::ok();
}

void UnconfirmedBytes::confirm(std::uint64_t offset)
{
    if (offset > confirmed_ && offset <= sent_) {
        head_ += static_cast<std::size_t>(offset - confirmed_);
        confirmed_ = offset;
    }
}

StreamSender::StreamSender(std::uint64_t session, std::uint64_t received_start,
                           std::uint64_t sent_start, std::size_t window)
    : session_(session), window_(window), received_(received_start), sent_(sent_start)
{
}

const UnconfirmedBytes &StreamSender::stream(StreamKind kind) const
{
    return kind == StreamKind::received ? received_ : sent_;
}

UnconfirmedBytes &StreamSender::stream(StreamKind kind)
{
    return kind == StreamKind::received ? received_ : sent_;
}

std::size_t StreamSender::offer(StreamKind kind, const std::uint8_t *data, std::size_t len)
{
    return stream(kind).take(data, len, window_);
}

std::size_t StreamSender::room(StreamKind kind) const
{
    const std::size_t pending = stream(kind).pending();
    return window_ > pending ? window_ - pending : 0;
}

std::optional<StreamChunk> StreamSender::next_chunk(std::size_t max)
{
    if (auto chunk = received_.next(session_, StreamKind::received, max))
        return chunk;
    return sent_.next(session_, StreamKind::sent, max);
}

Status StreamSender::confirmed(const StreamAck &ack)
{
    if (ack.session != session_)
        return Status::fail("a confirmation for session " + std::to_string(ack.session) +
                            " reached session " + std::to_string(session_));
    // Both checked before either moves: a refused ack changes nothing.
    Status ok = received_.can_confirm(ack.received, StreamKind::received);
    if (ok)
        ok = sent_.can_confirm(ack.sent, StreamKind::sent);
    if (!ok)
        return ok;
    received_.confirm(ack.received);
    sent_.confirm(ack.sent);
    return Status::ok();
}

// --- the standby's side -----------------------------------------------------

StreamReceiver::StreamReceiver(std::uint64_t session, std::uint64_t received_start,
                               std::uint64_t sent_start)
    : session_(session), received_{received_start, {}, 0}, sent_{sent_start, {}, 0}
{
}

Result<std::size_t> StreamReceiver::accept(const StreamChunk &chunk)
{
    using R = Result<std::size_t>;
    const std::string what = std::string("chunk of the ") + stream_kind_name(chunk.kind) +
                             " stream at " + std::to_string(chunk.offset);
    if (chunk.session != session_)
        return R::fail(what + " is for session " + std::to_string(chunk.session) + ", not " +
                       std::to_string(session_));
    if (chunk.bytes.size() > kMaxChunk)
        return R::fail(what + " carries " + std::to_string(chunk.bytes.size()) +
                       " bytes, more than " + std::to_string(kMaxChunk));
    if (chunk.offset > std::numeric_limits<std::uint64_t>::max() - chunk.bytes.size())
        return R::fail(what + " runs past the largest offset");
    Stream &s = stream(chunk.kind);
    if (chunk.offset > s.end())
        return R::fail(what + " leaves a gap: the stream is at " + std::to_string(s.end()));
    if (chunk.offset < s.delivered)
        return R::fail(what + " goes back before " + std::to_string(s.delivered) +
                       ", bytes already delivered");
    const std::string_view held = s.held();
    const std::size_t at = static_cast<std::size_t>(chunk.offset - s.delivered);
    const std::size_t overlap = std::min(chunk.bytes.size(), held.size() - at);
    if (held.compare(at, overlap, std::string_view(chunk.bytes).substr(0, overlap)) != 0)
        return R::fail(what + " rewrites bytes the standby holds");
    if (held.size() + (chunk.bytes.size() - overlap) > max_held_)
        return R::fail(what + " would leave more than " + std::to_string(max_held_) +
                       " bytes undelivered: the sender ignores its window");
    s.buf.append(chunk.bytes, overlap, std::string::npos);
    return chunk.bytes.size() - overlap;
}

StreamAck StreamReceiver::ack() const
{
    return StreamAck{session_, received_.end(), sent_.end()};
}

std::string_view StreamReceiver::undelivered(StreamKind kind, std::size_t max) const
{
    return stream(kind).held().substr(0, max);
}

void StreamReceiver::delivered(StreamKind kind, std::size_t n)
{
    Stream &s = stream(kind);
    n = std::min(n, s.held().size());
    s.head += n;
    s.delivered += n;
    if (s.head == s.buf.size()) {
        s.buf.clear();
        s.head = 0;
    } else if (s.head > s.buf.size() / 2) {
        s.buf.erase(0, s.head);
        s.head = 0;
    }
}

std::uint64_t StreamReceiver::delivered_end(StreamKind kind) const
{
    return stream(kind).delivered;
}

std::uint64_t StreamReceiver::end(StreamKind kind) const
{
    return stream(kind).end();
}

}  // namespace frr_ha
