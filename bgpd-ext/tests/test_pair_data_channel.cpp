// The data channel of dual-RP mode: it opens beside the control channel,
// carries the streams' pieces and confirmations and nothing else, has no
// silence limit of its own, ends with the control channel, and is refused
// where it has no place (local mode, no control channel up).
#include <catch2/catch.hpp>

#include "pair_harness.hpp"

namespace {

StreamChunk chunk_of(std::uint64_t session, StreamKind kind, std::uint64_t offset,
                     std::string bytes)
{
    StreamChunk c;
    c.session = session;
    c.kind = kind;
    c.offset = offset;
    c.bytes = std::move(bytes);
    return c;
}

// A dual-RP pair with its data channel up (opened by rp a, the lower name).
struct DataPair {
    Harness h = formed_pair(true);
    PairNode &a = *h.nodes[0];
    PairNode &b = *h.nodes[1];
    ChannelId data = 0;

    DataPair()
    {
        REQUIRE(a.channel_state() == ChannelState::Up);
        REQUIRE(a.should_connect_data());
        REQUIRE_FALSE(b.should_connect_data());  // the connecting side is rp a
        data = h.connect(0, 1, ChannelPurpose::Data);
        REQUIRE(a.data_channel_up());
        REQUIRE(b.data_channel_up());
    }
};

}  // namespace

TEST_CASE("dual-RP: the data channel opens beside the control channel and carries the streams "
          "both ways",
          "[data_channel]")
{
    Harness h = formed_pair(true);
    PairNode &a = *h.nodes[0];
    CHECK_FALSE(a.data_channel_up());
    CHECK_FALSE(a.send_stream(chunk_of(1, StreamKind::sent, 0, "x")));  // nothing to send on

    DataPair p;
    CHECK_FALSE(p.a.should_connect_data());  // one is up
    CHECK(p.h.hosts[0]->data_channel == std::vector<bool>{true});
    CHECK(p.h.hosts[1]->data_channel == std::vector<bool>{true});
    CHECK(p.h.hosts[0]->logged("HA data channel to rp b up"));
    CHECK(p.a.counters().data_channels_up == 1);
    CHECK(p.a.counters().channels_up == 1);  // the control channel's count is its own

    const std::string bytes(65536, 'q');
    REQUIRE(p.a.send_stream(chunk_of(4, StreamKind::received, 1000, bytes)));
    REQUIRE(p.a.send_stream(chunk_of(4, StreamKind::sent, 7, "open")));
    REQUIRE(p.b.send_stream(StreamAck{4, 66536, 11}));
    p.h.pump();
    const auto &got = p.h.hosts[1]->chunks;
    REQUIRE(got.size() == 2);
    CHECK(got[0].session == 4);
    CHECK(got[0].kind == StreamKind::received);
    CHECK(got[0].offset == 1000);
    CHECK(got[0].bytes == bytes);
    CHECK(got[1].kind == StreamKind::sent);
    CHECK(got[1].bytes == "open");
    REQUIRE(p.h.hosts[0]->acks.size() == 1);
    CHECK(p.h.hosts[0]->acks[0].received == 66536);
    CHECK(p.h.hosts[0]->acks[0].sent == 11);
    CHECK(p.h.hosts[0]->chunks.empty());  // nothing went the wrong way

    // Silent for many detection times: it stays, and so does the pair.
    p.h.run(5000);
    CHECK(p.a.data_channel_up());
    CHECK(p.b.data_channel_up());
    CHECK(p.a.role() == Role::Active);
    CHECK(p.b.role() == Role::Standby);
}

