#include "frame_codec.hpp"

namespace frr_ha {

std::string_view describe(FrameError error)
{
    switch (error) {
    case FrameError::None:
        return "no error";
    case FrameError::BadMagic:
        return "bad frame magic (not an frr-ha channel, or framing lost)";
    case FrameError::VersionMismatch:
        return "protocol version mismatch";
    case FrameError::UnknownType:
        return "unknown frame type";
    case FrameError::Oversized:
        return "oversized frame";
    }
    return "unknown error";
}

std::string encode_frame(FrameType type, std::string_view payload)
{
    const auto len = static_cast<std::uint32_t>(payload.size());
    std::string out;
    out.reserve(kFrameHeaderSize + payload.size());
    out.push_back(static_cast<char>(kFrameMagic0));
    out.push_back(static_cast<char>(kFrameMagic1));
    out.push_back(static_cast<char>(kProtocolVersion));
    out.push_back(static_cast<char>(type));
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((len >> shift) & 0xff));
    out.append(payload);
    return out;
}

void FrameDecoder::feed(const void *data, std::size_t len)
{
    if (error_ != FrameError::None)
        return;
    // Drop what was consumed before growing, so the buffer stays one frame big.
    if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
    }
    buffer_.append(static_cast<const char *>(data), len);
}

std::optional<Frame> FrameDecoder::next()
{
    if (error_ != FrameError::None || pending() < kFrameHeaderSize)
        return std::nullopt;
    const auto *h = reinterpret_cast<const std::uint8_t *>(buffer_.data() + consumed_);
    if (h[0] != kFrameMagic0 || h[1] != kFrameMagic1) {
        error_ = FrameError::BadMagic;
        return std::nullopt;
    }
    seen_version_ = h[2];
    if (h[2] != kProtocolVersion) {
        error_ = FrameError::VersionMismatch;
        return std::nullopt;
    }
    if (h[3] != static_cast<std::uint8_t>(FrameType::Control)) {
        error_ = FrameError::UnknownType;
        return std::nullopt;
    }
    seen_length_ = (std::uint32_t{h[4]} << 24) | (std::uint32_t{h[5]} << 16) |
                   (std::uint32_t{h[6]} << 8) | std::uint32_t{h[7]};
    if (seen_length_ > kMaxFramePayload) {
        error_ = FrameError::Oversized;
        return std::nullopt;
    }
    if (pending() < kFrameHeaderSize + seen_length_)
        return std::nullopt;
    Frame frame{static_cast<FrameType>(h[3]),
                buffer_.substr(consumed_ + kFrameHeaderSize, seen_length_)};
    consumed_ += kFrameHeaderSize + seen_length_;
    return frame;
}

}  // namespace frr_ha
