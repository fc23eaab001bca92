/*
 * Per-neighbor failover modes ("neighbor X ha failover-mode ..."), kept by
 * BGP instance and neighbor name, and the switchover decision they feed.
 */
#include <zebra.h>

#include "jhash.h"
#include "memory.h"
#include "typesafe.h"
#include "vty.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"

#include "bgpd_ha_glue.h"

DEFINE_MTYPE_STATIC(BGPD_HA, HA_NEIGHBOR_MODE, "HA neighbor failover mode");

PREDECL_HASH(ha_modes_by_name);
PREDECL_DLIST(ha_modes_in_order);

/* Found by name on every decision (each session at a takeover, each
 * protect sweep): a list made that O(sessions) each, O(sessions^2) a pass,
 * at a thousand neighbors configured one by one. Written in the order they
 * were configured. */
struct ha_neighbor_mode {
	struct ha_modes_by_name_item by_name;
	struct ha_modes_in_order_item in_order;
	struct bgp *bgp;
	char neighbor[INET6_ADDRSTRLEN + 64];
	enum frr_ha_configured_mode mode;
};

static int mode_cmp(const struct ha_neighbor_mode *a, const struct ha_neighbor_mode *b)
{
	if (a->bgp != b->bgp)
		return numcmp((uintptr_t)a->bgp, (uintptr_t)b->bgp);
	return strcmp(a->neighbor, b->neighbor);
}

static uint32_t mode_hash(const struct ha_neighbor_mode *m)
{
	return jhash(m->neighbor, strlen(m->neighbor), jhash(&m->bgp, sizeof(m->bgp), 0x30de));
}

DECLARE_HASH(ha_modes_by_name, struct ha_neighbor_mode, by_name, mode_cmp, mode_hash);
DECLARE_DLIST(ha_modes_in_order, struct ha_neighbor_mode, in_order);

static struct ha_modes_by_name_head by_name;
static struct ha_modes_in_order_head in_order;

static struct ha_neighbor_mode *mode_find(struct bgp *bgp, const char *neighbor)
{
	struct ha_neighbor_mode ref = {.bgp = bgp};

	if (strlcpy(ref.neighbor, neighbor, sizeof(ref.neighbor)) >= sizeof(ref.neighbor))
		return NULL; /* longer than any name we keep */
	return ha_modes_by_name_find(&by_name, &ref);
}

static void mode_free(struct ha_neighbor_mode *m)
{
	ha_modes_by_name_del(&by_name, m);
	ha_modes_in_order_del(&in_order, m);
	XFREE(MTYPE_HA_NEIGHBOR_MODE, m);
}

enum frr_ha_configured_mode bgpd_ha_mode_get(struct bgp *bgp, const char *neighbor)
{
	struct ha_neighbor_mode *m = mode_find(bgp, neighbor);

	return m ? m->mode : FRR_HA_CONFIGURED_AUTO;
}

void bgpd_ha_mode_set(struct bgp *bgp, const char *neighbor,
		      enum frr_ha_configured_mode mode)
{
	struct ha_neighbor_mode *m = mode_find(bgp, neighbor);

	if (mode == FRR_HA_CONFIGURED_AUTO) { /* the default: keep no entry */
		if (m)
			mode_free(m);
		return;
	}
	if (!m) {
		m = XCALLOC(MTYPE_HA_NEIGHBOR_MODE, sizeof(*m));
		m->bgp = bgp;
		strlcpy(m->neighbor, neighbor, sizeof(m->neighbor));
		ha_modes_by_name_add(&by_name, m);
		ha_modes_in_order_add_tail(&in_order, m);
	}
	m->mode = mode;
}

void bgpd_ha_modes_write(struct vty *vty, struct bgp *bgp)
{
	struct ha_neighbor_mode *m;

	frr_each (ha_modes_in_order, &in_order, m)
		if (m->bgp == bgp)
			vty_out(vty, " neighbor %s ha failover-mode %s\n",
				m->neighbor, frr_ha_configured_mode_name(m->mode));
}

void bgpd_ha_modes_forget(struct bgp *bgp)
{
	struct ha_neighbor_mode *m;

	frr_each_safe (ha_modes_in_order, &in_order, m)
		if (m->bgp == bgp)
			mode_free(m);
}

void bgpd_ha_modes_init(void)
{
	ha_modes_by_name_init(&by_name);
	ha_modes_in_order_init(&in_order);
}

void bgpd_ha_modes_fini(void)
{
	struct ha_neighbor_mode *m;

	while ((m = ha_modes_in_order_first(&in_order)))
		mode_free(m);
	ha_modes_by_name_fini(&by_name);
	ha_modes_in_order_fini(&in_order);
}

/* Whether a takeover can compute the session's difference: the stream
 * records follow IPv4/IPv6 unicast and multicast, without ADD-PATH. */
static bool difference_computable(struct peer *peer)
{
	afi_t afi;
	safi_t safi;

	FOREACH_AFI_SAFI (afi, safi) {
		if (!peer->afc_nego[afi][safi])
			continue;
		if ((afi != AFI_IP && afi != AFI_IP6) ||
		    (safi != SAFI_UNICAST && safi != SAFI_MULTICAST))
			return false;
		/* ADD-PATH in either direction: advertised by us and
		 * received from the peer. */
		if ((CHECK_FLAG(peer->af_cap[afi][safi], PEER_CAP_ADDPATH_AF_TX_ADV) &&
		     CHECK_FLAG(peer->af_cap[afi][safi], PEER_CAP_ADDPATH_AF_RX_RCV)) ||
		    (CHECK_FLAG(peer->af_cap[afi][safi], PEER_CAP_ADDPATH_AF_RX_ADV) &&
		     CHECK_FLAG(peer->af_cap[afi][safi], PEER_CAP_ADDPATH_AF_TX_RCV)))
			return false;
	}
	return true;
}

struct frr_ha_mode_decision bgpd_ha_peer_decision(struct peer *peer)
{
	struct frr_ha_session_facts facts = {
		.established = peer_established(peer),
		.peer_advertised_gr = CHECK_FLAG(peer->cap, PEER_CAP_RESTART_RCV),
		/* FRR's effective GR mode for the peer (its own, or the
		 * global one it inherits) is "restart". */
		.local_gr_restart = CHECK_FLAG(peer->flags, PEER_FLAG_GRACEFUL_RESTART),
		.forwarding_preserved =
			CHECK_FLAG(peer->bgp->flags, BGP_FLAG_GR_PRESERVE_FWD),
		.difference_computable = difference_computable(peer),
		.local_address_moves = bgpd_ha_service_address_moves(peer->su_local),
	};

	return frr_ha_decide_session_mode(bgpd_ha_mode_get(peer->bgp, peer->host),
					  &facts);
}
