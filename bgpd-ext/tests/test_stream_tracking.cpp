// Byte positions, message boundaries and half-written messages: the
// bookkeeping a standby needs to continue a TF session exactly.
#include <catch2/catch.hpp>

#include "bgp_stream.hpp"
#include "receive_mirror.hpp"
#include "send_log.hpp"

#include <string>
#include <vector>

using namespace frr_ha;

namespace {

// A syntactically valid UPDATE of `total` bytes (withdrawn routes only).
std::string update_of(std::size_t total)
{
    const std::size_t body = total - kBgpHeaderSize;
    std::string m(16, '\xff');
    m.push_back(static_cast<char>(total >> 8));
    m.push_back(static_cast<char>(total & 0xff));
    m.push_back(static_cast<char>(BgpType::Update));
    const std::size_t withdrawn = body - 4;
    m.push_back(static_cast<char>(withdrawn >> 8));
    m.push_back(static_cast<char>(withdrawn & 0xff));
    m.append(withdrawn, '\x01');
    m.append(2, '\0');
    return m;
}

std::vector<std::string> frame_all(const std::string &stream, std::size_t chunk)
{
    BgpStreamFramer f;
    std::vector<std::string> out;
    for (std::size_t off = 0; off < stream.size(); off += chunk) {
        f.feed(stream.data() + off, std::min(chunk, stream.size() - off));
        while (auto m = f.next())
            out.push_back(*m);
    }
    REQUIRE_FALSE(f.broken());
    return out;
}

}  // namespace

TEST_CASE("the framer finds every message boundary whatever the chunking")
{
    const std::string stream = bgp_keepalive() + update_of(100) + bgp_empty_update() +
                               update_of(4096) + bgp_keepalive();
    for (std::size_t chunk : {1, 7, 19, 64, 5000}) {
        auto msgs = frame_all(stream, chunk);
        REQUIRE(msgs.size() == 5);
        CHECK(msgs[0] == bgp_keepalive());
        CHECK(msgs[1].size() == 100);
        CHECK(msgs[2] == bgp_empty_update());
        CHECK(msgs[3].size() == 4096);
    }
}

TEST_CASE("the framer tracks the last boundary and the partial message")
{
    BgpStreamFramer f;
    auto u = update_of(50);
    std::string s = bgp_keepalive() + u.substr(0, 30);
    f.feed(s.data(), s.size());
    REQUIRE(f.next().has_value());
    CHECK_FALSE(f.next().has_value());
    CHECK(f.boundary() == 19);
    CHECK(f.partial() == 30);
    f.feed(u.data() + 30, 20);
    REQUIRE(f.next().has_value());
    CHECK(f.boundary() == 69);
    CHECK(f.partial() == 0);
}

TEST_CASE("the framer gives back a large feed's memory once it framed all of it")
{
    // A table load feeds 64 KiB at a time; every session's streams kept
    // that much between messages.
    BgpStreamFramer f(kBgpMaxExtendedMessage);
    std::string burst;
    while (burst.size() < (64u << 10))
        burst += update_of(4096);
    f.feed(burst.data(), burst.size());
    CHECK(f.memory() >= burst.size());
    std::size_t framed = 0;
    while (auto m = f.next())
        framed += m->size();
    CHECK(framed == burst.size());
    CHECK(f.partial() == 0);
    CHECK(f.memory() <= kBgpMaxMessage);

    // A message cut in the middle keeps its bytes, and the stream goes on.
    const std::string u = update_of(3000);
    std::string cut = burst + u.substr(0, 1000);
    f.feed(cut.data(), cut.size());
    while (f.next())
        ;
    CHECK(f.partial() == 1000);
    f.feed(u.data() + 1000, u.size() - 1000);
    auto last = f.next();
    REQUIRE(last.has_value());
    CHECK(*last == u);
    CHECK(f.boundary() == 2 * burst.size() + u.size());
    CHECK(f.memory() <= kBgpMaxMessage);
}

