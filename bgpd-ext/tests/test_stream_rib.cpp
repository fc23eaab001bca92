// StreamRib: the state a BGP stream leaves, replayed as UPDATEs.
#include <catch2/catch.hpp>

#include "bgp_stream.hpp"
#include "chunk_pool.hpp"
#include "prefix_table.hpp"
#include "prefix_table_model.hpp"
#include "stream_rib.hpp"
#include "bgp_messages.hpp"

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace frr_ha;
using namespace frr_ha::test;

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

TEST_CASE("attribute sets are held once per process, and freed with the last record holding them")
{
    const std::size_t before = interned_paths();
    // A MED no other test uses: these two paths are new to the pool.
    const std::string med = attr(0x80, 4, std::string("\x00\x01\x71\x17", 4));
    {
        StreamRib a, b;
        REQUIRE(a.apply(update("", kOrigin + kAsPath + kNextHop + med, v4(10, 7, 0) + v4(10, 7, 1))));
        REQUIRE(a.apply(update("", kOrigin + kAsPath + med + mp_reach_v6(v6(7)), "")));
        CHECK(interned_paths() == before + 2);
        REQUIRE(b.apply(update("", kOrigin + kAsPath + kNextHop + med, v4(10, 7, 2))));
        CHECK(interned_paths() == before + 2);  // b shares a's set
        StreamRib copy = a;
        CHECK(interned_paths() == before + 2);
        REQUIRE(a.apply(update(v4(10, 7, 0) + v4(10, 7, 1), "", "")));
        a = StreamRib();
        CHECK(interned_paths() == before + 2);  // still held by b and the copy
        copy = StreamRib();
        CHECK(interned_paths() == before + 1);  // the IPv6 path is gone
        CHECK(b.prefixes() == 1);
    }
    CHECK(interned_paths() == before);
}

TEST_CASE("records on several threads share the pool safely")
{
    // Each thread builds and drops records over the same attribute sets, so
    // blocks are found, shared and freed concurrently; each record replays
    // what a record built alone replays.
    std::vector<std::string> stream;
    for (int s = 0; s < 64; s++) {
        const std::string med = attr(0x80, 4, std::string("\x00\x02\x00", 3) + char(s));
        std::string nlri;
        for (int i = 0; i < 8; i++)
            nlri += v4(10, static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(i));
        stream.push_back(update("", kOrigin + kAsPath + kNextHop + med, nlri));
    }
    StreamRib alone;
    for (const auto &m : stream)
        REQUIRE(alone.apply(m));
    const std::string expected = replayed(alone);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 200; round++) {
                StreamRib rib;
                for (std::size_t i = 0; i < stream.size(); i++)
                    rib.apply(stream[(i + static_cast<std::size_t>(t * 17 + round)) % stream.size()]);
                if (replayed(rib) != expected)
                    wrong++;
            }
        });
    for (auto &th : threads)
        th.join();
    CHECK(wrong == 0);
}

TEST_CASE("the compact prefix table keeps the order, lookups and bounds of an ordered map")
{
    // Random inserts, replacements and erasures over a small key space (so
    // chunks fill, split, empty and merge), checked against std::map over
    // the NLRI bytes: the order records replayed in before the table.
    std::vector<PathRef> paths;
    for (int i = 0; i < 5; i++)
        paths.push_back(PathRef::intern(kOrigin + attr(0x80, 4, std::string("\x00\x03\x00", 3) + char(i)), nullptr));
    PrefixTable table(5);
    Model model;
    std::mt19937 rng(17);
    for (int round = 0; round < 6; round++) {
        // Grow, then shrink: three rounds of mostly inserts, three of mostly erasures.
        const unsigned erase_share = round < 3 ? 3 : 8;
        for (int op = 0; op < 20000; op++) {
            const std::string k = random_key(rng);
            if (rng() % 10 < erase_share) {
                CHECK(table.erase(raw(k)) == (model.erase(k) == 1));
            } else {
                const PathRef &p = paths[rng() % paths.size()];
                table.set(raw(k), p);
                model[k] = p.get();
            }
        }
        check_against(table, model, rng, 2000);
    }
    table.clear();
    CHECK(table.size() == 0);
    CHECK(table.at_end(table.begin()));
}