TEST_CASE("dual-RP: the data channel ends with the control channel, and opens again with the next",
          "[data_channel]")
{
    DataPair p;
    ChannelId control = 1;  // formed_pair's
    REQUIRE(p.h.wire.ends.count(control));
    p.h.cut(control);
    p.h.run(1000);  // past the detection time: each side closes the silent channel
    CHECK_FALSE(p.a.data_channel_up());
    CHECK_FALSE(p.b.data_channel_up());
    CHECK(p.h.hosts[0]->data_channel == std::vector<bool>{true, false});
    CHECK(p.h.hosts[0]->logged("HA channel closed: the control channel ended"));
    CHECK_FALSE(p.a.should_connect_data());  // no control channel

    p.h.connect(0, 1);
    p.h.run(500);
    REQUIRE(p.a.channel_state() == ChannelState::Up);
    REQUIRE(p.a.should_connect_data());
    p.h.connect(0, 1, ChannelPurpose::Data);
    CHECK(p.a.data_channel_up());
    CHECK(p.b.data_channel_up());
    CHECK(p.a.counters().data_channels_up == 2);
}

TEST_CASE("a data channel is refused in local mode and without a control channel up, and the pair "
          "keeps its role",
          "[data_channel]")
{
    SECTION("local mode carries the streams on unix links")
    {
        Harness h = formed_pair(false);
        CHECK_FALSE(h.nodes[0]->should_connect_data());
        h.connect(0, 1, ChannelPurpose::Data);
        CHECK(h.nodes[1]->counters().data_channels_refused == 1);
        CHECK(h.hosts[1]->logged("local mode carries the streams on unix links"));
        CHECK_FALSE(h.nodes[1]->data_channel_up());
        h.run(1000);
        CHECK(h.nodes[0]->role() == Role::Active);
        CHECK(h.nodes[1]->ready());
    }
    SECTION("dual-RP, before the control channel")
    {
        Harness h(true);
        h.start("a");
        h.start("b");
        CHECK_FALSE(h.nodes[0]->should_connect_data());
        h.connect(0, 1, ChannelPurpose::Data);
        CHECK(h.nodes[1]->counters().data_channels_refused == 1);
        CHECK(h.hosts[1]->logged("opened a data channel with no control channel up"));
        CHECK_FALSE(h.nodes[1]->data_channel_up());
        h.connect(0, 1);  // the control channel still forms
        h.run(500);
        CHECK(h.nodes[0]->role() == Role::Active);
        CHECK(h.nodes[1]->role() == Role::Standby);
    }
}

TEST_CASE("on the data channel: a piece no sender makes is refused and the channel stays, while any "
          "other message closes it, and the control channel stays",
          "[data_channel]")
{
    DataPair p;
    wire::Message bad;
    bad.mutable_stream_bytes()->set_session(9);
    bad.mutable_stream_bytes()->set_stream(static_cast<wire::Stream>(5));
    bad.mutable_stream_bytes()->set_bytes("x");
    wire::Message status;
    status.mutable_status()->set_role(wire::ROLE_ACTIVE);

    // A second data channel from a holder of the key naming itself rp b
    // replaces the first (the connecting side opens one only when it has
    // none), and says what a test wants.
    Harness &h = p.h;
    h.stopped.insert(1);  // keep the real rp b out of the way
    Intruder in(h, true);
    wire::Message hello;
    hello.mutable_hello()->set_protocol_version(kProtocolVersion);
    hello.mutable_hello()->set_rp_name("b");
    hello.mutable_hello()->set_purpose(wire::CHANNEL_DATA);
    in.send(message_frame(hello));
    CHECK(h.hosts[0]->logged("superseded by rp b's new data channel"));
    REQUIRE(p.a.data_channel_up());

    in.send(message_frame(bad));
    CHECK(p.a.counters().stream_pieces_refused == 1);
    CHECK(h.hosts[0]->logged("stream piece of session 9 refused: stream 5 (0: received, 1: sent)"));
    CHECK(h.hosts[0]->chunks.empty());
    CHECK(p.a.data_channel_up());

    in.send(message_frame(status));
    CHECK(p.a.counters().malformed_frames == 1);
    CHECK(h.hosts[0]->logged("unexpected message on the data channel"));
    CHECK_FALSE(p.a.data_channel_up());
    CHECK(p.a.channel_state() == ChannelState::Up);
    h.resume(1);
    h.run(300);
    CHECK(p.a.role() == Role::Active);
    CHECK(p.b.role() == Role::Standby);
    CHECK(p.a.channel_state() == ChannelState::Up);
}
