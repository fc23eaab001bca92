/*
 * What a role means to bgpd: the active runs the peers, listens, and is
 * where a plain vtysh lands; any other RP holds every session and keeps
 * away from zebra. Modules of the pair that act on a role change (the
 * transparent failover, graceful restart) register on the
 * frr_ha_role_changed hook, as BMP registers on bgpd's own hooks.
 */
#include <zebra.h>

#include <sys/un.h>

#include "libfrr.h"
#include "linklist.h"
#include "monotime.h"
#include "thread.h"
#include "vrf.h"
#include "workqueue.h"
#include "zclient.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_debug.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_network.h"
#include "bgpd/bgp_nexthop.h"
#include "bgpd/bgp_zebra.h"

#include "bgpd_ha_glue.h"

/* bgpd's connection to zebra (bgp_zebra.c; no public header declares it). */
extern struct zclient *zclient;

DEFINE_HOOK(frr_ha_role_changed,
	    (enum frr_ha_role previous, enum frr_ha_role role),
	    (previous, role));

/* Active since the last takeover, zebra not yet told that this RP has sent
 * everything it holds. */
static bool fib_confirm_pending;

/* The vty socket this process listens on (it may have been moved with
 * --vty_socket), found among our own descriptors. */
static bool own_vty_socket(char *path, size_t len)
{
	int maxfd = getdtablesize();

	for (int fd = 0; fd < maxfd; fd++) {
		struct sockaddr_un sun;
		socklen_t sl = sizeof(sun);
		int acc = 0;
		socklen_t al = sizeof(acc);
		size_t plen;

		if (getsockname(fd, (struct sockaddr *)&sun, &sl) < 0 ||
		    sun.sun_family != AF_UNIX ||
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || !acc)
			continue;
		plen = strnlen(sun.sun_path, sizeof(sun.sun_path));
		if (plen > 9 && strcmp(sun.sun_path + plen - 9, "/bgpd.vty") == 0) {
			strlcpy(path, sun.sun_path, len);
			return true;
		}
	}
	return false;
}

/* A plain vtysh connects to <vtydir>/bgpd.vty: point it at the active. */
static void link_vty_to_self(void)
{
	char own[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char link_path[512], tmp[520];

	if (!own_vty_socket(own, sizeof(own)))
		return;
	snprintf(link_path, sizeof(link_path), "%s/bgpd.vty", frr_vtydir);
	if (strcmp(own, link_path) == 0)
		return; /* this RP uses the default path itself */
	snprintf(tmp, sizeof(tmp), "%s.ha-%d", link_path, (int)getpid());
	unlink(tmp);
	if (symlink(own, tmp) < 0 || rename(tmp, link_path) < 0) {
		zlog_warn("frr-ha: cannot point %s at %s: %s", link_path, own,
			  safe_strerror(errno));
		unlink(tmp);
	}
}

/* bgpd puts a neighbor's TCP-MD5 key on its listeners when the password
 * is configured, never when a listener is made: listeners opened again
 * at a takeover had no key, so the kernel dropped every signed SYN of such
 * a peer, and answered none of its segments for a connection it no longer
 * had (no RST without the key): a peer whose session could not be
 * continued waited for its hold time, and came back only through this
 * RP's own connect. Put the keys back, as the password's configuration
 * does (bgpd.c, peer_password_set). */
static void listeners_take_passwords(struct bgp *bgp)
{
	struct listnode *node, *rn;
	struct peer *peer;
	struct peer_group *group;
	struct prefix *range;

	for (ALL_LIST_ELEMENTS_RO(bgp->peer, node, peer))
		if (peer->password && !BGP_PEER_SU_UNSPEC(peer)
		    && bgp_md5_set(peer) < 0)
			zlog_warn("frr-ha: %s: TCP-MD5 key not set on the listener: %s",
				  peer->host, safe_strerror(errno));
	for (ALL_LIST_ELEMENTS_RO(bgp->group, node, group)) {
		if (!group->conf->password)
			continue;
		for (afi_t afi = AFI_IP; afi <= AFI_IP6; afi++)
			for (ALL_LIST_ELEMENTS_RO(group->listen_range[afi], rn, range))
				bgp_md5_set_prefix(bgp, range, group->conf->password);
	}
}

static void bgp_listeners(bool open)
{
	struct listnode *node;
	struct bgp *bgp;

	if (open)
		bgp_option_unset(BGP_OPT_NO_LISTEN);
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, node, bgp)) {
		bgp_handle_socket(bgp, vrf_lookup_by_id(bgp->vrf_id),
				  VRF_UNKNOWN, open);
		if (open)
			listeners_take_passwords(bgp);
	}
	if (!open)
		bgp_option_set(BGP_OPT_NO_LISTEN);
}

