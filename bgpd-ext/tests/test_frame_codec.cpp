#include <catch2/catch.hpp>

#include "frame_codec.hpp"

#include <string>

using namespace frr_ha;

TEST_CASE("frames round-trip whatever the chunking")
{
    std::string stream = encode_frame(FrameType::Control, "hello") +
                         encode_frame(FrameType::Control, "") +
                         encode_frame(FrameType::Control, std::string(70000, 'x'));
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{8}, std::size_t{4096},
                              stream.size()}) {
        FrameDecoder dec;
        std::vector<std::string> got;
        for (std::size_t off = 0; off < stream.size(); off += chunk) {
            dec.feed(stream.data() + off, std::min(chunk, stream.size() - off));
            while (auto f = dec.next())
                got.push_back(f->payload);
        }
        REQUIRE(dec.error() == FrameError::None);
        REQUIRE(got.size() == 3);
        CHECK(got[0] == "hello");
        CHECK(got[1].empty());
        CHECK(got[2] == std::string(70000, 'x'));
        CHECK(dec.pending() == 0);
    }
}

TEST_CASE("the header is magic, version, type and a big-endian length")
{
    auto f = encode_frame(FrameType::Control, std::string(0x0102, 'a'));
    REQUIRE(f.size() == kFrameHeaderSize + 0x0102);
    CHECK(static_cast<unsigned char>(f[0]) == 0xFA);
    CHECK(static_cast<unsigned char>(f[1]) == 0x4A);
    CHECK(f[2] == kProtocolVersion);
    CHECK(f[3] == 1);
    CHECK(f.substr(4, 4) == std::string("\0\0\x01\x02", 4));
}

TEST_CASE("a truncated frame waits and shows as pending")
{
    auto f = encode_frame(FrameType::Control, "payload");
    FrameDecoder dec;
    dec.feed(f.data(), f.size() - 2);
    CHECK_FALSE(dec.next().has_value());
    CHECK(dec.error() == FrameError::None);
    CHECK(dec.pending() == f.size() - 2);
}

TEST_CASE("bad input stops the decoder with its cause")
{
    SECTION("garbage")
    {
        FrameDecoder dec;
        dec.feed("GET / HTTP/1.1\r\n", 16);
        CHECK_FALSE(dec.next().has_value());
        CHECK(dec.error() == FrameError::BadMagic);
    }
    SECTION("another protocol version")
    {
        auto f = encode_frame(FrameType::Control, "x");
        f[2] = 7;
        FrameDecoder dec;
        dec.feed(f.data(), f.size());
        CHECK_FALSE(dec.next().has_value());
        CHECK(dec.error() == FrameError::VersionMismatch);
        CHECK(dec.seen_version() == 7);
    }
    SECTION("unknown frame type")
    {
        auto f = encode_frame(FrameType::Control, "x");
        f[3] = 9;
        FrameDecoder dec;
        dec.feed(f.data(), f.size());
        CHECK_FALSE(dec.next().has_value());
        CHECK(dec.error() == FrameError::UnknownType);
    }
    SECTION("oversized: refused from the header alone")
    {
        std::string h = {'\xFA', '\x4A', static_cast<char>(kProtocolVersion), '\x01',
                         '\x00', '\x10', '\x00', '\x01'};
        FrameDecoder dec;
        dec.feed(h.data(), h.size());
        CHECK_FALSE(dec.next().has_value());
        CHECK(dec.error() == FrameError::Oversized);
        CHECK(dec.seen_length() == 0x100001);
    }
    SECTION("after an error, nothing more is decoded")
    {
        FrameDecoder dec;
        dec.feed("zz", 2);
        auto good = encode_frame(FrameType::Control, "ok");
        dec.feed(good.data(), good.size());
        CHECK_FALSE(dec.next().has_value());
        CHECK_FALSE(dec.next().has_value());
        CHECK(dec.error() == FrameError::BadMagic);
    }
}

TEST_CASE("a frame of exactly the maximum size is accepted")
{
    auto f = encode_frame(FrameType::Control, std::string(kMaxFramePayload, 'm'));
    FrameDecoder dec;
    dec.feed(f.data(), f.size());
    auto got = dec.next();
    REQUIRE(got.has_value());
    CHECK(got->payload.size() == kMaxFramePayload);
}
