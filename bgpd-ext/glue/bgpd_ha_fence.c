/*
 * The lease's fence in the kernel (docs/dual-rp.md, "The egress fence"):
 * below bgpd's own check (bgpd_ha_lease.c), an nftables table
 * (core/egress_fence.*) drops every segment from or to the BGP port once
 * the lease's time has run out, so what bgpd cannot stop (a write begun
 * just before a freeze, the kernel's retransmissions, ACKs, FIN or RST)
 * does not leave the host either. Each grant moves the fence's timeout;
 * this file follows the deadline, raises privileges for each change and
 * says once why a change failed.
 */
#include <zebra.h>

#include "json.h"
#include "privs.h"
#include "vty.h"

#include "bgpd/bgpd.h"

#include "bgpd_ha_glue.h"
#include "frr_ha/fence.h"

extern struct zebra_privs_t bgpd_privs;

/*
 * The fence in the kernel. It shuts FENCE_EARLY_MS before the deadline: the
 * kernel's timers count in jiffies and may fire a few ms late, and the
 * margin also covers the way from reading the clock to the kernel taking
 * the new timeout (a freeze longer than that in between is the one case it
 * does not cover: docs/dual-rp.md). Only the main thread changes it.
 */
#define FENCE_EARLY_MS 10
static struct frr_ha_egress_fence *fence;
static char fence_state[24] = "none";
static char fence_error[256]; /* the last refusal, said once */
static char fence_install_error[256];
/* The orphans destroyed: those a killed bgpd left (install), and those
 * this bgpd closed while its fence was shut (bgpd_ha_fence_destroy_orphans). */
static uint64_t orphans_destroyed;
static char orphans_error[256];

static void fence_said(bool done, const char *what, const char *why)
{
	if (done) {
		fence_error[0] = '\0';
		return;
	}
	if (strcmp(fence_error, why) != 0)
		zlog_err("frr-ha: lease: the kernel's fence could not be %s: %s", what, why);
	snprintf(fence_error, sizeof(fence_error), "%s", why);
}

void bgpd_ha_fence_follow(uint64_t until, uint64_t now)
{
	char why[256] = "";
	bool done;

	if (!fence)
		return;
	frr_with_privs (&bgpd_privs) {
		if (until == FRR_HA_LEASE_NO_DEADLINE) {
			done = frr_ha_egress_fence_open(fence, why, sizeof(why));
			snprintf(fence_state, sizeof(fence_state), "open");
		} else if (until > now + FENCE_EARLY_MS) {
			done = frr_ha_egress_fence_open_for(
				fence, (uint32_t)(until - now - FENCE_EARLY_MS), why, sizeof(why));
			snprintf(fence_state, sizeof(fence_state), "until-deadline");
		} else {
			done = frr_ha_egress_fence_shut(fence, why, sizeof(why));
			snprintf(fence_state, sizeof(fence_state), "shut");
		}
	}
	fence_said(done, "moved", why);
}

void bgpd_ha_fence_shut(void)
{
	char why[256] = "";
	bool done;

	if (!fence)
		return;
	frr_with_privs (&bgpd_privs) {
		done = frr_ha_egress_fence_shut(fence, why, sizeof(why));
	}
	snprintf(fence_state, sizeof(fence_state), "shut");
	fence_said(done, "shut", why);
}

void bgpd_ha_fence_install(void)
{
	if (fence)
		return;
	frr_with_privs (&bgpd_privs) {
		fence = frr_ha_egress_fence_install(bm->port ? bm->port : BGP_PORT_DEFAULT,
						    fence_install_error,
						    sizeof(fence_install_error));
	}
	if (!fence) {
		zlog_err("frr-ha: lease: no fence in the kernel (%s): only bgpd's own check silences this RP when its lease lapses",
			 fence_install_error);
		return;
	}
	fence_install_error[0] = '\0';
	orphans_destroyed = frr_ha_egress_fence_orphans_destroyed(fence, orphans_error,
								  sizeof(orphans_error));
	if (*orphans_error)
		zlog_err("frr-ha: lease: the connections a killed bgpd left here could not be destroyed (%s): this host cannot shadow those sessions until they end",
			 orphans_error);
	else if (orphans_destroyed)
		zlog_info("frr-ha: lease: %" PRIu64 " connections a killed bgpd left here destroyed behind the shut fence (no FIN or RST reached their peers)",
			  orphans_destroyed);
	if (frr_ha_egress_fence_left_hold_removed(fence))
		zlog_info("frr-ha: lease: the hold a killed bgpd left here removed (it kept every segment of the sessions it held, which may come back to this host, from leaving)");
	snprintf(fence_state, sizeof(fence_state), "open");
	bgpd_ha_service_guard();
	zlog_info("frr-ha: lease: the kernel's fence is in place (nftables table inet frr_ha_fence, TCP port %u)",
		  bm->port ? bm->port : BGP_PORT_DEFAULT);
}

