// The HA channel as a security boundary, seen from PairNode: what an
// attacker does to the bytes between the RPs is refused, logged and counted,
// and the pair keeps its roles (the active keeps routing) and re-forms.
#include <catch2/catch.hpp>

#include "pair_harness.hpp"
#include "secure_channel.hpp"

namespace {

// The delivery to `to` that the next tick of `from` queues (a STATUS).
Wire::Delivery &next_status(Harness &h, int from, int to)
{
    h.wire.queue.clear();
    h.nodes[from]->tick(h.now);
    for (auto &d : h.wire.queue)
        if (d.to == to)
            return d;
    FAIL("no STATUS queued");
    return h.wire.queue.front();
}

void check_pair_kept_and_reforms(Harness &h)
{
    CHECK(h.nodes[0]->role() == Role::Active);
    CHECK(h.nodes[1]->role() == Role::Standby);
    if (h.wire.ends.empty())
        h.connect(0, 1);
    h.run(500);
    CHECK(h.nodes[0]->channel_state() == ChannelState::Up);
    CHECK(h.nodes[1]->ready());
    CHECK(h.nodes[0]->role() == Role::Active);
}

}  // namespace

TEST_CASE("the channel that is up runs TLS 1.3 with AES-256-GCM, in both modes")
{
    for (bool tcp : {false, true}) {
        auto h = formed_pair(tcp);
        CHECK(h.nodes[0]->channel_tls_version() == "TLSv1.3");
        CHECK(h.nodes[1]->channel_cipher() == "TLS_AES_256_GCM_SHA384");
        CHECK(h.hosts[1]->logged("HA channel to rp a up (TLSv1.3, TLS_AES_256_GCM_SHA384"));
        CHECK(h.nodes[0]->last_refusal().empty());
    }
}

TEST_CASE("a flipped bit in a record on the live channel is refused and counted")
{
    for (bool tcp : {false, true}) {
        auto h = formed_pair(tcp);
        auto &d = next_status(h, 0, 1);
        d.bytes[d.bytes.size() / 2] ^= 0x04;
        const auto frames = h.nodes[1]->counters().frames_received;
        h.pump();
        CHECK(h.nodes[1]->counters().records_rejected == 1);
        CHECK(h.nodes[1]->counters().frames_received == frames);  // nothing delivered
        CHECK(h.hosts[1]->logged("record refused: a record failed its integrity check"));
        CHECK(h.nodes[1]->last_refusal().find("record refused") == 0);
        CHECK(h.nodes[1]->channel_state() == ChannelState::Down);
        if (!tcp) {
            check_pair_kept_and_reforms(h);
        } else {
            // Dual-RP: the standby waits the detection time for a new channel.
            h.connect(0, 1);
            h.run(500);
            CHECK(h.nodes[0]->role() == Role::Active);
            CHECK(h.nodes[1]->ready());
        }
    }
}

TEST_CASE("a stream truncated inside a record is refused and counted")
{
    auto h = formed_pair();
    auto &d = next_status(h, 0, 1);
    const auto ch = d.ch;
    const auto half = d.bytes.substr(0, d.bytes.size() / 2);
    h.wire.queue.clear();
    h.nodes[1]->channel_bytes(ch, half.data(), half.size(), h.now);
    h.wire.ends.erase(ch);
    h.nodes[1]->channel_closed(ch, h.now);
    CHECK(h.nodes[1]->counters().truncations == 1);
    CHECK(h.hosts[1]->logged("in the middle of a TLS record"));
    h.nodes[0]->channel_closed(ch, h.now);
    check_pair_kept_and_reforms(h);
}

TEST_CASE("a stream cut between records, or closed on purpose, is no truncation")
{
    auto h = formed_pair();
    SECTION("cut (a crash looks the same)")
    {
        auto ch = h.wire.ends.begin()->first;
        h.wire.ends.erase(ch);
        h.nodes[1]->channel_closed(ch, h.now);
        CHECK(h.nodes[1]->counters().closed_without_notify == 1);
        h.nodes[0]->channel_closed(ch, h.now);
    }
    SECTION("clear bgp ha channel: close_notify")
    {
        auto ch = h.wire.ends.begin()->first;
        h.wire.queue.clear();
        h.nodes[0]->drop_channels("operator request", h.now);
        // What a wrote before closing reaches b before the EOF.
        REQUIRE(h.wire.queue.size() == 1);
        auto d = h.wire.queue.front();
        h.wire.queue.clear();
        h.wire.closes.clear();
        h.nodes[1]->channel_bytes(ch, d.bytes.data(), d.bytes.size(), h.now);
        h.nodes[1]->channel_closed(ch, h.now);
        CHECK(h.hosts[1]->logged("rp a closed the channel"));
        CHECK(h.nodes[1]->counters().closed_without_notify == 0);
    }
    CHECK(h.nodes[1]->counters().truncations == 0);
    check_pair_kept_and_reforms(h);
}

