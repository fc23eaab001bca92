/*
 * Forwarding through a change of BGP route processor (DESIGN.md, invariant 5).
 *
 * - While another BGP client of the same instance is connected, a BGP client
 *   that leaves does not take its routes out of the FIB: a standby that dies
 *   owned nothing, and an active that dies leaves its routes for the new
 *   active to confirm.
 * - When the client that left had installed routes (it was the active), a
 *   resync window opens: routes the new active sends again unchanged take
 *   over the installed state without touching the kernel. When the new
 *   active says it has sent everything (route update complete for
 *   AFI_UNSPEC, from bgpd -M ha), or at the latest when the sweep timer
 *   fires, the routes it did not send again are removed.
 *
 * "Sent again" is decided by who sent the route, not by when: each BGP client
 * connection gets, with its first route, the next mark of a counter, and
 * every route a BGP client sends carries its client's mark (patch 0011). A
 * route is confirmed if its mark is that of a client still connected. An
 * uptime compared with the moment the owner left (whole seconds) could not
 * tell a route the old active installed in its last second from one the new
 * active sent in that same second, and kept the former for good; a mark
 * also stays right if the new active's first routes reach zebra before the
 * old one's disconnection does.
 */
#include <zebra.h>

#include "linklist.h"
#include "srcdest_table.h"
#include "table.h"
#include "thread.h"
#include "vrf.h"

#include "zebra/rib.h"
#include "zebra/zebra_router.h"
#include "zebra/zebra_vrf.h"
#include "zebra/zserv.h"

#include "zebra_ha_glue.h"

DEFINE_MGROUP(ZEBRA_HA, "frr-ha (zebra)");
DEFINE_MTYPE_STATIC(ZEBRA_HA, HA_CLIENT_MARK, "HA bgp client mark");

/* A connected BGP client and the mark its routes carry. */
struct client_mark {
	struct zserv *client;
	uint32_t mark;
};

/* The module's one instance (FRR modules are process-wide). */
static struct {
	struct thread_master *master;
	unsigned int sweep_seconds;
	bool resyncing;
	uint16_t instance;
	uint32_t last_mark;   /* the mark given to the newest BGP client */
	struct list *clients; /* struct client_mark, BGP clients connected */
	struct thread *t_sweep;
	struct zebra_ha_counters counters;
} ha = {.sweep_seconds = ZEBRA_HA_DEFAULT_SWEEP_SECONDS};

/* The client's mark; a BGP client gets the next one with its first route. */
static uint32_t mark_of(struct zserv *client)
{
	struct listnode *node;
	struct client_mark *cm;

	for (ALL_LIST_ELEMENTS_RO(ha.clients, node, cm))
		if (cm->client == client)
			return cm->mark;
	cm = XCALLOC(MTYPE_HA_CLIENT_MARK, sizeof(*cm));
	cm->client = client;
	if (++ha.last_mark == 0) /* 0: not sent by a BGP client */
		ha.last_mark = 1;
	cm->mark = ha.last_mark;
	listnode_add(ha.clients, cm);
	return cm->mark;
}

static int mark_route(struct zserv *client, struct route_entry *re)
{
	if (client->proto == ZEBRA_ROUTE_BGP)
		re->client_mark = mark_of(client);
	return 0;
}

/* A client that goes takes its mark along: its routes are confirmed no more. */
static int forget_client(struct zserv *client)
{
	struct listnode *node, *next;
	struct client_mark *cm;

	for (ALL_LIST_ELEMENTS(ha.clients, node, next, cm))
		if (cm->client == client) {
			list_delete_node(ha.clients, node);
			XFREE(MTYPE_HA_CLIENT_MARK, cm);
		}
	return 0;
}

static bool other_bgp_client(const struct zserv *leaving)
{
	struct listnode *node;
	struct zserv *client;

	for (ALL_LIST_ELEMENTS_RO(zrouter.client_list, node, client))
		if (client != leaving && client->proto == leaving->proto &&
		    client->instance == leaving->instance && !client->is_closed &&
		    !client->synchronous)
			return true;
	return false;
}

/* Calls fn on every live BGP entry of the resyncing instance. */
static void for_each_bgp_route(void (*fn)(struct route_node *rn,
					  struct route_entry *re, void *arg),
			       void *arg)
{
	struct vrf *vrf;

	RB_FOREACH (vrf, vrf_id_head, &vrfs_by_id) {
		struct zebra_vrf *zvrf = vrf->info;

		if (!zvrf)
			continue;
		for (afi_t afi = AFI_IP; afi <= AFI_IP6; afi++) {
			struct route_table *table = zvrf->table[afi][SAFI_UNICAST];
			struct route_node *rn;

			if (!table)
				continue;
			for (rn = route_top(table); rn; rn = srcdest_route_next(rn)) {
				struct route_entry *re, *next;

				RNODE_FOREACH_RE_SAFE (rn, re, next)
					if (!CHECK_FLAG(re->status, ROUTE_ENTRY_REMOVED) &&
					    re->type == ZEBRA_ROUTE_BGP &&
					    re->instance == ha.instance)
						fn(rn, re, arg);
			}
		}
	}
}

