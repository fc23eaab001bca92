/*
 * The service addresses of dual-RP mode (docs/dual-rp.md, "Claiming the
 * service addresses"): the addresses the peers know the router by, held by
 * the active's host alone. This RP claims them when it becomes active (the
 * pair has then waited out the lease the old active held), announces them
 * again a few times, and releases them whenever it may not write to peers:
 * not active, or active with its lease lapsed (the partner may be taking
 * over). Local mode has one host, which keeps its addresses: nothing is
 * done there.
 *
 * It also tells the pair whether their interface has its link on this host
 * (docs/dual-rp.md, "The service link"): an active without it hands its
 * role to a ready standby before bgpd takes the interface's sessions down.
 */
#include <zebra.h>

#include "hook.h"
#include "if.h"
#include "json.h"
#include "privs.h"
#include "thread.h"
#include "vty.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_zebra.h"

#include "bgpd_ha_glue.h"
#include "frr_ha/service_address.h"

extern struct zebra_privs_t bgpd_privs;

/* patches/0014: defined in bgpd/bgp_zebra.c, declared there and here. */
DECLARE_HOOK(bgp_interface_going_down, (struct interface *ifp), (ifp));

struct service_address {
	char prefix[INET6_ADDRSTRLEN + 8];
	char interface[IFNAMSIZ];
	/* The interface its subnet was last found on: bgpd may forget an
	 * interface's addresses while its link is down. */
	char link_interface[IFNAMSIZ];
	bool claimed;
	char error[256]; /* the last failure, said once */
};

static struct service_address addresses[BGPD_HA_SERVICE_MAX];
static unsigned int n_addresses;
static struct thread_master *master;
static struct thread *t_announce;
/* After a claim: again at these times (ms after it), for a peer that missed
 * one; announce_step is the one that fires next. */
static const unsigned int announce_at_ms[] = {200, 1000, 3000};
static unsigned int announce_step;

bool bgpd_ha_dual_rp(void)
{
	const struct frr_ha_rp_config *self = bgpd_ha_rp_config(true);

	return self && self->tcp;
}

static bool may_hold_addresses(void)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();

	return node && frr_ha_node_role(node) == FRR_HA_ROLE_ACTIVE &&
	       frr_ha_node_may_write(node);
}

static void said(struct service_address *a, bool done, const char *what, const char *why)
{
	if (done) {
		a->error[0] = '\0';
		return;
	}
	if (strcmp(a->error, why) != 0)
		zlog_err("frr-ha: service address %s could not be %s: %s", a->prefix, what, why);
	strlcpy(a->error, why, sizeof(a->error));
}

static void claim_one(struct service_address *a)
{
	char why[256] = "";
	bool done;

	frr_with_privs (&bgpd_privs) {
		done = frr_ha_service_address_claim(a->prefix, a->interface,
						    sizeof(a->interface), why, sizeof(why));
	}
	said(a, done, "claimed", why);
	if (done && !a->claimed)
		zlog_info("frr-ha: service address %s claimed on %s", a->prefix, a->interface);
	a->claimed = done;
}

static void release_one(struct service_address *a)
{
	char why[256] = "";
	bool done;

	frr_with_privs (&bgpd_privs) {
		done = frr_ha_service_address_release(a->prefix, why, sizeof(why));
	}
	said(a, done, "released", why);
	if (done && a->claimed)
		zlog_info("frr-ha: service address %s released", a->prefix);
	if (done)
		a->claimed = false;
}

static void announce_fired(struct thread *t)
{
	char why[256];
	bool hold = may_hold_addresses();

	for (unsigned int i = 0; i < n_addresses; i++) {
		bool done;

		/* A claim that failed (the interface's own address not there
		 * yet) is tried again with each announcement. */
		if (hold && !addresses[i].claimed) {
			claim_one(&addresses[i]);
			continue;
		}
		if (!addresses[i].claimed)
			continue;
		why[0] = '\0';
		frr_with_privs (&bgpd_privs) {
			done = frr_ha_service_address_announce(addresses[i].prefix, why,
							       sizeof(why));
		}
		said(&addresses[i], done, "announced", why);
	}
	if (++announce_step < array_size(announce_at_ms))
		thread_add_timer_msec(master, announce_fired, NULL,
				      announce_at_ms[announce_step] -
					      announce_at_ms[announce_step - 1],
				      &t_announce);
}

