/*
 * The interface the kernel holds one of this host's addresses on, for a
 * bgpd that has not heard of the address from zebra yet.
 *
 * A standby started next to a busy active is handed every session at once,
 * and zebra's addresses reach its bgpd one message per turn of a main loop
 * those hand-overs keep busy. A shadow whose local address bgpd did not
 * know yet failed in bgp_zebra_nexthop_set() ("nexthop_set failed,
 * resetting connection"), was handed over again and failed again: at 2000
 * sessions with an address each, the last addresses reached the standby
 * 4.5 minutes after it started, and until then 500 sessions went round
 * that loop (docs/benchmarks.md, "2000 x 1k").
 * The session's socket is bound to the address, so the kernel knows it.
 */
#include <zebra.h>

#include <ifaddrs.h>

#include "if.h"
#include "prefix.h"
#include "sockunion.h"

#include "bgpd_ha_glue.h"

static bool same_address(const struct sockaddr *a, const union sockunion *local)
{
	if (a->sa_family != sockunion_family(local))
		return false;
	if (a->sa_family == AF_INET)
		return IPV4_ADDR_SAME(&((const struct sockaddr_in *)a)->sin_addr,
				      &local->sin.sin_addr);
	return a->sa_family == AF_INET6 &&
	       IPV6_ADDR_SAME(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &local->sin6.sin6_addr);
}

struct interface *bgpd_ha_kernel_address_interface(const union sockunion *local,
						   vrf_id_t vrf_id)
{
	struct interface *ifp = NULL;
	struct ifaddrs *all;

	/* One dump of the addresses (a netlink round trip), and only while
	 * bgpd lacks the address: rarely, and once per session. */
	if (getifaddrs(&all) != 0)
		return NULL;
	for (const struct ifaddrs *a = all; a && !ifp; a = a->ifa_next)
		if (a->ifa_addr && same_address(a->ifa_addr, local))
			ifp = if_lookup_by_name(a->ifa_name, vrf_id);
	freeifaddrs(all);
	return ifp;
}
