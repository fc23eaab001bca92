// Framing of the HA channel: an 8-byte header and a payload, carried inside
// the channel's TLS session.
//
//   0      1      2        3      4..7
//   0xFA   0x4A   version  type   payload length (big endian)
//
// The decoder is incremental (bytes arrive in any chunks) and strict: the
// first bad header makes it stop for good, with the cause, because a stream
// that lost its framing cannot be trusted again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace frr_ha {

constexpr std::uint8_t kFrameMagic0 = 0xFA;
constexpr std::uint8_t kFrameMagic1 = 0x4A;
// 2: the frames travel inside a TLS 1.3 session (secure_channel.hpp);
// 1 was the plaintext channel with an HMAC handshake.
constexpr std::uint8_t kProtocolVersion = 2;
constexpr std::size_t kFrameHeaderSize = 8;
constexpr std::uint32_t kMaxFramePayload = 1u << 20;

enum class FrameType : std::uint8_t {
    Control = 1,  // one protobuf frr_ha.wire.Message
};

struct Frame {
    FrameType type;
    std::string payload;
};

enum class FrameError { None, BadMagic, VersionMismatch, UnknownType, Oversized };

std::string_view describe(FrameError error);

std::string encode_frame(FrameType type, std::string_view payload);

class FrameDecoder {
public:
    void feed(const void *data, std::size_t len);
    // The next complete frame, or nothing when more bytes are needed or the
    // stream is broken (see error()).
    std::optional<Frame> next();

    FrameError error() const { return error_; }
    // The version the partner's last header carried (for mismatch messages).
    std::uint8_t seen_version() const { return seen_version_; }
    std::uint32_t seen_length() const { return seen_length_; }
    // Bytes of an incomplete frame: non-zero at EOF means a truncated frame.
    std::size_t pending() const { return buffer_.size() - consumed_; }

private:
    std::string buffer_;
    std::size_t consumed_ = 0;
    FrameError error_ = FrameError::None;
    std::uint8_t seen_version_ = 0;
    std::uint32_t seen_length_ = 0;
};

}  // namespace frr_ha
