// BGP messages made by hand for tests: UPDATEs with chosen attributes,
// withdrawals and prefixes.
#pragma once

#include <cstdint>
#include <string>

#include "bgp_stream.hpp"
#include "stream_rib.hpp"

namespace frr_ha::test {

inline std::string u16(std::size_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

inline std::string update(const std::string &withdrawn, const std::string &attrs, const std::string &nlri)
{
    std::string body = u16(withdrawn.size()) + withdrawn + u16(attrs.size()) + attrs + nlri;
    return std::string(16, '\xff') + u16(19 + body.size()) + "\x02" + body;
}

inline std::string attr(std::uint8_t flags, std::uint8_t code, const std::string &value)
{
    return std::string{static_cast<char>(flags), static_cast<char>(code),
                       static_cast<char>(value.size())} + value;
}

inline const std::string kOrigin = attr(0x40, 1, std::string("\x00", 1));
inline const std::string kAsPath = attr(0x40, 2, std::string("\x02\x01\x00\x00\xfd\xea", 6));
inline const std::string kNextHop = attr(0x40, 3, std::string("\x0a\x00\x0c\x02", 4));
inline const std::string kMed = attr(0x80, 4, std::string("\x00\x00\x00\x07", 4));

inline std::string v4(std::uint8_t a, std::uint8_t b, std::uint8_t c) { return {24, char(a), char(b), char(c)}; }

inline std::string mp_reach_v6(const std::string &nlri)
{
    std::string nh(16, '\0');
    nh[0] = '\xfd';
    nh[15] = '\x02';
    std::string v = std::string("\x00\x02\x01", 3) + "\x10" + nh + std::string("\x00", 1) + nlri;
    return std::string{char(0x90), 14} + u16(v.size()) + v;
}

inline std::string v6(std::uint16_t n) { return std::string{48, 0x20, 0x01, 0x0d, char(0xb8), char(n >> 8), char(n & 0xff)}; }

// An OPEN as far as the stream records care: its type and a length.
inline std::string pseudo_open()
{
    std::string open = bgp_empty_update();
    open[18] = static_cast<char>(BgpType::Open);
    return open;
}

// A record's state as the bytes of its replay (equal states, equal bytes).
inline std::string replayed(const StreamRib &rib)
{
    std::string all;
    for (const auto &m : rib.replay(4096))
        all += m;
    return all;
}

}  // namespace frr_ha::test