/* Not sent (again) by a BGP client still connected: unconfirmed. */
static bool unconfirmed(const struct route_entry *re)
{
	struct listnode *node;
	struct client_mark *cm;

	for (ALL_LIST_ELEMENTS_RO(ha.clients, node, cm))
		if (cm->mark == re->client_mark)
			return false;
	return true;
}

static void count_stale(struct route_node *rn, struct route_entry *re, void *arg)
{
	if (unconfirmed(re))
		(*(uint64_t *)arg)++;
}

static void sweep_stale(struct route_node *rn, struct route_entry *re, void *arg)
{
	if (unconfirmed(re)) {
		rib_delnode(rn, re);
		(*(uint64_t *)arg)++;
	}
}

static void sweep_now(const char *why)
{
	uint64_t swept = 0;

	THREAD_OFF(ha.t_sweep);
	for_each_bgp_route(sweep_stale, &swept);
	ha.resyncing = false;
	ha.counters.sweeps++;
	ha.counters.routes_swept += swept;
	if (strcmp(why, "timer") == 0)
		ha.counters.timer_sweeps++;
	zlog_notice("frr-ha: resync window closed (%s): %" PRIu64
		    " BGP routes the new active did not send again were removed",
		    why, swept);
}

static void sweep(struct thread *t)
{
	sweep_now("timer");
}

static int new_active_finished(struct zserv *client, const struct zapi_cap *api)
{
	if (!ha.resyncing || api->cap != ZEBRA_CLIENT_ROUTE_UPDATE_COMPLETE ||
	    api->afi != AFI_UNSPEC || client->proto != ZEBRA_ROUTE_BGP ||
	    client->instance != ha.instance)
		return 0;
	sweep_now("the new active sent all its routes");
	return 0;
}

static int keep_routes_while_partner_connected(struct zserv *leaving)
{
	uint32_t routes = leaving->v4_route_add_cnt + leaving->v6_route_add_cnt;

	if (leaving->proto != ZEBRA_ROUTE_BGP || !other_bgp_client(leaving))
		return 0;
	ha.counters.kept_disconnects++;
	if (routes == 0) {
		/* A standby: it installed nothing, so nothing changes. */
		zlog_notice("frr-ha: a bgp client that installed no route left; the other one keeps the FIB");
		return 1;
	}
	zlog_notice("frr-ha: the bgp client that installed the routes left while another is connected: routes stay installed, removed after %u s unless sent again",
		    ha.sweep_seconds);
	ha.resyncing = true;
	ha.instance = leaving->instance;
	THREAD_OFF(ha.t_sweep);
	thread_add_timer(ha.master, sweep, NULL, ha.sweep_seconds, &ha.t_sweep);
	return 1;
}

/* During the resync window, a BGP route sent again with the same nexthop
 * group, metric, MTU and table programs exactly what the kernel holds. */
static int same_fib_content(struct route_node *rn, const struct route_entry *old,
			    const struct route_entry *new)
{
	if (!ha.resyncing || old->type != ZEBRA_ROUTE_BGP ||
	    new->type != ZEBRA_ROUTE_BGP || old->instance != new->instance ||
	    old->nhe != new->nhe || old->metric != new->metric ||
	    old->mtu != new->mtu || old->nexthop_mtu != new->nexthop_mtu ||
	    old->table != new->table ||
	    CHECK_FLAG(old->status, ROUTE_ENTRY_USE_FIB_NHG))
		return 0;
	ha.counters.fib_updates_skipped++;
	return 1;
}

void zebra_ha_resync_status(struct zebra_ha_resync_status *st)
{
	memset(st, 0, sizeof(*st));
	st->sweep_seconds = ha.sweep_seconds;
	st->resyncing = ha.resyncing;
	if (ha.resyncing) {
		st->sweep_in_seconds = thread_timer_remain_second(ha.t_sweep);
		for_each_bgp_route(count_stale, &st->stale_routes);
	}
	st->counters = ha.counters;
}

void zebra_ha_keep_init(struct thread_master *master, unsigned int sweep_seconds)
{
	ha.master = master;
	ha.clients = list_new();
	if (sweep_seconds)
		ha.sweep_seconds = sweep_seconds;
	hook_register(zserv_client_route_add, mark_route);
	hook_register(zserv_client_close, forget_client);
	hook_register(zserv_client_keep_routes, keep_routes_while_partner_connected);
	hook_register(rib_fib_unchanged, same_fib_content);
	hook_register(zserv_client_capabilities, new_active_finished);
}
