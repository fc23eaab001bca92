// The extern "C" face of the service addresses (frr_ha/service_address.h):
// conversions only.
#include "frr_ha/service_address.h"

#include "address_claim.hpp"

#include <algorithm>
#include <cstring>

namespace {

void copy_out(const std::string &text, char *out, std::size_t len)
{
    if (!out || !len)
        return;
    const std::size_t n = std::min(len - 1, text.size());
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
}

bool said(const frr_ha::Status &done, char *why, std::size_t why_len)
{
    if (!done)
        copy_out(done.why(), why, why_len);
    return static_cast<bool>(done);
}

}  // namespace

extern "C" {

bool frr_ha_service_address_check(const char *prefix, char *why, std::size_t why_len)
{
    auto a = frr_ha::ServiceAddress::parse(prefix, "lo");
    return said(a ? frr_ha::Status::ok() : frr_ha::Status::fail(a.why()), why, why_len);
}

bool frr_ha_service_address_claim(const char *prefix, char *ifname, std::size_t ifname_len,
                                  char *why, std::size_t why_len)
{
    auto a = frr_ha::ServiceAddress::on_its_subnet(prefix);
    if (!a)
        return said(frr_ha::Status::fail(a.why()), why, why_len);
    copy_out(a->interface, ifname, ifname_len);
    return said(frr_ha::claim(*a), why, why_len);
}

bool frr_ha_service_address_announce(const char *prefix, char *why, std::size_t why_len)
{
    auto a = frr_ha::ServiceAddress::on_its_subnet(prefix);
    if (!a)
        return said(frr_ha::Status::fail(a.why()), why, why_len);
    return said(frr_ha::announce(*a), why, why_len);
}

bool frr_ha_service_address_release(const char *prefix, char *why, std::size_t why_len)
{
    auto a = frr_ha::ServiceAddress::on_its_subnet(prefix);
    if (!a)
        return said(frr_ha::Status::fail(a.why()), why, why_len);
    return said(frr_ha::release(*a), why, why_len);
}

}  // extern "C"