/* Every route this RP holds goes to zebra (identical ones already
 * installed are left untouched, with zebra -M ha). */
static void announce_tables(void)
{
	struct listnode *bn;
	struct bgp *bgp;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp)) {
		bgp_zebra_announce_table(bgp, AFI_IP, SAFI_UNICAST);
		bgp_zebra_announce_table(bgp, AFI_IP6, SAFI_UNICAST);
	}
}

void bgpd_ha_hold_sessions(void)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	/* Not the owner: no route goes to zebra, none is withdrawn from it:
	 * in local mode the active's zebra and kernel are this host's. In
	 * dual-RP mode this host has its own: the routes the shadows learn go
	 * to its zebra, so that its FIB holds them before it claims the
	 * service addresses (docs/dual-rp.md, "Forwarding from the new host"). */
	if (!bgpd_ha_dual_rp()) {
		bgp_option_set(BGP_OPT_NO_FIB);
	} else if (bgp_option_check(BGP_OPT_NO_FIB)) {
		/* Set while the configuration did not say dual-RP yet (the
		 * first role, at start). */
		bgp_option_unset(BGP_OPT_NO_FIB);
		announce_tables();
	}
	SET_FLAG(bm->flags, BM_FLAG_HOLD_PEERS);
	bgp_listeners(false);
	/* Drop without a NOTIFICATION: an RP that is not the owner writes
	 * nothing to a peer. */
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer))
			if (peer->status != Idle && !bgpd_ha_tf_is_shadow(peer))
				BGP_EVENT_ADD(peer, BGP_Stop);
}

static void run_sessions(void)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;
	/* Local mode: the standby gave zebra nothing (BGP_OPT_NO_FIB). */
	bool zebra_lacks_routes = bgp_option_check(BGP_OPT_NO_FIB);

	bgp_option_unset(BGP_OPT_NO_FIB);
	bgpd_ha_gr_restart_window();
	UNSET_FLAG(bm->flags, BM_FLAG_HOLD_PEERS);
	bgp_listeners(true);
	/* What the continued sessions taught this RP while standby goes to
	 * zebra now: the routes the old active installed are confirmed. In
	 * dual-RP mode the standby gave its own zebra every route all along:
	 * the whole table again would hold the main thread (1.7 s at 1M
	 * prefixes) while the peers wait for the new active's first segment. */
	if (zebra_lacks_routes)
		announce_tables();
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp)) {
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer))
			if (peer->status == Idle && peer_active(peer))
				BGP_EVENT_ADD(peer, BGP_Start);
	}
}

/* Every session that can be up is up, has sent End-of-RIB for all it
 * negotiated, zebra has answered every nexthop bgpd asked about, and
 * bestpath has caught up: the new active holds what it will hold, and has
 * sent it to zebra. */
static bool all_sessions_synced(void)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;
	struct bgp_nexthop_cache *bnc;
	afi_t afi;
	safi_t safi;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp)) {
		if (bgp->process_queue && !work_queue_empty(bgp->process_queue))
			return false;
		/* A path whose nexthop zebra has not resolved yet is not
		 * selected yet: it would reach zebra after the signal. */
		for (afi = AFI_IP; afi < AFI_MAX; afi++)
			frr_each (bgp_nexthop_cache, &bgp->nexthop_cache_table[afi], bnc)
				if (!bnc->last_update)
					return false;
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			if (!peer_active(peer) || CHECK_FLAG(peer->flags, PEER_FLAG_SHUTDOWN))
				continue;
			if (!peer_established(peer))
				return false;
			FOREACH_AFI_SAFI (afi, safi)
				if (peer->afc_nego[afi][safi] &&
				    !CHECK_FLAG(peer->af_sflags[afi][safi],
						PEER_STATUS_EOR_RECEIVED))
					return false;
		}
	}
	return true;
}

