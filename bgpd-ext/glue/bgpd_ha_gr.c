/*
 * The new active as an RFC 4724 restarting speaker, towards the sessions
 * whose switchover is a graceful restart (docs/gr-and-tf.md).
 *
 * FRR marks its OPENs with the Restart State bit while the instance's
 * startup timer runs, and a session that opens with that bit (and the F bit,
 * "bgp graceful-restart preserve-fw-state") starts FRR's selection deferral
 * and End-of-RIB exchange. A standby's bgpd started long ago; at takeover
 * the timer runs again, so that FRR's own GR code restarts these sessions
 * exactly as after a restart of bgpd itself.
 */
#include <zebra.h>

#include "linklist.h"
#include "log.h"
#include "thread.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_vty.h"

#include "bgpd_ha_glue.h"

/* Sessions ended at takeover for a graceful restart, until they are back. */
static struct list *restarting;

static void restart_window_end(struct thread *t)
{
	struct bgp *bgp = THREAD_ARG(t);

	zlog_info("frr-ha: %s: restart window over: OPENs no longer carry the Restart State bit",
		  bgp->name_pretty);
	bgp->t_startup = NULL;
}

void bgpd_ha_gr_restart_window(void)
{
	struct listnode *node;
	struct bgp *bgp;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, node, bgp)) {
		if (bgp->t_startup)
			continue; /* this bgpd itself started recently */
		thread_add_timer(bm->master, restart_window_end, bgp,
				 bgp->restart_time, &bgp->t_startup);
		zlog_notice("frr-ha: %s: restarting: OPENs carry the Restart State bit for %u s",
			    bgp->name_pretty, bgp->restart_time);
	}
}

void bgpd_ha_gr_session_ended(struct peer *peer)
{
	if (!listnode_lookup(restarting, peer))
		listnode_add(restarting, peer_lock(peer));
}

/* The peer is back. FRR drops a peer's stale routes at once when its new
 * OPEN lacks the F bit, as after a restart of the peer; here the peer did
 * not restart, we did: its F bit says nothing about the routes we kept
 * from it. They stay, stale, until its End-of-RIB replaces or sweeps them
 * (FRR's own EoR handling), so that no best path flaps meanwhile. */
static int gr_status_changed(struct peer *peer)
{
	struct listnode *node;
	afi_t afi;
	safi_t safi;

	/* Called on every FSM change of every peer: the list only after. */
	if (peer->status != Established && peer->status != Deleted)
		return 0;
	node = listnode_lookup(restarting, peer);
	if (!node)
		return 0;
	if (peer->status == Established)
		FOREACH_AFI_SAFI_NSF (afi, safi)
			if (peer->nsf[afi][safi] &&
			    CHECK_FLAG(peer->af_cap[afi][safi], PEER_CAP_RESTART_AF_RCV) &&
			    !CHECK_FLAG(peer->af_cap[afi][safi],
					PEER_CAP_RESTART_AF_PRESERVE_RCV)) {
				/* bgp_establish() keeps nsf and the stale
				 * routes when nsf is not set yet. */
				peer->nsf[afi][safi] = 0;
				zlog_info("frr-ha: %s: %s: stale routes kept until the peer's End-of-RIB",
					  peer->host, get_afi_safi_str(afi, safi, false));
			}
	list_delete_node(restarting, node);
	peer_unlock(peer);
	return 0;
}

void bgpd_ha_gr_init(void)
{
	restarting = list_new();
	hook_register(peer_status_changed, gr_status_changed);
}

void bgpd_ha_gr_fini(void)
{
	struct peer *peer;

	hook_unregister(peer_status_changed, gr_status_changed);
	while ((peer = listnode_head(restarting))) {
		listnode_delete(restarting, peer);
		peer_unlock(peer);
	}
	list_delete(&restarting);
}