/* Holds the addresses exactly when this RP may write to peers. */
void bgpd_ha_service_follow(void)
{
	bool hold;

	if (!bgpd_ha_dual_rp() || n_addresses == 0)
		return;
	hold = may_hold_addresses();
	for (unsigned int i = 0; i < n_addresses; i++) {
		if (hold)
			claim_one(&addresses[i]);
		else
			release_one(&addresses[i]);
	}
	THREAD_OFF(t_announce);
	if (hold && master) {
		announce_step = 0;
		thread_add_timer_msec(master, announce_fired, NULL, announce_at_ms[0],
				      &t_announce);
	}
}

/* The interface of the i-th service address on this host: the one with an
 * address of its own in its subnet, or the last one found so (NULL: none). */
static struct interface *service_interface(unsigned int i)
{
	struct service_address *a = &addresses[i];
	struct connected *on_subnet;
	struct prefix p;

	if (!str2prefix(a->prefix, &p))
		return NULL;
	on_subnet = if_lookup_address(&p.u.prefix, p.family, VRF_DEFAULT);
	if (on_subnet) {
		strlcpy(a->link_interface, on_subnet->ifp->name, sizeof(a->link_interface));
		return on_subnet->ifp;
	}
	return *a->link_interface ? if_lookup_by_name(a->link_interface, VRF_DEFAULT) : NULL;
}

/* The first such interface that has lost its link, or NULL. */
static const char *service_link_lost(void)
{
	for (unsigned int i = 0; i < n_addresses; i++) {
		struct interface *ifp = service_interface(i);

		if (ifp && !if_is_operative(ifp))
			return ifp->name;
	}
	return NULL;
}

void bgpd_ha_service_link_say(void)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();

	if (node && bgpd_ha_dual_rp())
		frr_ha_node_service_link(node, service_link_lost(), bgpd_ha_now_ms());
}

/* Before bgpd stops the sessions over it (fast external failover): an
 * active hands its role over now, while they can still be continued. */
static int service_interface_going_down(struct interface *ifp)
{
	bgpd_ha_service_link_say();
	return 0;
}

void bgpd_ha_service_guard(void)
{
	char hosts[BGPD_HA_SERVICE_MAX][INET6_ADDRSTRLEN + 8];
	const char *guarded[BGPD_HA_SERVICE_MAX];

	for (unsigned int i = 0; i < n_addresses; i++) {
		char *slash;

		strlcpy(hosts[i], addresses[i].prefix, sizeof(hosts[i]));
		slash = strchr(hosts[i], '/');
		if (slash)
			*slash = '\0';
		guarded[i] = hosts[i];
	}
	bgpd_ha_fence_guard(guarded, n_addresses);
}

static int service_role_changed(enum frr_ha_role previous, enum frr_ha_role role)
{
	bgpd_ha_service_follow();
	return 0;
}

bool bgpd_ha_service_set(const char *prefix, bool add, char *why, size_t why_len)
{
	unsigned int i;

	if (!frr_ha_service_address_check(prefix, why, why_len))
		return false;
	for (i = 0; i < n_addresses; i++)
		if (strcmp(addresses[i].prefix, prefix) == 0)
			break;
	if (!add) {
		if (i == n_addresses) {
			snprintf(why, why_len, "%s is not a service address", prefix);
			return false;
		}
		if (bgpd_ha_dual_rp())
			release_one(&addresses[i]);
		addresses[i] = addresses[--n_addresses];
		bgpd_ha_service_guard();
		return true;
	}
	if (i < n_addresses)
		return true; /* configured already */
	if (n_addresses == array_size(addresses)) {
		snprintf(why, why_len, "at most %zu service addresses", array_size(addresses));
		return false;
	}
	memset(&addresses[n_addresses], 0, sizeof(addresses[0]));
	strlcpy(addresses[n_addresses].prefix, prefix, sizeof(addresses[0].prefix));
	n_addresses++;
	bgpd_ha_service_guard();
	bgpd_ha_service_follow();
	return true;
}

bool bgpd_ha_service_write(struct vty *vty, const char *indent)
{
	for (unsigned int i = 0; i < n_addresses; i++)
		vty_out(vty, "%sbgp ha service-address %s\n", indent, addresses[i].prefix);
	return n_addresses > 0;
}

/* "serviceLink": the interface of the first service address and whether it
 * has its link; whether its loss hands the active role over. */
static void service_link_show(struct vty *vty, struct json_object *json)
{
	struct interface *ifp;
	const char *lost;
	bool on = bgpd_ha_pair_config()->switchover_on_link_loss;

	if (!bgpd_ha_dual_rp())
		return; /* local mode: one host, one link */
	ifp = service_interface(0);
	lost = service_link_lost();
	if (json) {
		json_object *j = json_object_new_object();

		if (lost || ifp)
			json_object_string_add(j, "interface", lost ? lost : ifp->name);
		json_object_boolean_add(j, "hasLink", ifp && !lost);
		json_object_boolean_add(j, "switchoverOnLinkLoss", on);
		json_object_object_add(json, "serviceLink", j);
		return;
	}
	vty_out(vty, "Service link: %s%s; switchover on its loss: %s\n",
		lost ? lost : ifp ? ifp->name : "no interface on the service subnet",
		lost ? " has lost its link" : ifp ? " has its link" : "", on ? "on" : "off");
}

