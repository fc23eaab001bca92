// The streams' chunks and confirmations on the HA channel's frames: a
// session carried in frames split at random reaches the standby whole, and
// a message no sender of ours makes is refused with what is wrong.
#include <catch2/catch.hpp>

#include "frame_codec.hpp"
#include "ha_channel.pb.h"
#include "remote_streams_wire.hpp"

#include <random>
#include <string>

using namespace frr_ha;

namespace {

std::string framed(const wire::Message &m)
{
    std::string payload;
    REQUIRE(m.SerializeToString(&payload));
    return encode_frame(FrameType::Control, payload);
}

wire::StreamBytes piece(int stream, std::uint64_t offset, std::string bytes)
{
    wire::StreamBytes b;
    b.set_session(3);
    b.set_stream(static_cast<wire::Stream>(stream));
    b.set_offset(offset);
    b.set_bytes(std::move(bytes));
    return b;
}

}  // namespace

TEST_CASE("A session's streams cross the channel in frames and reach the standby whole",
          "[remote_streams][wire]")
{
    std::mt19937 rng(GENERATE(1u, 2u, 3u));
    StreamSender sender(3, 100, 200, 256 * 1024);
    StreamReceiver standby(3, 100, 200);
    std::string offered[2], got[2];
    std::string line;  // the channel's bytes, active to standby
    std::string back;  // standby to active
    FrameDecoder at_standby, at_active;
    // The standby takes `n` bytes off the line: each whole frame's piece
    // is checked, held and delivered, and confirmed back.
    auto standby_reads = [&](std::size_t n) {
        at_standby.feed(line.data(), n);
        line.erase(0, n);
        while (auto frame = at_standby.next()) {
            wire::Message m;
            REQUIRE(m.ParseFromString(frame->payload));
            REQUIRE(m.has_stream_bytes());
            Result<StreamChunk> chunk = chunk_from_wire(m.stream_bytes());
            REQUIRE(chunk);
            REQUIRE(standby.accept(*chunk));
            for (StreamKind k : {StreamKind::received, StreamKind::sent}) {
                std::string now(standby.undelivered(k, SIZE_MAX));
                got[static_cast<int>(k)] += now;
                standby.delivered(k, now.size());
            }
            wire::Message confirm;
            to_wire(standby.ack(), confirm.mutable_stream_confirm());
            back += framed(confirm);
        }
        REQUIRE(at_standby.error() == FrameError::None);
    };

    for (int step = 0; step < 300; step++) {
        const auto kind = static_cast<StreamKind>(rng() % 2);
        std::string bytes(1 + rng() % 30000, '\0');
        for (char &c : bytes)
            c = static_cast<char>(rng());
        offered[static_cast<int>(kind)] +=
            bytes.substr(0, sender.offer(kind, reinterpret_cast<const std::uint8_t *>(bytes.data()),
                                         bytes.size()));
        while (auto chunk = sender.next_chunk(1 + rng() % StreamReceiver::kMaxChunk)) {
            wire::Message m;
            to_wire(*chunk, m.mutable_stream_bytes());
            line += framed(m);
        }
        // The standby reads what arrived, in pieces of any size.
        standby_reads(std::min<std::size_t>(line.size(), rng() % 200000));
        at_active.feed(back.data(), back.size());
        back.clear();
        while (auto frame = at_active.next()) {
            wire::Message m;
            REQUIRE(m.ParseFromString(frame->payload));
            REQUIRE(m.has_stream_confirm());
            REQUIRE(sender.confirmed(ack_from_wire(m.stream_confirm())));
        }
        // What the active may let the peer have never passes what arrived.
        CHECK(sender.confirmed_end(StreamKind::received) <= 100 + got[0].size());
        CHECK(sender.confirmed_end(StreamKind::sent) <= 200 + got[1].size());
    }
    // The rest of the line arrives.
    standby_reads(line.size());
    CHECK(got[0] == offered[0]);
    CHECK(got[1] == offered[1]);
    CHECK(at_standby.pending() == 0);
}

TEST_CASE("A stream piece no sender makes is refused with what is wrong", "[remote_streams][wire]")
{
    auto refused = [](const wire::StreamBytes &b) {
        Result<StreamChunk> chunk = chunk_from_wire(b);
        REQUIRE_FALSE(chunk);
        return chunk.why();
    };
    CHECK(refused(piece(7, 0, "x")) == "stream 7 (0: received, 1: sent)");
    CHECK(refused(piece(1, 0, "")) == "an empty piece of the sent stream");
    CHECK(refused(piece(0, 0, std::string(StreamReceiver::kMaxChunk + 1, 'x'))) ==
          "a piece of 65537 bytes (at most 65536)");
    CHECK(refused(piece(0, UINT64_MAX - 1, "xy")) ==
          "offset 18446744073709551614 overflows with its bytes");

    Result<StreamChunk> largest = chunk_from_wire(piece(1, UINT64_MAX - 2, "xy"));
    REQUIRE(largest);
    CHECK(largest->kind == StreamKind::sent);
    CHECK(largest->session == 3);
    CHECK(largest->offset == UINT64_MAX - 2);
    CHECK(largest->bytes == "xy");
}

TEST_CASE("A session's protection crosses the channel, and a step no sender makes is refused",
          "[remote_streams][wire]")
{
    wire::StreamProtection w;
    to_wire(StreamProtection{4, StreamProtection::Step::Protected, 10, 20}, &w);
    Result<StreamProtection> back = protection_from_wire(w);
    REQUIRE(back);
    CHECK(back->session == 4);
    CHECK(back->step == StreamProtection::Step::Protected);
    CHECK(back->received == 10);
    CHECK(back->sent == 20);

    wire::StreamSession s;
    to_wire(StreamSessionInfo{4, 1, "", "192.0.2.2", false, true}, &s);
    auto info = session_from_wire(s);
    REQUIRE(info);
    CHECK(info->protection_follows);

    w.set_step(static_cast<wire::StreamProtection::Step>(9));
    Result<StreamProtection> refused = protection_from_wire(w);
    REQUIRE_FALSE(refused);
    CHECK(refused.why() == "protection step 9 (0: caught up, 1: protected)");
}
