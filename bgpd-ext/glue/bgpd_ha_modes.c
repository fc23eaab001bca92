/*
 * Per-neighbor failover modes ("neighbor X ha failover-mode ..."), kept by
 * BGP instance and neighbor name, and the switchover decision they feed.
 */
#include <zebra.h>

#include "linklist.h"
#include "memory.h"
#include "vty.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"

#include "bgpd_ha_glue.h"

DEFINE_MTYPE_STATIC(BGPD_HA, HA_NEIGHBOR_MODE, "HA neighbor failover mode");

struct ha_neighbor_mode {
	struct bgp *bgp;
	char neighbor[INET6_ADDRSTRLEN + 64];
	enum frr_ha_configured_mode mode;
};

static struct list *modes;

static struct ha_neighbor_mode *mode_find(struct bgp *bgp, const char *neighbor)
{
	struct listnode *node;
	struct ha_neighbor_mode *m;

	for (ALL_LIST_ELEMENTS_RO(modes, node, m))
		if (m->bgp == bgp && strcmp(m->neighbor, neighbor) == 0)
			return m;
	return NULL;
}

enum frr_ha_configured_mode bgpd_ha_mode_get(struct bgp *bgp, const char *neighbor)
{
	struct ha_neighbor_mode *m = modes ? mode_find(bgp, neighbor) : NULL;

	return m ? m->mode : FRR_HA_CONFIGURED_AUTO;
}

void bgpd_ha_mode_set(struct bgp *bgp, const char *neighbor,
		      enum frr_ha_configured_mode mode)
{
	struct ha_neighbor_mode *m;

	if (!modes)
		modes = list_new();
	m = mode_find(bgp, neighbor);
	if (mode == FRR_HA_CONFIGURED_AUTO) { /* the default: keep no entry */
		if (m) {
			listnode_delete(modes, m);
			XFREE(MTYPE_HA_NEIGHBOR_MODE, m);
		}
		return;
	}
	if (!m) {
		m = XCALLOC(MTYPE_HA_NEIGHBOR_MODE, sizeof(*m));
		m->bgp = bgp;
		strlcpy(m->neighbor, neighbor, sizeof(m->neighbor));
		listnode_add(modes, m);
	}
	m->mode = mode;
}

void bgpd_ha_modes_write(struct vty *vty, struct bgp *bgp)
{
	struct listnode *node;
	struct ha_neighbor_mode *m;

	if (!modes)
		return;
	for (ALL_LIST_ELEMENTS_RO(modes, node, m))
		if (m->bgp == bgp)
			vty_out(vty, " neighbor %s ha failover-mode %s\n",
				m->neighbor, frr_ha_configured_mode_name(m->mode));
}

void bgpd_ha_modes_forget(struct bgp *bgp)
{
	struct listnode *node, *next;
	struct ha_neighbor_mode *m;

	if (!modes)
		return;
	for (ALL_LIST_ELEMENTS(modes, node, next, m))
		if (m->bgp == bgp) {
			listnode_delete(modes, m);
			XFREE(MTYPE_HA_NEIGHBOR_MODE, m);
		}
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
