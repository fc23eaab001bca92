// StreamRib: the state a BGP stream leaves, replayed as UPDATEs.
#include <catch2/catch.hpp>

#include "bgp_stream.hpp"
#include "stream_rib.hpp"

#include <string>

using namespace frr_ha;

namespace {

std::string u16(std::size_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

std::string update(const std::string &withdrawn, const std::string &attrs, const std::string &nlri)
{
    std::string body = u16(withdrawn.size()) + withdrawn + u16(attrs.size()) + attrs + nlri;
    return std::string(16, '\xff') + u16(19 + body.size()) + "\x02" + body;
}

std::string attr(std::uint8_t flags, std::uint8_t code, const std::string &value)
{
    return std::string{static_cast<char>(flags), static_cast<char>(code),
                       static_cast<char>(value.size())} + value;
}

const std::string kOrigin = attr(0x40, 1, std::string("\x00", 1));
const std::string kAsPath = attr(0x40, 2, std::string("\x02\x01\x00\x00\xfd\xea", 6));
const std::string kNextHop = attr(0x40, 3, "\x0a\x00\x0c\x02");
const std::string kMed = attr(0x80, 4, std::string("\x00\x00\x00\x07", 4));

std::string v4(std::uint8_t a, std::uint8_t b, std::uint8_t c) { return {24, char(a), char(b), char(c)}; }

std::string mp_reach_v6(const std::string &nlri)
{
    std::string nh(16, '\0');
    nh[0] = '\xfd';
    nh[15] = '\x02';
    std::string v = std::string("\x00\x02\x01", 3) + "\x10" + nh + std::string("\x00", 1) + nlri;
    return std::string{char(0x90), 14} + u16(v.size()) + v;
}

std::string v6(std::uint16_t n) { return std::string{48, 0x20, 0x01, 0x0d, char(0xb8), char(n >> 8), char(n & 0xff)}; }

std::string replayed(const StreamRib &rib)
{
    std::string all;
    for (const auto &m : rib.replay(4096))
        all += m;
    return all;
}

}  // namespace

TEST_CASE("a stream's routes replay into the same state")
{
    StreamRib rib;
    REQUIRE(rib.apply(update("", kOrigin + kAsPath + kNextHop, v4(10, 2, 0) + v4(10, 2, 1) + v4(10, 2, 2))));
    REQUIRE(rib.apply(update("", kOrigin + kAsPath + kNextHop + kMed, v4(10, 2, 3))));
    REQUIRE(rib.apply(update(v4(10, 2, 1), "", "")));                       // withdrawn
    REQUIRE(rib.apply(update("", kOrigin + kAsPath + kNextHop + kMed, v4(10, 2, 2))));  // changed
    REQUIRE(rib.apply(update("", kOrigin + kAsPath + mp_reach_v6(v6(1) + v6(2)), "")));
    REQUIRE(rib.apply(update("", "", "")));  // IPv4 End-of-RIB
    CHECK(rib.prefixes() == 5);

    auto messages = rib.replay(4096);
    // 10.2.0/24 alone; 10.2.2/24 and 10.2.3/24 together; the IPv6 pair; EoR.
    CHECK(messages.size() == 4);
    StreamRib again;
    for (const auto &m : messages) {
        BgpStreamFramer f;
        f.feed(m.data(), m.size());
        REQUIRE(f.next());
        REQUIRE(again.apply(m));
    }
    CHECK(again.prefixes() == 5);
    CHECK(replayed(again) == replayed(rib));
}

TEST_CASE("replay splits a large table into messages that fit")
{
    StreamRib rib;
    std::string nlri;
    for (int i = 0; i < 3000; i++)
        nlri += v4(172, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
    // Extended messages carried it in one UPDATE.
    REQUIRE(rib.apply(update("", kOrigin + kAsPath + kNextHop, nlri)));
    auto messages = rib.replay(4096);
    CHECK(messages.size() == 3);
    for (const auto &m : messages)
        CHECK(m.size() <= 4096);
}

TEST_CASE("prefixes replay grouped by attribute set, and the same state replays the same bytes")
{
    // Two attribute sets whose prefixes alternate, each prefix in its own
    // UPDATE, in one order on one record and the reverse order on another.
    const std::string a = kOrigin + kAsPath + kNextHop;
    const std::string b = kOrigin + kAsPath + kNextHop + kMed;
    StreamRib forward, backward;
    for (int i = 0; i < 200; i++)
        REQUIRE(forward.apply(update("", i % 2 ? b : a, v4(10, 3, static_cast<std::uint8_t>(i)))));
    for (int i = 199; i >= 0; i--)
        REQUIRE(backward.apply(update("", i % 2 ? b : a, v4(10, 3, static_cast<std::uint8_t>(i)))));
    auto messages = forward.replay(4096);
    // One message per set, the set of the lowest prefix first, each with
    // its 100 prefixes in order.
    REQUIRE(messages.size() == 2);
    std::string nlri_a, nlri_b;
    for (int i = 0; i < 200; i++)
        (i % 2 ? nlri_b : nlri_a) += v4(10, 3, static_cast<std::uint8_t>(i));
    CHECK(messages[0] == update("", a, nlri_a));
    CHECK(messages[1] == update("", b, nlri_b));
    CHECK(replayed(backward) == replayed(forward));
}

TEST_CASE("what cannot be replayed makes the record unusable, saying why")
{
    StreamRib rib;
    std::string vpn = std::string("\x00\x01\x80", 3) + "\x04" + "\x0a\x00\x00\x01" + std::string("\x00", 1);
    CHECK_FALSE(rib.apply(update("", kOrigin + std::string{char(0x90), 14} + u16(vpn.size()) + vpn, "")));
    CHECK_FALSE(rib.usable());
    CHECK(rib.why() == "address family 1/128 is not supported");

    StreamRib addpath;  // a path identifier makes the prefix overrun
    CHECK_FALSE(addpath.apply(update("", kOrigin + kAsPath + kNextHop, std::string("\x00\x00\x00\x01\x18\x0a\x02", 7))));
    CHECK(addpath.why().find("ADD-PATH") != std::string::npos);
}

TEST_CASE("the difference between two records is only what differs")
{
    StreamRib holds, wants;
    // Both: 10.2.0/24 alike. Peer holds 10.2.1/24 (gone in wants) and
    // 10.2.2/24 with another MED; wants adds 10.2.3/24 and an IPv6 prefix,
    // and has sent End-of-RIB.
    REQUIRE(holds.apply(update("", kOrigin + kAsPath + kNextHop, v4(10, 2, 0) + v4(10, 2, 1) + v4(10, 2, 2))));
    REQUIRE(holds.apply(update("", kOrigin + kAsPath + mp_reach_v6(v6(1) + v6(9)), "")));
    REQUIRE(wants.apply(update("", kOrigin + kAsPath + kNextHop, v4(10, 2, 0))));
    REQUIRE(wants.apply(update("", kOrigin + kAsPath + kNextHop + kMed, v4(10, 2, 2) + v4(10, 2, 3))));
    REQUIRE(wants.apply(update("", kOrigin + kAsPath + mp_reach_v6(v6(1) + v6(2)), "")));
    REQUIRE(wants.apply(update("", "", "")));

    auto diff = holds.diff_to(wants, 4096);
    // withdraw 10.2.1/24; MP_UNREACH v6(9); announce 10.2.2+3 together; v6(2); EoR.
    CHECK(diff.size() == 5);
    StreamRib after = holds;
    for (const auto &m : diff)
        REQUIRE(after.apply(m));
    CHECK(after.prefixes() == wants.prefixes());
    CHECK(replayed(after) == replayed(wants));
    CHECK(after.diff_to(wants, 4096).empty());
    CHECK(wants.diff_to(wants, 4096).empty());
}