TEST_CASE("the framer refuses a broken stream and says where")
{
    SECTION("bad marker")
    {
        BgpStreamFramer f;
        std::string s = bgp_keepalive();
        s[3] = 0;
        f.feed(s.data(), s.size());
        CHECK_FALSE(f.next().has_value());
        CHECK(f.error() == "BGP marker not all ones at offset 0");
    }
    SECTION("length too small or too large")
    {
        for (std::uint16_t len : {std::uint16_t{18}, std::uint16_t{4097}}) {
            BgpStreamFramer f;
            std::string s = bgp_keepalive();
            s[16] = static_cast<char>(len >> 8);
            s[17] = static_cast<char>(len & 0xff);
            f.feed(s.data(), s.size());
            CHECK_FALSE(f.next().has_value());
            CHECK(f.broken());
        }
    }
    SECTION("extended messages when negotiated")
    {
        BgpStreamFramer f(kBgpMaxExtendedMessage);
        auto big = update_of(10000);
        f.feed(big.data(), big.size());
        CHECK(f.next().has_value());
    }
}

TEST_CASE("send log: a message written in part is completed byte for byte")
{
    SendLog log(1000);
    auto m1 = update_of(60), m2 = update_of(80), m3 = bgp_keepalive();
    REQUIRE(log.append(1000, m1));
    REQUIRE(log.append(1060, m2));
    REQUIRE(log.append(1140, m3));
    CHECK(log.end() == 1159);

    auto r = log.resume(1100);  // 40 bytes of m2 are on the wire
    REQUIRE(r.has_value());
    CHECK(r->complete == m2.substr(40));
    CHECK(r->boundary == 1140);
    CHECK(r->unwritten == 1);  // m3 never started: left to the diff

    r = log.resume(1060);  // exactly on a boundary: nothing to complete
    REQUIRE(r.has_value());
    CHECK(r->complete.empty());
    CHECK(r->boundary == 1060);
    CHECK(r->unwritten == 2);

    r = log.resume(1159);  // everything written
    REQUIRE(r.has_value());
    CHECK(r->complete.empty());
    CHECK(r->unwritten == 0);
}

TEST_CASE("send log: the completed stream is the original stream")
{
    // Whatever byte the old writer stopped at, what it wrote plus the
    // completion is a prefix of the logged stream that ends on a boundary.
    SendLog log;
    std::string stream;
    for (std::size_t len : {19, 23, 200, 4096, 19, 57}) {
        auto m = len == 19 ? bgp_keepalive() : len == 23 ? bgp_empty_update() : update_of(len);
        REQUIRE(log.append(stream.size(), m));
        stream += m;
    }
    for (std::uint64_t written = 0; written <= stream.size(); written++) {
        auto r = log.resume(written);
        REQUIRE(r.has_value());
        auto resumed = stream.substr(0, written) + r->complete;
        REQUIRE(resumed == stream.substr(0, r->boundary));
        auto msgs = frame_all(resumed, 4096);
        std::size_t total = 0;
        for (const auto &m : msgs)
            total += m.size();
        REQUIRE(total == resumed.size());  // ends on a boundary, nothing malformed
    }
}

TEST_CASE("send log: gaps, overlaps and unknown positions are refused")
{
    SendLog log(0);
    REQUIRE(log.append(0, bgp_keepalive()));
    CHECK_FALSE(log.append(20, bgp_keepalive()));  // gap
    CHECK_FALSE(log.append(10, bgp_keepalive()));  // overlap
    CHECK_FALSE(log.append(19, ""));
    CHECK_FALSE(log.resume(20).has_value());  // beyond what was logged
    log.append(19, update_of(40));
    log.trim(30);  // the first message is acknowledged
    CHECK(log.begin() == 19);
    CHECK(log.messages() == 1);
    CHECK_FALSE(log.resume(10).has_value());  // before what the log holds
    REQUIRE(log.resume(30).has_value());
}

TEST_CASE("receive mirror: duplicates at the head of the queue are counted once")
{
    ReceiveMirror mirror(500);  // 500 bytes (OPEN, KEEPALIVEs) before mirroring began
    REQUIRE(mirror.append(500, 100));
    REQUIRE(mirror.append(600, 50));
    CHECK_FALSE(mirror.append(700, 10));  // a gap
    CHECK(mirror.end() == 650);
    // The active died after mirroring 650 but consuming only 620.
    CHECK(mirror.duplicates_in_queue(620) == 30);
    CHECK(mirror.duplicates_in_queue(650) == 0);
    // It consumed bytes the mirror never got: lost, no transparent takeover.
    CHECK_FALSE(mirror.duplicates_in_queue(651).has_value());
}
