/*
 * The last step of a session's data flow for the sessions whose switchover
 * is a graceful restart (docs/gr-and-tf.md, docs/transparent-failover.md):
 * the takeover ends their shadows, and the new active is an RFC 4724
 * restarting speaker towards them.
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
#include "bgpd/bgp_io.h"
#include "bgpd/bgp_vty.h"

#include "bgpd_ha_tf_private.h"

/* After a graceful end at takeover, how long this RP leaves the peer to
 * reconnect before connecting itself. */
#define TF_GR_PEER_FIRST_MOVE_S 5

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

/* Takeover ended this session for a graceful restart: its routes are kept
 * (stale) until the peer's End-of-RIB, whatever its F bit says. */
static void gr_session_ended(struct peer *peer)
{
	if (!listnode_lookup(restarting, peer))
		listnode_add(restarting, peer_lock(peer));
}

/* RFC 4724 is possible with this peer: a session that cannot continue
 * restarts gracefully rather than plainly. */
bool bgpd_ha_gr_possible(struct peer *peer)
{
	return CHECK_FLAG(peer->cap, PEER_CAP_RESTART_RCV) &&
	       CHECK_FLAG(peer->flags, PEER_FLAG_GRACEFUL_RESTART);
}

/* A session whose switchover is a graceful restart: FRR's own GR code ends
 * it as a closed connection (the peer's routes stay, stale, until its
 * End-of-RIB) and closes the socket; the peer, seeing the close, keeps ours
 * and reconnects to an OPEN with the Restart State bit. */
void bgpd_ha_gr_end_shadow(struct ha_shadow *s)
{
	struct peer *peer = s->peer;

	zlog_notice("frr-ha: %s: graceful restart: the session ends here; its routes are kept as stale until the peer's End-of-RIB",
		    peer->host);
	/* The read wait is on a link the tap is about to close: cancelled
	 * first, so that it never outlives its descriptor (whose number a new
	 * socket may take at once). */
	bgp_reads_off(peer);
	frr_with_mutex (&peer->io_mtx) {
		frr_ha_tap_end_for_graceful_restart(bgpd_ha_taps(), s->fd);
	}
	bgpd_ha_shadow_free(s);
	gr_session_ended(peer);
	/* The peer, seeing the close, reconnects at once; connecting from
	 * here at the same moment makes a connection collision, whose
	 * resolution FRR can end with the new session stopped (and the
	 * peer's routes flushed). The peer gets the first move; this RP
	 * connects later only if the peer does not. */
	peer->v_start = TF_GR_PEER_FIRST_MOVE_S;
	bgp_reads_on(peer);
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
