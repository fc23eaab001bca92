// Proof that the partner holds the shared key: HMAC-SHA256 challenge and
// response. Each side sends a fresh random nonce in its HELLO and answers
// the other's with
//
//   HMAC(key, "frr-ha auth v1" 0 | challenger's nonce | own nonce |
//             own name 0 | challenger's name)
//
// The fixed label, both nonces and the ordered names make an answer useful
// for exactly one direction of one handshake: it cannot be replayed later
// nor reflected back at its sender.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace frr_ha {

constexpr std::size_t kNonceSize = 32;
constexpr std::size_t kMinKeyLength = 16;
constexpr std::size_t kMaxKeyLength = 128;

// kNonceSize bytes from OpenSSL's CSPRNG.
std::string random_nonce();

// The answer `responder` gives to `challenger`'s nonce.
std::string auth_answer(std::string_view key, std::string_view challenger_nonce,
                        std::string_view responder_nonce, std::string_view responder,
                        std::string_view challenger);

// Constant-time comparison of an answer received with the one expected.
bool auth_answer_matches(std::string_view expected, std::string_view received);

}  // namespace frr_ha