/* Tells zebra (zebra -M ha) that this RP, new active, has sent every route
 * it holds: routes of the old active it did not send again can go. */
void bgpd_ha_confirm_fib_when_synced(void)
{
	static uint64_t synced_since;
	uint64_t now = bgpd_ha_now_ms();

	if (!fib_confirm_pending)
		return;
	/* A premature "done" would remove routes the new active is still
	 * about to send (FIB churn); a late one costs nothing: require the
	 * state to hold for a second. */
	if (!all_sessions_synced()) {
		synced_since = 0;
		return;
	}
	if (!synced_since)
		synced_since = now;
	if (now - synced_since < 1000)
		return;
	if (bgp_zebra_update(AFI_UNSPEC, SAFI_UNSPEC, VRF_DEFAULT,
			     ZEBRA_CLIENT_ROUTE_UPDATE_COMPLETE) != BGP_GR_SUCCESS)
		return; /* zebra not connected yet: next tick */
	fib_confirm_pending = false;
	synced_since = 0;
	zlog_notice("frr-ha: every session is synced: told zebra this RP has sent all its routes");
}

void bgpd_ha_role_apply(void *ctx, enum frr_ha_role role, uint64_t epoch)
{
	static enum frr_ha_role previous = FRR_HA_ROLE_INIT;

	if (role == FRR_HA_ROLE_ACTIVE) {
		zlog_notice("frr-ha: rp %s is active (epoch %" PRIu64 "): running BGP sessions",
			    bgpd_ha_rp_name(), epoch);
		hook_call(frr_ha_role_changed, previous, role);
		run_sessions();
		link_vty_to_self();
		fib_confirm_pending = true;
	} else {
		zlog_notice("frr-ha: rp %s is %s (epoch %" PRIu64 "): BGP sessions held",
			    bgpd_ha_rp_name(),
			    role == FRR_HA_ROLE_INIT ? "starting" : "standby", epoch);
		hook_call(frr_ha_role_changed, previous, role);
		bgpd_ha_hold_sessions();
		fib_confirm_pending = false;
		/* Leaving the active role: the routes this RP installed stay in
		 * zebra (nothing was withdrawn). Reconnecting to zebra as a new
		 * client tells zebra (with zebra -M ha) that their owner left,
		 * so that the new active confirms them or they are swept. In
		 * dual-RP mode the new active has a zebra of its own, and this
		 * RP goes on giving its zebra what its shadows learn. */
		if (previous == FRR_HA_ROLE_ACTIVE && zclient && !bgpd_ha_dual_rp()) {
			zlog_notice("frr-ha: handing the FIB over: reconnecting to zebra as standby");
			zclient_reset(zclient);
		}
	}
	previous = role;
}

/* --- sessions, as the bulk sync sees them ---------------------------------------- */

void bgpd_ha_owned_sessions(void *ctx, frr_ha_session_sink emit, void *sink)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			struct frr_ha_session_item item = {
				.vrf = bgp->name_pretty,
				.neighbor = peer->host,
				.remote_as = peer->as,
				.state = lookup_msg(bgp_status_msg, peer->status, NULL),
			};
			emit(sink, &item);
		}
}

bool bgpd_ha_check_session(void *ctx, const struct frr_ha_session_item *item,
			   char *why, size_t why_len)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp)) {
		if (strcmp(bgp->name_pretty, item->vrf) != 0)
			continue;
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			if (strcmp(peer->host, item->neighbor) != 0)
				continue;
			if (peer->as == item->remote_as)
				return true;
			snprintf(why, why_len,
				 "neighbor %s (%s) has remote-as %u here, %u on the active",
				 item->neighbor, item->vrf, peer->as, item->remote_as);
			return false;
		}
	}
	snprintf(why, why_len, "neighbor %s (%s) is not configured on this RP",
		 item->neighbor, item->vrf);
	return false;
}
