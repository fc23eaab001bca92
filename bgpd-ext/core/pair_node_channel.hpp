// PairNode's record of one channel, shared by the files that implement
// PairNode (pair_node.cpp, pair_data_channel.cpp); nothing else includes it.
#pragma once

#include "frame_codec.hpp"
#include "pair_node.hpp"
#include "secure_channel.hpp"

#include <memory>

namespace frr_ha {

// A channel is a TLS 1.3 session carrying frames. Stages: the TLS handshake
// (the partner proves the key, the PSK binds both names and directions),
// then each side's HELLO (protocol version and name, checked against the
// name TLS authenticated), then up.
struct PairNode::Channel {
    enum class Stage { Tls, AwaitHello, Up };
    ChannelId id;
    Stage stage = Stage::Tls;
    std::unique_ptr<SecureChannel> tls;
    FrameDecoder decoder;
    Millis opened = 0;
    Millis last_rx = 0;
    ChannelSide side = ChannelSide::Accepted;
    // The connecting side knows it from the start; the accepting side
    // learns it from the partner's HELLO.
    ChannelPurpose purpose = ChannelPurpose::Control;
};

}  // namespace frr_ha
