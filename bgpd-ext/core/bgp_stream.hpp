// Message boundaries in a BGP byte stream (RFC 4271 section 4.1 header:
// 16 bytes of 0xff, a 2-byte length counting the header, a 1-byte type).
// Used on mirrored and logged streams to know, at every byte offset, where
// the messages begin and end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace frr_ha {

constexpr std::size_t kBgpHeaderSize = 19;
constexpr std::size_t kBgpMaxMessage = 4096;          // RFC 4271
constexpr std::size_t kBgpMaxExtendedMessage = 65535;  // RFC 8654

enum class BgpType : std::uint8_t {
    Open = 1,
    Update = 2,
    Notification = 3,
    Keepalive = 4,
    RouteRefresh = 5,
};

// A KEEPALIVE message (the header alone).
std::string bgp_keepalive();
// An UPDATE with nothing in it: the End-of-RIB marker of IPv4 unicast.
std::string bgp_empty_update();

class BgpStreamFramer {
public:
    explicit BgpStreamFramer(std::size_t max_message = kBgpMaxMessage)
        : max_message_(max_message)
    {
    }

    void feed(const void *data, std::size_t len);
    // The next complete message, header included; nothing when more bytes
    // are needed or the stream is broken.
    std::optional<std::string> next();

    bool broken() const { return !error_.empty(); }
    const std::string &error() const { return error_; }
    // Stream offset just after the last message next() returned.
    std::uint64_t boundary() const { return boundary_; }
    // Bytes of a message not complete yet.
    std::size_t partial() const { return buffer_.size() - pos_; }
    std::string partial_bytes() const { return buffer_.substr(pos_); }
    // Heap the framer keeps between messages.
    std::size_t memory() const { return buffer_.capacity(); }

private:
    // A buffer grown past this by a large read or write is given back once
    // everything in it was framed: kept per stream of every session, a
    // load's 64 KiB feeds were most of what a session cost above stock bgpd.
    static constexpr std::size_t kKeptCapacity = kBgpMaxMessage;
    void forget_framed();

    std::size_t max_message_;
    std::string buffer_;
    std::size_t pos_ = 0;
    std::uint64_t boundary_ = 0;
    std::string error_;
};

}  // namespace frr_ha
