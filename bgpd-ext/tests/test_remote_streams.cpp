// A TF session's streams carried across hosts: what the active may let the
// peer have (acknowledged or written) never runs ahead of what the standby
// holds, whatever the order of offers, chunks and confirmations.
#include <catch2/catch.hpp>

#include "remote_streams.hpp"

#include <random>
#include <string>

using namespace frr_ha;

namespace {

std::string bytes_of(std::mt19937 &rng, std::size_t n)
{
    std::string s(n, '\0');
    for (char &c : s)
        c = static_cast<char>(rng());
    return s;
}

std::size_t offer(StreamSender &sender, StreamKind kind, const std::string &bytes)
{
    return sender.offer(kind, reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
}

}  // namespace

TEST_CASE("Streams reach the standby whole, and the active runs no further than it confirmed",
          "[remote_streams]")
{
    std::mt19937 rng(GENERATE(1u, 2u, 3u, 4u, 5u));
    constexpr std::size_t kWindow = 64 * 1024;
    const std::uint64_t received_start = 4096, sent_start = 77;  // after the history
    StreamSender sender(9, received_start, sent_start, kWindow);
    StreamReceiver receiver(9, received_start, sent_start);
    std::string offered[2], delivered[2];
    std::vector<StreamChunk> channel;  // in order, as TCP keeps it
    std::vector<StreamAck> back;
    bool held_back = false;

    for (int step = 0; step < 4000; step++) {
        switch (rng() % 5) {
        case 0:  // the tap offers bytes of one stream
        case 1: {
            const auto kind = static_cast<StreamKind>(rng() % 2);
            const std::string bytes = bytes_of(rng, 1 + rng() % 20000);
            const std::size_t room = sender.room(kind);
            const std::size_t took = offer(sender, kind, bytes);
            CHECK(took == std::min(room, bytes.size()));
            held_back = held_back || took < bytes.size();
            offered[static_cast<int>(kind)] += bytes.substr(0, took);
            break;
        }
        case 2:  // the active puts chunks on the channel
            for (int i = rng() % 4; i >= 0; i--)
                if (auto chunk = sender.next_chunk(1 + rng() % StreamReceiver::kMaxChunk))
                    channel.push_back(std::move(*chunk));
            break;
        case 3: {  // the standby takes what arrived, delivers some, confirms
            for (const StreamChunk &chunk : channel) {
                auto took = receiver.accept(chunk);
                REQUIRE(took);
                CHECK(*took == chunk.bytes.size());
            }
            channel.clear();
            for (auto kind : {StreamKind::received, StreamKind::sent}) {
                const std::string part(receiver.undelivered(kind, rng() % 30000));
                delivered[static_cast<int>(kind)] += part;
                receiver.delivered(kind, part.size());
            }
            back.push_back(receiver.ack());
            break;
        }
        case 4:  // confirmations come back, some late
            while (!back.empty() && rng() % 3 != 0) {
                REQUIRE(sender.confirmed(back.front()));
                back.erase(back.begin());
            }
            break;
        }
        // The rule: the active lets the peer have only what the standby holds.
        for (auto kind : {StreamKind::received, StreamKind::sent}) {
            REQUIRE(sender.confirmed_end(kind) <= receiver.end(kind));
            REQUIRE(sender.offered_end(kind) - sender.confirmed_end(kind) <= kWindow);
        }
    }
    // Everything offered arrives, once, in order.
    while (auto chunk = sender.next_chunk(StreamReceiver::kMaxChunk))
        REQUIRE(receiver.accept(*chunk));
    for (auto kind : {StreamKind::received, StreamKind::sent}) {
        const std::string rest(receiver.undelivered(kind, SIZE_MAX));
        delivered[static_cast<int>(kind)] += rest;
        receiver.delivered(kind, rest.size());
        CHECK(delivered[static_cast<int>(kind)] == offered[static_cast<int>(kind)]);
    }
    REQUIRE(sender.confirmed(receiver.ack()));
    CHECK(sender.confirmed_end(StreamKind::received) == received_start + offered[0].size());
    CHECK(sender.confirmed_end(StreamKind::sent) == sent_start + offered[1].size());
    CHECK(sender.room(StreamKind::received) == kWindow);
    CHECK(held_back);  // the window was full at least once
}

TEST_CASE("The standby refuses a chunk that would corrupt its streams, and keeps what it has",
          "[remote_streams]")
{
    StreamReceiver receiver(5, 100, 0);
    REQUIRE(receiver.accept({5, StreamKind::received, 100, "abcdef"}));

    SECTION("a chunk sent again is skipped, its new tail taken")
    {
        auto took = receiver.accept({5, StreamKind::received, 102, "cdefgh"});
        REQUIRE(took);
        CHECK(*took == 2);
        CHECK(receiver.undelivered(StreamKind::received, 100) == "abcdefgh");
    }
    SECTION("refusals, each with its reason")
    {
        auto gap = receiver.accept({5, StreamKind::received, 107, "x"});
        CHECK(gap.why() == "chunk of the received stream at 107 leaves a gap: the stream is at 106");
        auto other = receiver.accept({6, StreamKind::received, 106, "x"});
        CHECK(other.why() == "chunk of the received stream at 106 is for session 6, not 5");
        auto rewrite = receiver.accept({5, StreamKind::received, 101, "Xc"});
        CHECK(rewrite.why() == "chunk of the received stream at 101 rewrites bytes the standby holds");
        auto huge = receiver.accept(
            {5, StreamKind::received, 106, std::string(StreamReceiver::kMaxChunk + 1, 'h')});
        CHECK(huge.why() == "chunk of the received stream at 106 carries 65537 bytes, more than 65536");
        auto wraps = receiver.accept({5, StreamKind::sent, UINT64_MAX - 1, "abc"});
        CHECK(wraps.why() == "chunk of the sent stream at 18446744073709551614 runs past the "
                             "largest offset");
        receiver.delivered(StreamKind::received, 3);
        auto gone = receiver.accept({5, StreamKind::received, 102, "cd"});
        CHECK(gone.why() == "chunk of the received stream at 102 goes back before 103, bytes "
                            "already delivered");
        // Nothing refused changed the stream.
        CHECK(receiver.undelivered(StreamKind::received, 100) == "def");
        CHECK(receiver.ack().received == 106);
        CHECK(receiver.ack().sent == 0);
    }
    SECTION("a sender that ignores its window is refused before the standby's memory is")
    {
        std::uint64_t at = 106;
        const std::string chunk(StreamReceiver::kMaxChunk, 'w');
        Result<std::size_t> last = receiver.accept({5, StreamKind::received, at, chunk});
        while (last) {
            at += chunk.size();
            last = receiver.accept({5, StreamKind::received, at, chunk});
        }
        CHECK(last.why().find("would leave more than 16777216 bytes undelivered: the sender "
                              "ignores its window") != std::string::npos);
        CHECK(receiver.end(StreamKind::received) - receiver.delivered_end(StreamKind::received) <=
              StreamReceiver::kMaxHeld);
    }
}

TEST_CASE("The active refuses a confirmation of bytes it never sent, and ignores a stale one",
          "[remote_streams]")
{
    StreamSender sender(3, 0, 1000, 100);
    const std::string ten(10, 'b');
    REQUIRE(offer(sender, StreamKind::received, ten) == 10);
    REQUIRE(offer(sender, StreamKind::sent, ten) == 10);
    auto first = sender.next_chunk(6);
    REQUIRE(first);
    CHECK(first->kind == StreamKind::received);  // the peer's ACK waits on it
    CHECK(first->offset == 0);
    CHECK(first->bytes.size() == 6);

    Status past = sender.confirmed({3, 7, 1000});  // 7 > the 6 sent
    CHECK(past.why() == "the standby confirms the received stream up to 7, past the 6 bytes sent to it");
    Status other = sender.confirmed({4, 1, 1000});
    CHECK(other.why() == "a confirmation for session 4 reached session 3");
    CHECK(sender.confirmed_end(StreamKind::received) == 0);  // neither moved anything

    REQUIRE(sender.confirmed({3, 6, 1000}));
    CHECK(sender.confirmed_end(StreamKind::received) == 6);
    REQUIRE(sender.confirmed({3, 2, 1000}));  // crossed on the way: ignored
    CHECK(sender.confirmed_end(StreamKind::received) == 6);
    // The send log's bytes may go to the peer only once confirmed.
    CHECK(sender.confirmed_end(StreamKind::sent) == 1000);
    auto rest = sender.next_chunk(100);
    REQUIRE(rest);
    CHECK(rest->offset == 6);
    auto log = sender.next_chunk(100);
    REQUIRE(log);
    CHECK(log->kind == StreamKind::sent);
    CHECK(log->offset == 1000);
    REQUIRE(sender.confirmed({3, 10, 1010}));
    CHECK(sender.confirmed_end(StreamKind::sent) == 1010);
    CHECK(sender.room(StreamKind::sent) == 100);
}