TEST_CASE("reflection: an RP's own handshake sent back to it is refused and counted")
{
    auto h = formed_pair();
    auto &b = *h.nodes[1];
    // b's connection attempt (to its partner a) is turned back to b.
    h.wire.ends[50] = {1, 2};
    b.channel_opened(50, h.now, ChannelSide::Connected);
    std::string hello;
    for (auto &d : h.wire.queue)
        if (d.ch == 50)
            hello += d.bytes;
    REQUIRE_FALSE(hello.empty());
    h.wire.ends[51] = {1, 2};
    b.channel_opened(51, h.now, ChannelSide::Accepted);
    b.channel_bytes(51, hello.data(), hello.size(), h.now);
    CHECK(b.counters().reflections_refused == 1);
    CHECK(b.counters().tls_handshake_failures == 1);
    CHECK(h.hosts[1]->logged("reflection refused: a connection to rp b claimed to come from rp b itself"));
    h.wire.ends.erase(50);
    h.wire.ends.erase(51);
    h.wire.queue.clear();
    CHECK(b.channel_state() == ChannelState::Up);  // the real channel is untouched
    check_pair_kept_and_reforms(h);
}

TEST_CASE("a process that is not the partner is refused by its TLS identity")
{
    auto h = formed_pair();
    auto &a = *h.nodes[0];
    SecureChannel c(ChannelSide::Connected, "c", "a", kKey);  // holds the key
    c.start();
    auto bytes = c.take_output();
    h.wire.ends[60] = {0, 2};
    a.channel_opened(60, h.now);
    a.channel_bytes(60, bytes.data(), bytes.size(), h.now);
    CHECK(a.counters().partners_refused == 1);
    CHECK(h.hosts[0]->logged("a process calling itself rp 'c' connected; the partner of rp a is rp b"));
    h.wire.ends.erase(60);
    h.wire.queue.clear();
    check_pair_kept_and_reforms(h);
}

TEST_CASE("a recorded handshake replayed to the standby is refused and counted")
{
    Harness h;
    h.start("a");
    h.start("b");
    // The pair forms while an attacker records everything a sends to b.
    std::string recorded;
    const ChannelId ch = h.next_channel++;
    h.wire.ends[ch] = {0, 1};
    h.nodes[0]->channel_opened(ch, h.now, ChannelSide::Connected);
    h.nodes[1]->channel_opened(ch, h.now, ChannelSide::Accepted);
    for (int i = 0; i < 50 && !h.wire.queue.empty(); i++) {
        auto d = h.wire.queue.front();
        h.wire.queue.pop_front();
        if (d.to == 1)
            recorded += d.bytes;
        h.nodes[d.to]->channel_bytes(d.ch, d.bytes.data(), d.bytes.size(), h.now);
    }
    h.run(500);
    REQUIRE(h.nodes[1]->ready());

    // Replayed as a new connection: the handshake fails, nothing reaches b.
    auto &b = *h.nodes[1];
    const auto frames = b.counters().frames_received;
    h.wire.ends[70] = {1, 2};
    b.channel_opened(70, h.now);
    b.channel_bytes(70, recorded.data(), recorded.size(), h.now);
    CHECK(b.counters().tls_handshake_failures == 1);
    CHECK(b.counters().frames_received == frames);
    CHECK(h.hosts[1]->logged("TLS handshake refused: a handshake message failed its integrity check"));
    h.wire.ends.erase(70);
    h.wire.queue.clear();
    check_pair_kept_and_reforms(h);
}

TEST_CASE("a relay that splices the handshakes of two pairs fails on both")
{
    // Two pairs, same key and names (an attacker between them swaps the
    // accepting sides' flights): a1's hello to b1, b2's answer to a1.
    Harness one, two;
    one.start("a");
    one.start("b");
    two.start("a");
    two.start("b");
    for (auto *h : {&one, &two}) {
        h->wire.ends[1] = {0, 1};
        h->nodes[0]->channel_opened(1, h->now, ChannelSide::Connected);
        h->nodes[1]->channel_opened(1, h->now, ChannelSide::Accepted);
    }
    auto take = [](Harness &h, int to) {
        std::string out;
        for (auto it = h.wire.queue.begin(); it != h.wire.queue.end();)
            if (it->to == to) {
                out += it->bytes;
                it = h.wire.queue.erase(it);
            } else {
                ++it;
            }
        return out;
    };
    auto hello1 = take(one, 1), hello2 = take(two, 1);
    one.nodes[1]->channel_bytes(1, hello1.data(), hello1.size(), one.now);
    two.nodes[1]->channel_bytes(1, hello2.data(), hello2.size(), two.now);
    auto answer1 = take(one, 0), answer2 = take(two, 0);
    // Swapped.
    one.nodes[0]->channel_bytes(1, answer2.data(), answer2.size(), one.now);
    two.nodes[0]->channel_bytes(1, answer1.data(), answer1.size(), two.now);
    for (auto *h : {&one, &two}) {
        CHECK(h->nodes[0]->counters().tls_handshake_failures == 1);
        CHECK(h->hosts[0]->logged("TLS handshake refused"));
        CHECK(h->nodes[0]->channel_state() == ChannelState::Down);
        CHECK(h->nodes[0]->counters().frames_received == 0);
    }
}