static const char *state_of(const struct service_address *a)
{
	if (!bgpd_ha_dual_rp())
		return "local-mode";
	return a->claimed ? "claimed" : "released";
}

void bgpd_ha_service_show(struct vty *vty, struct json_object *json)
{
	if (n_addresses == 0)
		return;
	if (json) {
		json_object *list = json_object_new_array();

		for (unsigned int i = 0; i < n_addresses; i++) {
			json_object *j = json_object_new_object();

			json_object_string_add(j, "prefix", addresses[i].prefix);
			json_object_string_add(j, "state", state_of(&addresses[i]));
			if (*addresses[i].interface)
				json_object_string_add(j, "interface", addresses[i].interface);
			if (*addresses[i].error)
				json_object_string_add(j, "lastError", addresses[i].error);
			json_object_array_add(list, j);
		}
		json_object_object_add(json, "serviceAddresses", list);
		service_link_show(NULL, json);
		return;
	}
	vty_out(vty, "Service addresses:\n");
	for (unsigned int i = 0; i < n_addresses; i++) {
		const struct service_address *a = &addresses[i];

		vty_out(vty, "  %s: %s%s%s%s%s\n", a->prefix, state_of(a),
			a->claimed ? " on " : "", a->claimed ? a->interface : "",
			*a->error ? "; last error: " : "", a->error);
	}
	service_link_show(vty, NULL);
}

/* The configured service address that `local` is, or NULL. */
static const struct service_address *service_address_of(const union sockunion *local,
							 struct prefix *p)
{
	for (unsigned int i = 0; local && i < n_addresses; i++) {
		if (!str2prefix(addresses[i].prefix, p) || p->family != sockunion_family(local))
			continue;
		if (p->family == AF_INET ? IPV4_ADDR_SAME(&p->u.prefix4, &local->sin.sin_addr)
					 : IPV6_ADDR_SAME(&p->u.prefix6, &local->sin6.sin6_addr))
			return &addresses[i];
	}
	return NULL;
}

bool bgpd_ha_service_address_moves(const union sockunion *local)
{
	struct prefix p;

	return !bgpd_ha_dual_rp() || service_address_of(local, &p);
}

/* patches/0013: the interface of a local address bgpd knows no interface
 * of. A service address this host does not hold now (the standby host's
 * shadow of it, or an active before its claim) has the interface the
 * address is claimed on: the one with an address of its own in the service
 * address's subnet. Any other is one zebra has not told bgpd of yet: the
 * kernel names its interface. */
static struct interface *service_nexthop_interface(struct peer *peer,
						   const union sockunion *local)
{
	struct connected *on_subnet;
	struct prefix p;

	if (!service_address_of(local, &p))
		return bgpd_ha_kernel_address_interface(local, peer->bgp->vrf_id);
	/* lib's if_lookup_address() matches IPv4 addresses only. */
	if (p.family == AF_INET6)
		return if_lookup_by_ipv6(&p.u.prefix6, 0, peer->bgp->vrf_id);
	on_subnet = if_lookup_address(&p.u.prefix, p.family, peer->bgp->vrf_id);
	return on_subnet ? on_subnet->ifp : NULL;
}

void bgpd_ha_service_init(struct thread_master *m)
{
	master = m;
	bgp_nexthop_interface = service_nexthop_interface;
	/* After the takeover's hook (the default priority): every TF socket
	 * is rebuilt on this host before the addresses arrive, as a segment
	 * for a connection with no socket would be answered with a RST. */
	hook_register_prio(frr_ha_role_changed, HOOK_DEFAULT_PRIORITY + 1000, service_role_changed);
	hook_register(bgp_interface_going_down, service_interface_going_down);
}

/* A bgpd that stops gives its addresses up: the partner takes them. */
void bgpd_ha_service_fini(void)
{
	hook_unregister(frr_ha_role_changed, service_role_changed);
	hook_unregister(bgp_interface_going_down, service_interface_going_down);
	bgp_nexthop_interface = NULL;
	THREAD_OFF(t_announce);
	if (bgpd_ha_dual_rp())
		for (unsigned int i = 0; i < n_addresses; i++)
			release_one(&addresses[i]);
}