TEST_CASE("a record replays in the order of family, then the prefix's bytes, in parts as whole")
{
    // Prefixes of several lengths (/0, /8, /25, /32) and families, given a
    // few at a time: the parts together are the whole replay, the families
    // in order, a prefix added behind the cursor not given.
    StreamRib rib;
    const std::string a = kOrigin + kAsPath + kNextHop;
    std::string nlri = std::string(1, '\0') + std::string("\x08\x0b", 2) + std::string("\x19\x0a\x02\x00\x80", 5) +
                       std::string("\x20\x0a\x02\x00\x01", 5) + v4(10, 2, 0) + v4(9, 1, 1);
    REQUIRE(rib.apply(update("", a, nlri)));
    REQUIRE(rib.apply(update("", kOrigin + kAsPath + mp_reach_v6(v6(3) + v6(1) + v6(2)), "")));
    REQUIRE(rib.apply(update("", "", "")));
    CHECK(rib.prefixes() == 9);

    StreamRib::Cursor cursor;
    std::vector<std::string> parts;
    std::string why;
    REQUIRE(rib.replay_part(cursor, 4, 4096, &parts, &why));
    // Behind the cursor (the first four IPv4 prefixes in order are /0, /8,
    // 9.1.1/24 and 10.2.0/24): not given, as before.
    REQUIRE(rib.apply(update("", a, v4(9, 0, 0))));
    while (!cursor.done())
        REQUIRE(rib.replay_part(cursor, 4, 4096, &parts, &why));
    StreamRib rebuilt;
    for (const auto &m : parts)
        REQUIRE(rebuilt.apply(m));
    CHECK(rebuilt.prefixes() == 9);
    REQUIRE(rib.apply(update(v4(9, 0, 0), "", "")));
    CHECK(replayed(rebuilt) == replayed(rib));
    // IPv4 in prefix order: /0, 8.11/8 ... /32 last of 10.2.0.x.
    auto whole = rib.replay(4096);
    REQUIRE(whole.size() == 3);
    CHECK(whole[0] == update("", a, std::string(1, '\0') + std::string("\x08\x0b", 2) + v4(9, 1, 1) + v4(10, 2, 0) +
                                        std::string("\x19\x0a\x02\x00\x80", 5) + std::string("\x20\x0a\x02\x00\x01", 5)));
    CHECK(whole[1] == update("", kOrigin + kAsPath + mp_reach_v6(v6(1) + v6(2) + v6(3)), ""));
}

TEST_CASE("peers sent the same routes, each with its own next hop, share their records and replay their own")
{
    // bgpd sends the peers of an update group the same routes, each with its
    // address towards that peer as next hop, packed into messages as each
    // subgroup's timers fire.
    const std::size_t chunks_before = interned_chunks(), paths_before = interned_paths();
    const std::string med = attr(0x80, 4, std::string("\x00\x02\x51\x17", 4));
    auto next_hop_of = [](int s) { return std::string{10, 0, static_cast<char>(s), 1}; };
    auto mp_reach_via = [](int s, const std::string &nlri) {
        std::string nh(16, '\0');
        nh[0] = '\xfd';
        nh[15] = static_cast<char>(s);
        std::string v = std::string("\x00\x02\x01", 3) + "\x10" + nh + std::string("\x00", 1) + nlri;
        return std::string{char(0x90), 14} + u16(v.size()) + v;
    };
    std::vector<std::string> v4s, v6s;
    for (int i = 0; i < 3000; i++)
        v4s.push_back(v4(10, static_cast<std::uint8_t>(100 + i / 256), static_cast<std::uint8_t>(i % 256)));
    for (int i = 0; i < 500; i++)
        v6s.push_back(v6(static_cast<std::uint16_t>(i)));
    auto feed = [&](StreamRib &rib, int s) {
        const std::size_t per = 1 + static_cast<std::size_t>(s) % 7, start = static_cast<std::size_t>(s) * 37;
        for (std::size_t i = 0; i < v4s.size(); i += per) {
            std::string nlri;
            for (std::size_t j = i; j < std::min(i + per, v4s.size()); j++)
                nlri += v4s[(start + j) % v4s.size()];
            REQUIRE(rib.apply(update("", kOrigin + kAsPath + attr(0x40, 3, next_hop_of(s)) + med, nlri)));
        }
        for (std::size_t i = 0; i < v6s.size(); i += per * 3) {
            std::string nlri;
            for (std::size_t j = i; j < std::min(i + per * 3, v6s.size()); j++)
                nlri += v6s[(start + j) % v6s.size()];
            REQUIRE(rib.apply(update("", kOrigin + kAsPath + med + mp_reach_via(s, nlri), "")));
        }
    };
    {
        constexpr int kSessions = 20;
        std::vector<StreamRib> records(kSessions);
        feed(records[0], 0);
        const std::size_t one = interned_chunks() - chunks_before;
        CHECK(one > 10);
        for (int s = 1; s < kSessions; s++)
            feed(records[s], s);
        CHECK(interned_chunks() - chunks_before == one);  // one record's chunks for twenty
        CHECK(interned_paths() - paths_before == 2);      // one path per family

        for (int s = 0; s < kSessions; s++) {
            const std::string r = replayed(records[s]);
            CHECK(r.find(next_hop_of(s)) != std::string::npos);
            CHECK(r.find(next_hop_of((s + 1) % kSessions)) == std::string::npos);
            StreamRib again;
            for (const auto &m : records[s].replay(4096))
                REQUIRE(again.apply(m));
            CHECK(replayed(again) == r);
            CHECK(again.diff_to(records[s], 4096).empty());
        }
        // Another next hop is a difference the peer must be sent.
        auto diff = records[0].diff_to(records[1], 4096);
        CHECK(diff.size() >= 2);
        StreamRib after = records[0];
        for (const auto &m : diff)
            REQUIRE(after.apply(m));
        CHECK(after.diff_to(records[1], 4096).empty());
        CHECK(replayed(after).find(next_hop_of(1)) != std::string::npos);
        // A next hop that is not the record's own (a third party's) stays as sent.
        REQUIRE(records[2].apply(update("", kOrigin + kAsPath + attr(0x40, 3, next_hop_of(99)) + med, v4(10, 200, 0))));
        CHECK(replayed(records[2]).find(next_hop_of(99)) != std::string::npos);
        CHECK(replayed(records[2]).find(next_hop_of(2)) != std::string::npos);
    }
    CHECK(interned_chunks() == chunks_before);
    CHECK(interned_paths() == paths_before);
}
