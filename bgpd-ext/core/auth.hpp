// The key of the HA channel. The configured key (`bgp ha key`) is never
// used as is: each direction of the channel gets its own TLS 1.3 external
// PSK, derived with HKDF-SHA384:
//
//   PRK = HKDF-Extract(salt = "frr-ha channel psk v2", IKM = configured key)
//   PSK = HKDF-Expand(PRK, info = "frr-ha tls13 psk" 0 | client name 0 |
//                     server name, 48 bytes)
//
// where the client is the RP that connects and the server the one that
// accepts. The PSK of "a connects to b" is not the PSK of "b connects to a":
// a handshake reflected back at its sender, or relayed into the other
// direction, fails on the key itself, whatever the names it claims.
// (The HMAC challenge/response that protected the channel before TLS is
// gone: the TLS handshake proves the key, binds both nonces and the
// transcript, and protects every record after it.)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace frr_ha {

constexpr std::size_t kMinKeyLength = 16;
constexpr std::size_t kMaxKeyLength = 128;
constexpr std::size_t kChannelPskSize = 48;

// The PSK for a channel from `client` to `server`. Throws std::runtime_error
// if OpenSSL fails (it should not).
std::string channel_psk(std::string_view key, std::string_view client, std::string_view server);

}  // namespace frr_ha
