#include "auth.hpp"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <stdexcept>

namespace frr_ha {

namespace {

struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX *ctx) const { EVP_PKEY_CTX_free(ctx); }
};

constexpr std::string_view kSalt = "frr-ha channel psk v2";
constexpr std::string_view kLabel = "frr-ha tls13 psk";

const unsigned char *bytes(std::string_view s)
{
    return reinterpret_cast<const unsigned char *>(s.data());
}

}  // namespace

std::string channel_psk(std::string_view key, std::string_view client, std::string_view server)
{
    std::string info(kLabel);
    info.push_back('\0');
    info.append(client).push_back('\0');
    info.append(server);

    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
    std::string psk(kChannelPskSize, '\0');
    std::size_t len = psk.size();
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha384()) <= 0 ||
        EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), bytes(kSalt), static_cast<int>(kSalt.size())) <=
            0 ||
        EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), bytes(key), static_cast<int>(key.size())) <= 0 ||
        EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), bytes(info), static_cast<int>(info.size())) <=
            0 ||
        EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char *>(psk.data()), &len) <= 0 ||
        len != psk.size())
        throw std::runtime_error("HKDF-SHA384 failed");
    return psk;
}

}  // namespace frr_ha
