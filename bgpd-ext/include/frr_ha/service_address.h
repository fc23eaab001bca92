/*
 * Dual-RP: the router's service addresses, which the active's host owns
 * (core: ../../core/address_claim.hpp; docs/dual-rp.md, "Claiming the
 * service addresses"). Each is given as "A.B.C.D/M" or "X:X::X:X/M" and
 * lives on the interface of this host that has an address of its own in
 * the same subnet. Each call says why when it fails.
 */
#ifndef FRR_HA_SERVICE_ADDRESS_H
#define FRR_HA_SERVICE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether `prefix` is a well-formed address and length. */
bool frr_ha_service_address_check(const char *prefix, char *why, size_t why_len);
/* Adds the address and announces it (gratuitous ARP, unsolicited NA);
 * stores the interface's name. Needs CAP_NET_ADMIN and CAP_NET_RAW. */
bool frr_ha_service_address_claim(const char *prefix, char *ifname, size_t ifname_len,
				  char *why, size_t why_len);
/* Announces it again. */
bool frr_ha_service_address_announce(const char *prefix, char *why, size_t why_len);
/* Removes it (gone already is no error). */
bool frr_ha_service_address_release(const char *prefix, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif /* FRR_HA_SERVICE_ADDRESS_H */
