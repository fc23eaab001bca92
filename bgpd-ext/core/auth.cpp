#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace frr_ha {

std::string random_nonce()
{
    std::string nonce(kNonceSize, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char *>(nonce.data()),
                   static_cast<int>(nonce.size())) != 1)
        throw std::runtime_error("no random bytes from OpenSSL");
    return nonce;
}

std::string auth_answer(std::string_view key, std::string_view challenger_nonce,
                        std::string_view responder_nonce, std::string_view responder,
                        std::string_view challenger)
{
    std::string msg("frr-ha auth v1");
    msg.push_back('\0');
    msg.append(challenger_nonce).append(responder_nonce);
    msg.append(responder).push_back('\0');
    msg.append(challenger);

    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char *>(msg.data()), msg.size(), mac, &mac_len))
        throw std::runtime_error("HMAC-SHA256 failed");
    return std::string(reinterpret_cast<char *>(mac), mac_len);
}

bool auth_answer_matches(std::string_view expected, std::string_view received)
{
    return expected.size() == received.size() &&
           CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

}  // namespace frr_ha