/*
 * A bgpd frozen past its lease may, once thawed and before it hears that
 * its partner took over, close a session as any bgpd does, whatever the
 * reason: the socket's FIN is dropped by the shut fence, and the
 * connection lives on as an orphan that holds its 4-tuple for minutes.
 * This host, standby now, could then not build the placeholder of the
 * session its partner continues (the 4-tuple is in use), and the FIN would
 * leave once the fence opens. So a leaving active destroys them behind the
 * fence while it is shut (their RST is dropped too); an open fence (a
 * planned switchover before the lease's end) keeps them.
 */
void bgpd_ha_fence_destroy_orphans(void)
{
	char why[1024] = ""; /* or which */
	int64_t n = 0;

	if (!fence || !frr_ha_egress_fence_is_shut(fence))
		return;
	frr_with_privs (&bgpd_privs) {
		n = frr_ha_egress_fence_destroy_orphans(fence, why, sizeof(why));
	}
	snprintf(fence_state, sizeof(fence_state), "shut");
	if (n < 0) {
		zlog_err("frr-ha: lease: the connections closed here behind the shut fence could not be destroyed (%s): they hold their 4-tuples until they end",
			 why);
		strlcpy(orphans_error, why, sizeof(orphans_error));
		return;
	}
	if (n == 0)
		return;
	orphans_destroyed += (uint64_t)n;
	zlog_notice("frr-ha: lease: %" PRId64 " connections no process holds destroyed behind the shut fence as this RP left the active role (no FIN or RST reaches their peers; their 4-tuples are free for this host's shadows): %s",
		    n, why);
}

/* The service addresses whose ARP and neighbour advertisements the fence
 * lets out only while it is open: a frozen active's kernel then stops
 * answering for them at its deadline, as it stops its segments. */
void bgpd_ha_fence_guard(const char *const *addresses, size_t n)
{
	char why[256] = "";
	bool done;

	if (!fence)
		return;
	frr_with_privs (&bgpd_privs) {
		done = frr_ha_egress_fence_guard(fence, addresses, n, why, sizeof(why));
	}
	fence_said(done, "given the service addresses", why);
}

void bgpd_ha_fence_remove(void)
{
	if (!fence)
		return;
	frr_with_privs (&bgpd_privs) {
		frr_ha_egress_fence_remove(fence);
	}
	fence = NULL;
	snprintf(fence_state, sizeof(fence_state), "none");
}

/* --- show bgp ha [json] -------------------------------------------------------- */

static uint64_t fence_dropped(bool neighbor)
{
	uint64_t n = 0;

	if (!fence)
		return 0;
	frr_with_privs (&bgpd_privs) {
		n = neighbor ? frr_ha_egress_fence_neighbor_dropped(fence)
			: frr_ha_egress_fence_dropped(fence);
	}
	return n;
}

void bgpd_ha_fence_json(struct json_object *lease)
{
	json_object *j = json_object_new_object();

	json_object_boolean_add(j, "installed", fence != NULL);
	json_object_string_add(j, "state", fence_state);
	json_object_int_add(j, "segmentsDropped", fence_dropped(false));
	json_object_int_add(j, "neighborDropped", fence_dropped(true));
	if (*fence_error)
		json_object_string_add(j, "lastError", fence_error);
	if (*fence_install_error)
		json_object_string_add(j, "installError", fence_install_error);
	json_object_int_add(j, "orphansDestroyed", orphans_destroyed);
	if (*orphans_error)
		json_object_string_add(j, "orphansError", orphans_error);
	json_object_object_add(lease, "fence", j);
}

void bgpd_ha_fence_show(struct vty *vty)
{
	if (fence)
		vty_out(vty,
			"  kernel fence: %s, %" PRIu64 " segments and %" PRIu64
			" ARP/ND answers of the service addresses dropped%s%s\n",
			fence_state, fence_dropped(false), fence_dropped(true),
			*fence_error ? "; last error: " : "", fence_error);
	else if (*fence_install_error)
		vty_out(vty, "  kernel fence: none (%s)\n", fence_install_error);
}
