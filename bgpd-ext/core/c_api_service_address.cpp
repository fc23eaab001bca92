// The extern "C" face of the service addresses (frr_ha/service_address.h):
// conversions only.
#include "frr_ha/service_address.h"

#include "address_claim.hpp"
#include "c_api_text.hpp"

using frr_ha::copy_text;
using frr_ha::said;

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
    copy_text(ifname, ifname_len, a->interface);
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
