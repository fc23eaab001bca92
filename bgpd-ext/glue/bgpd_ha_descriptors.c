/*
 * File descriptors: what the pair needs beside bgpd's own (docs/ha-pair.md,
 * "Descriptors").
 *
 * A protected session holds 3 descriptors on the active (the peer's socket,
 * which stock bgpd has too, and its ends of the two links) and 4 on the
 * standby (the same socket, the links' other ends, and the stand-in bgpd's
 * FSM watches), one more on each during its hand-over. libfrr's event loop sizes its tables from
 * RLIMIT_NOFILE once, at start, and aborts bgpd when asked to watch a
 * descriptor beyond them; FRR's own service runs bgpd with 1024. So:
 * - at load (before the event loop exists) an RP raises its soft limit to
 *   its hard one, up to BGPD_HA_FD_TARGET, unless the operator chose a limit
 *   with bgpd's --limit-fds;
 * - a hand-over that would take descriptors from the top BGPD_HA_FD_RESERVE
 *   part of the limit is not made (active) or refused (standby): those stay
 *   for bgpd's own sessions, and the session goes on unprotected.
 */
#include <zebra.h>

#include <dirent.h>
#include <sys/resource.h>

#include "libfrr.h"
#include "thread.h"
#include "json.h"
#include "vty.h"

#include "bgpd/bgpd.h"

#include "bgpd_ha_glue.h"

/* Enough for 5000 protected sessions on either RP, with room for bgpd's. */
#define BGPD_HA_FD_TARGET 65536
/* The part of the limit kept for bgpd itself: a tenth, at least 64. */
#define BGPD_HA_FD_RESERVE(limit) ((limit) / 10 > 64 ? (limit) / 10 : 64)

/* Sessions whose descriptors fit below the reserve on the standby, the RP
 * that needs most (4 a session). */
#define SESSIONS_FITTING(limit) (((limit) - BGPD_HA_FD_RESERVE(limit)) / 4)

static struct {
	rlim_t soft_before, soft_after, hard;
	int raise_errno;
	bool chosen_by_operator; /* bgpd --limit-fds */
} fdl;

void bgpd_ha_descriptors_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	fdl.soft_before = fdl.soft_after = rl.rlim_cur;
	fdl.hard = rl.rlim_max;
	fdl.chosen_by_operator = frr_get_fd_limit() != 0;
	if (fdl.chosen_by_operator || !*bgpd_ha_rp_name())
		return;
	rl.rlim_cur = rl.rlim_max < BGPD_HA_FD_TARGET ? rl.rlim_max : BGPD_HA_FD_TARGET;
	if (rl.rlim_cur <= fdl.soft_before)
		return;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fdl.raise_errno = errno;
	else
		fdl.soft_after = rl.rlim_cur;
}

/* What the event loop can watch: its table's size. */
static int descriptor_limit(void)
{
	return bm && bm->master ? bm->master->fd_limit : (int)fdl.soft_after;
}

void bgpd_ha_descriptors_log(void)
{
	int limit = descriptor_limit();

	if (!*bgpd_ha_rp_name())
		return;
	if (fdl.soft_after != fdl.soft_before)
		zlog_info("frr-ha: descriptor limit raised from %llu to %d (hard limit %llu)",
			  (unsigned long long)fdl.soft_before, limit,
			  (unsigned long long)fdl.hard);
	else if (fdl.raise_errno)
		zlog_warn("frr-ha: descriptor limit stays %d: %s", limit,
			  safe_strerror(fdl.raise_errno));
	/* Fewer than the sessions a route server carries: say so loudly. */
	if (SESSIONS_FITTING(limit) < 1000)
		zlog_warn("frr-ha: descriptor limit %d%s: about %d sessions can be protected (3 descriptors each on the active, 4 on the standby); raise LimitNOFILE or --limit-fds for more",
			  limit, fdl.chosen_by_operator ? " (--limit-fds)" : "",
			  SESSIONS_FITTING(limit));
	else
		zlog_info("frr-ha: descriptor limit %d: about %d sessions can be protected",
			  limit, SESSIONS_FITTING(limit));
}

bool bgpd_ha_descriptors_short(const int *fds, int n, char *why, size_t why_len)
{
	int limit = descriptor_limit(), reserve = BGPD_HA_FD_RESERVE(limit);

	for (int i = 0; i < n; i++)
		if (fds[i] >= limit - reserve) {
			snprintf(why, why_len,
				 "descriptor limit: descriptor %d of %d, the last %d kept for bgpd's own sessions",
				 fds[i], limit, reserve);
			return true;
		}
	return false;
}

static int descriptors_in_use(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

void bgpd_ha_descriptors_show(struct vty *vty, struct json_object *json)
{
	int limit = descriptor_limit(), used = descriptors_in_use();

	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_int_add(o, "limit", limit);
		json_object_int_add(o, "inUse", used);
		json_object_int_add(o, "keptForBgpd", BGPD_HA_FD_RESERVE(limit));
		json_object_int_add(o, "limitAtStart",
				    fdl.soft_before > UINT32_MAX ? UINT32_MAX
								 : (int64_t)fdl.soft_before);
		json_object_boolean_add(o, "limitFromOperator", fdl.chosen_by_operator);
		json_object_object_add(json, "descriptors", o);
		return;
	}
	vty_out(vty, "Descriptors: %d in use of %d (the last %d kept for bgpd's own sessions)%s\n",
		used, limit, BGPD_HA_FD_RESERVE(limit),
		fdl.chosen_by_operator ? ", limit from --limit-fds" : "");
}
