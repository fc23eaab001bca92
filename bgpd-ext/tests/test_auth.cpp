#include <catch2/catch.hpp>

#include "auth.hpp"

using namespace frr_ha;

namespace {
const std::string key = "0123456789abcdef-secret";
}

TEST_CASE("the channel PSK is derived from the key, for one direction")
{
    const auto a_to_b = channel_psk(key, "a", "b");
    CHECK(a_to_b.size() == kChannelPskSize);
    CHECK(channel_psk(key, "a", "b") == a_to_b);  // both ends derive the same
    CHECK(a_to_b.find(key) == std::string::npos);  // never the key itself

    // Another key, the other direction, other names: another PSK.
    CHECK(channel_psk("another-key-0123456", "a", "b") != a_to_b);
    CHECK(channel_psk(key, "b", "a") != a_to_b);
    CHECK(channel_psk(key, "a", "a") != a_to_b);
    // The names are delimited: ("ab", "c") is not ("a", "bc").
    CHECK(channel_psk(key, "ab", "c") != channel_psk(key, "a", "bc"));
}
