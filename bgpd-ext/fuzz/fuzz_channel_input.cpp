// libFuzzer target: arbitrary bytes arriving on an HA channel, in arbitrary
// chunks, into the frame decoder and a PairNode's handshake. Whatever comes
// in, the node must neither crash nor leak, and must close the channel or
// keep it, never anything else.
#include "frame_codec.hpp"
#include "pair_node.hpp"

#include <cstddef>
#include <cstdint>

namespace {

class NullHost final : public frr_ha::PairHost {
public:
    void send(frr_ha::ChannelId, const std::string &) override {}
    void close(frr_ha::ChannelId) override {}
    std::optional<std::uint64_t> acquire_ownership() override { return 0; }
    void store_epoch(std::uint64_t) override {}
    void release_ownership() override {}
    void role_changed(frr_ha::Role, std::uint64_t) override {}
    std::vector<frr_ha::SessionItem> owned_sessions() override { return {}; }
    std::string check_session(const frr_ha::SessionItem &) override { return {}; }
    void log(frr_ha::LogLevel, const std::string &) override {}
    std::int64_t wall_clock_ms() override { return 0; }
};

frr_ha::PairConfig config()
{
    frr_ha::PairConfig c;
    c.self = "a";
    c.rps = {{"a", "unix:/a", false, 200}, {"b", "unix:/b", false, 100}};
    c.key = "fuzzing-key-0123456789";
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    // The decoder alone, one chunk size chosen by the first byte.
    if (size > 0) {
        frr_ha::FrameDecoder dec;
        const std::size_t chunk = 1 + data[0] % 64;
        for (std::size_t off = 1; off < size; off += chunk) {
            dec.feed(data + off, std::min(chunk, size - off));
            while (dec.next()) {
            }
        }
    }
    // The node: the same bytes as a partner's stream.
    NullHost host;
    frr_ha::PairNode node(host, config(), 0);
    node.channel_opened(1, 0);
    node.channel_bytes(1, data, size, 1);
    node.tick(1000);
    node.channel_closed(1, 1001);
    return 0;
}
