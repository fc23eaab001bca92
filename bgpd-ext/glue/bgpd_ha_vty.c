/*
 * The bgpd module's CLI. vtysh learns these commands at build time: this file
 * is handed to FRR's extract.pl (patches/0001), from a folder named "bgpd".
 * Commands and output are described in docs/ha-pair.md.
 */
#include <zebra.h>

#include "command.h"
#include "json.h"
#include "vty.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_debug.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_vty.h"

#include "bgpd_ha_glue.h"

#ifndef VTYSH_EXTRACT_PL
#include "bgpd_ha_vty_clippy.c"
#endif

#define HA_STR "Nonstop routing (frr-ha) pair\n"

static void format_time(int64_t unix_ms, char *buf, size_t len)
{
	time_t t = unix_ms / 1000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- configuration ------------------------------------------------------------- */

/*
 * The pair is process-wide: its 'bgp ha' lines are accepted at the top level
 * and in the default 'router bgp' (where show running-config writes them
 * while that instance exists, at the top level otherwise). In a VRF or view
 * instance they are refused; the first one refused while the configuration
 * file is read is kept, logged, and said by 'show bgp ha' next to whatever
 * keeps the pair from forming (FRR's load error in the log names the line).
 */
static char ha_refused_at_load[FRR_HA_TEXT_MAX];

static bool ha_config_here(struct vty *vty, const char *cmd)
{
	struct bgp *bgp;
	char where[96];

	if (vty->node == CONFIG_NODE)
		return true;
	bgp = VTY_GET_CONTEXT(bgp);
	if (!bgp)
		return false; /* VTY_GET_CONTEXT said why */
	if (bgp->inst_type == BGP_INSTANCE_TYPE_DEFAULT)
		return true;
	snprintf(where, sizeof(where), "router bgp %u %s %s", bgp->as,
		 bgp->inst_type == BGP_INSTANCE_TYPE_VIEW ? "view" : "vrf",
		 bgp->name ? bgp->name : "?");
	vty_out(vty,
		"%% '%s' refused in '%s': the HA pair is configured at the top level or in the default 'router bgp'\n",
		cmd, where);
	if (vty->type != VTY_FILE)
		return false;
	zlog_err("frr-ha: '%s' refused in '%s' while reading the configuration: the HA pair is configured at the top level or in the default 'router bgp'",
		 cmd, where);
	if (!*ha_refused_at_load)
		snprintf(ha_refused_at_load, sizeof(ha_refused_at_load),
			 "'%s' was refused in '%s' (the log names the line): 'bgp ha' lines go at the top level or in the default 'router bgp'",
			 cmd, where);
	return false;
}

/* A configuration problem of the pair also says what was refused at load
 * (it is then likely the cause). */
static void ha_config_problem_explain(struct frr_ha_status *st)
{
	char *texts[] = {st->config_error, st->not_ready_reason};

	if (!*ha_refused_at_load || !*st->config_error)
		return;
	for (size_t i = 0; i < array_size(texts); i++)
		if (*texts[i] && !strstr(texts[i], ha_refused_at_load))
			snprintf(texts[i] + strlen(texts[i]),
				 FRR_HA_TEXT_MAX - strlen(texts[i]), "; %s",
				 ha_refused_at_load);
}

/* Applies an edited configuration; warns (but accepts) while incomplete,
 * since a pair is typically configured one line at a time. */
static int ha_config_changed(struct vty *vty)
{
	char why[FRR_HA_TEXT_MAX];

	if (*bgpd_ha_rp_name() &&
	    !frr_ha_config_check(bgpd_ha_pair_config(), why, sizeof(why)) &&
	    vty->type != VTY_FILE)
		vty_out(vty, "%% Note: HA pair not complete yet: %s\n", why);
	bgpd_ha_pair_apply();
	return CMD_SUCCESS;
}

static struct frr_ha_rp_config *rp_slot(const char *name, bool create)
{
	struct frr_ha_pair_config *cfg = bgpd_ha_pair_config();

	for (unsigned int i = 0; i < cfg->n_rps; i++)
		if (strcmp(cfg->rps[i].name, name) == 0)
			return &cfg->rps[i];
	if (!create || cfg->n_rps == array_size(cfg->rps))
		return NULL;
	memset(&cfg->rps[cfg->n_rps], 0, sizeof(cfg->rps[0]));
	strlcpy(cfg->rps[cfg->n_rps].name, name, sizeof(cfg->rps[0].name));
	return &cfg->rps[cfg->n_rps++];
}

DEFPY (bgp_ha_rp,
       bgp_ha_rp_cmd,
       "bgp ha rp WORD$name address <unix PATH$path|tcp <A.B.C.D|X:X::X:X>$host [port (1-65535)$port]> [priority (1-255)$priority]",
       BGP_STR
       HA_STR
       "A route processor of the pair\n"
       "Its name (as given to the module: -M ha:NAME)\n"
       "Where its end of the HA channel listens\n"
       "A unix socket (both RPs on this host)\n"
       "Socket path\n"
       "TCP (RPs on two hosts)\n"
       "IPv4 address\n"
       "IPv6 address\n"
       "TCP port (default 5179)\n"
       "Port\n"
       "Which RP becomes active when both start together\n"
       "Priority (default 100, higher wins)\n")
{
	struct frr_ha_rp_config rp = {.priority = FRR_HA_DEFAULT_PRIORITY,
				      .port = FRR_HA_DEFAULT_PORT};
	struct frr_ha_rp_config *slot;

	if (!ha_config_here(vty, "bgp ha rp"))
		return CMD_WARNING_CONFIG_FAILED;
	if (strlen(name) > FRR_HA_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
		    strlen(name)) {
		vty_out(vty, "%% RP name: 1 to %d letters, digits, '_', '.' or '-'\n",
			FRR_HA_NAME_MAX);
		return CMD_WARNING_CONFIG_FAILED;
	}
	strlcpy(rp.name, name, sizeof(rp.name));
	if (path) {
		if (path[0] != '/' || strlen(path) >= sizeof(rp.unix_path)) {
			vty_out(vty, "%% The socket path must be absolute and shorter than %zu characters\n",
				sizeof(rp.unix_path));
			return CMD_WARNING_CONFIG_FAILED;
		}
		strlcpy(rp.unix_path, path, sizeof(rp.unix_path));
	} else {
		rp.tcp = true;
		strlcpy(rp.host, host_str, sizeof(rp.host));
		if (port_str)
			rp.port = port;
	}
	if (priority_str)
		rp.priority = priority;

	slot = rp_slot(name, true);
	if (!slot) {
		vty_out(vty, "%% The pair has two RPs already: remove one first (no bgp ha rp NAME)\n");
		return CMD_WARNING_CONFIG_FAILED;
	}
	*slot = rp;
	return ha_config_changed(vty);
}

DEFPY (no_bgp_ha_rp,
       no_bgp_ha_rp_cmd,
       "no bgp ha rp WORD$name [address <unix PATH|tcp <A.B.C.D|X:X::X:X> [port (1-65535)]> [priority (1-255)]]",
       NO_STR
       BGP_STR
       HA_STR
       "A route processor of the pair\n"
       "Its name\n"
       "Where its end of the HA channel listens\n"
       "A unix socket\n"
       "Socket path\n"
       "TCP\n"
       "IPv4 address\n"
       "IPv6 address\n"
       "TCP port\n"
       "Port\n"
       "Priority\n"
       "Priority\n")
{
	struct frr_ha_pair_config *cfg = bgpd_ha_pair_config();
	struct frr_ha_rp_config *slot;

	if (!ha_config_here(vty, "no bgp ha rp"))
		return CMD_WARNING_CONFIG_FAILED;
	slot = rp_slot(name, false);
	if (!slot) {
		vty_out(vty, "%% No RP named %s\n", name);
		return CMD_WARNING_CONFIG_FAILED;
	}
	*slot = cfg->rps[--cfg->n_rps];
	return ha_config_changed(vty);
}

/* FRR logs a line refused while reading the configuration with its text:
 * not with a key. */
static int ha_key_refused(struct vty *vty)
{
	char *key;

	if (vty->type == VTY_FILE && (key = strstr(vty->buf, " key ")))
		snprintf(key, VTY_BUFSIZ - (key - vty->buf), " key (not shown)\n");
	return CMD_WARNING_CONFIG_FAILED;
}

DEFPY (bgp_ha_key,
       bgp_ha_key_cmd,
       "bgp ha key WORD$key",
       BGP_STR
       HA_STR
       "The key both RPs prove they hold\n"
       "Key (16 to 128 characters)\n")
{
	size_t len = strlen(key);

	if (!ha_config_here(vty, "bgp ha key"))
		return ha_key_refused(vty);
	if (len < 16 || len > FRR_HA_KEY_MAX) {
		vty_out(vty, "%% The HA key must have 16 to 128 characters (got %zu)\n", len);
		return ha_key_refused(vty);
	}
	strlcpy(bgpd_ha_pair_config()->key, key, sizeof(bgpd_ha_pair_config()->key));
	return ha_config_changed(vty);
}

DEFUN (no_bgp_ha_key,
       no_bgp_ha_key_cmd,
       "no bgp ha key [WORD]",
       NO_STR
       BGP_STR
       HA_STR
       "The key both RPs prove they hold\n"
       "Key\n")
{
	if (!ha_config_here(vty, "no bgp ha key"))
		return ha_key_refused(vty);
	memset(bgpd_ha_pair_config()->key, 0, sizeof(bgpd_ha_pair_config()->key));
	return ha_config_changed(vty);
}

DEFPY (bgp_ha_heartbeat,
       bgp_ha_heartbeat_cmd,
       "bgp ha heartbeat interval (10-60000)$interval multiplier (2-100)$multiplier",
       BGP_STR
       HA_STR
       "Liveness of the partner\n"
       "Time between heartbeats\n"
       "Milliseconds (default 100)\n"
       "Heartbeats missed before the partner is lost\n"
       "Count (default 3)\n")
{
	if (!ha_config_here(vty, "bgp ha heartbeat"))
		return CMD_WARNING_CONFIG_FAILED;
	bgpd_ha_pair_config()->interval_ms = interval;
	bgpd_ha_pair_config()->multiplier = multiplier;
	return ha_config_changed(vty);
}

DEFUN (no_bgp_ha_heartbeat,
       no_bgp_ha_heartbeat_cmd,
       "no bgp ha heartbeat [interval (10-60000) multiplier (2-100)]",
       NO_STR
       BGP_STR
       HA_STR
       "Liveness of the partner\n"
       "Time between heartbeats\n"
       "Milliseconds\n"
       "Heartbeats missed before the partner is lost\n"
       "Count\n")
{
	if (!ha_config_here(vty, "no bgp ha heartbeat"))
		return CMD_WARNING_CONFIG_FAILED;
	bgpd_ha_pair_config()->interval_ms = FRR_HA_DEFAULT_INTERVAL_MS;
	bgpd_ha_pair_config()->multiplier = FRR_HA_DEFAULT_MULTIPLIER;
	return ha_config_changed(vty);
}

DEFPY (bgp_ha_hang_detection,
       bgp_ha_hang_detection_cmd,
       "bgp ha hang-detection <(500-600000)$ms|off$off>",
       BGP_STR
       HA_STR
       "Fence (kill) an active that makes no progress, and take over (local mode)\n"
       "Milliseconds without progress of its main or I/O thread (default 3000)\n"
       "Never fence a hung active\n")
{
	if (!ha_config_here(vty, "bgp ha hang-detection"))
		return CMD_WARNING_CONFIG_FAILED;
	bgpd_ha_pair_config()->hang_detection_ms = off ? 0 : ms;
	return ha_config_changed(vty);
}

DEFUN (no_bgp_ha_hang_detection,
       no_bgp_ha_hang_detection_cmd,
       "no bgp ha hang-detection [<(500-600000)|off>]",
       NO_STR
       BGP_STR
       HA_STR
       "Fence (kill) an active that makes no progress, and take over (local mode)\n"
       "Milliseconds\n"
       "Never\n")
{
	if (!ha_config_here(vty, "no bgp ha hang-detection"))
		return CMD_WARNING_CONFIG_FAILED;
	bgpd_ha_pair_config()->hang_detection_ms = FRR_HA_DEFAULT_HANG_DETECTION_MS;
	return ha_config_changed(vty);
}

DEFPY (bgp_ha_switchover_on_link_loss,
       bgp_ha_switchover_on_link_loss_cmd,
       "[no$no] bgp ha switchover-on-link-loss",
       NO_STR
       BGP_STR
       HA_STR
       "Hand the active role to a ready standby when this host's interface towards the peers loses its link (dual-RP; on by default)\n")
{
	if (!ha_config_here(vty, no ? "no bgp ha switchover-on-link-loss"
				    : "bgp ha switchover-on-link-loss"))
		return CMD_WARNING_CONFIG_FAILED;
	bgpd_ha_pair_config()->switchover_on_link_loss = !no;
	return ha_config_changed(vty);
}

DEFPY (bgp_ha_standby_lag_limit,
       bgp_ha_standby_lag_limit_cmd,
       "bgp ha standby-lag-limit (50-60000)$ms",
       BGP_STR
       HA_STR
       "How long a standby that takes nothing may hold a session back (10x for a slow one)\n"
       "Milliseconds (default 500); past it the session goes on unprotected\n")
{
	if (!ha_config_here(vty, "bgp ha standby-lag-limit"))
		return CMD_WARNING_CONFIG_FAILED;
	bgpd_ha_tf_set_lag_limit(ms);
	return CMD_SUCCESS;
}

DEFUN (no_bgp_ha_standby_lag_limit,
       no_bgp_ha_standby_lag_limit_cmd,
       "no bgp ha standby-lag-limit [(50-60000)]",
       NO_STR
       BGP_STR
       HA_STR
       "How long a standby that takes nothing may hold a session back (10x for a slow one)\n"
       "Milliseconds\n")
{
	if (!ha_config_here(vty, "no bgp ha standby-lag-limit"))
		return CMD_WARNING_CONFIG_FAILED;
	bgpd_ha_tf_set_lag_limit(BGPD_HA_DEFAULT_LAG_LIMIT_MS);
	return CMD_SUCCESS;
}

DEFPY (bgp_ha_service_address,
       bgp_ha_service_address_cmd,
       "[no] bgp ha service-address <A.B.C.D/M|X:X::X:X/M>$prefix",
       NO_STR
       BGP_STR
       HA_STR
       "An address the peers know the router by, held by the active's host (dual-RP)\n"
       "IPv4 address and prefix length (the subnet of the interface towards the peers)\n"
       "IPv6 address and prefix length (the subnet of the interface towards the peers)\n")
{
	char why[256];

	if (!ha_config_here(vty, no ? "no bgp ha service-address" : "bgp ha service-address"))
		return CMD_WARNING_CONFIG_FAILED;
	if (!bgpd_ha_service_set(prefix_str, !no, why, sizeof(why))) {
		vty_out(vty, "%% %s\n", why);
		return CMD_WARNING_CONFIG_FAILED;
	}
	return CMD_SUCCESS;
}

DEFPY (neighbor_ha_failover_mode,
       neighbor_ha_failover_mode_cmd,
       "neighbor <A.B.C.D|X:X::X:X|WORD>$neighbor ha failover-mode <auto|transparent|graceful-restart|none>$mode_name",
       NEIGHBOR_STR
       NEIGHBOR_ADDR_STR2
       HA_STR
       "What a switchover does to this session\n"
       "Graceful restart if negotiated and enabled, else transparent (default)\n"
       "Transparent failover: the standby continues the TCP session\n"
       "RFC 4724 graceful restart driven by the standby\n"
       "Restart the session as stock FRR does\n")
{
	VTY_DECLVAR_CONTEXT(bgp, bgp);
	enum frr_ha_configured_mode mode;
	struct peer *peer = peer_and_group_lookup_vty(vty, neighbor);

	if (!peer)
		return CMD_WARNING_CONFIG_FAILED;
	if (!frr_ha_configured_mode_parse(mode_name, &mode)) {
		vty_out(vty, "%% Unknown failover mode %s\n", mode_name);
		return CMD_WARNING_CONFIG_FAILED;
	}
	bgpd_ha_mode_set(bgp, peer->host, mode);
	return CMD_SUCCESS;
}

DEFPY (no_neighbor_ha_failover_mode,
       no_neighbor_ha_failover_mode_cmd,
       "no neighbor <A.B.C.D|X:X::X:X|WORD>$neighbor ha failover-mode [<auto|transparent|graceful-restart|none>]",
       NO_STR
       NEIGHBOR_STR
       NEIGHBOR_ADDR_STR2
       HA_STR
       "What a switchover does to this session\n"
       "Auto\n"
       "Transparent\n"
       "Graceful restart\n"
       "None\n")
{
	VTY_DECLVAR_CONTEXT(bgp, bgp);
	struct peer *peer = peer_and_group_lookup_vty(vty, neighbor);

	if (!peer)
		return CMD_WARNING_CONFIG_FAILED;
	bgpd_ha_mode_set(bgp, peer->host, FRR_HA_CONFIGURED_AUTO);
	return CMD_SUCCESS;
}

/* The pair's lines, indented by `indent`; whether any was written. */
static bool ha_pair_lines_write(struct vty *vty, const char *indent)
{
	const struct frr_ha_pair_config *cfg = bgpd_ha_pair_config();
	bool written = false;

	for (unsigned int i = 0; i < cfg->n_rps; i++) {
		const struct frr_ha_rp_config *rp = &cfg->rps[i];

		vty_out(vty, "%sbgp ha rp %s address ", indent, rp->name);
		if (rp->tcp) {
			vty_out(vty, "tcp %s", rp->host);
			if (rp->port != FRR_HA_DEFAULT_PORT)
				vty_out(vty, " port %u", rp->port);
		} else {
			vty_out(vty, "unix %s", rp->unix_path);
		}
		if (rp->priority != FRR_HA_DEFAULT_PRIORITY)
			vty_out(vty, " priority %u", rp->priority);
		vty_out(vty, "\n");
		written = true;
	}
	if (*cfg->key) {
		vty_out(vty, "%sbgp ha key %s\n", indent, cfg->key);
		written = true;
	}
	if (cfg->interval_ms != FRR_HA_DEFAULT_INTERVAL_MS ||
	    cfg->multiplier != FRR_HA_DEFAULT_MULTIPLIER) {
		vty_out(vty, "%sbgp ha heartbeat interval %u multiplier %u\n", indent,
			cfg->interval_ms, cfg->multiplier);
		written = true;
	}
	if (cfg->hang_detection_ms != FRR_HA_DEFAULT_HANG_DETECTION_MS) {
		if (cfg->hang_detection_ms == 0)
			vty_out(vty, "%sbgp ha hang-detection off\n", indent);
		else
			vty_out(vty, "%sbgp ha hang-detection %u\n", indent,
				cfg->hang_detection_ms);
		written = true;
	}
	if (!cfg->switchover_on_link_loss) {
		vty_out(vty, "%sno bgp ha switchover-on-link-loss\n", indent);
		written = true;
	}
	if (bgpd_ha_tf_lag_limit() != BGPD_HA_DEFAULT_LAG_LIMIT_MS) {
		vty_out(vty, "%sbgp ha standby-lag-limit %u\n", indent,
			bgpd_ha_tf_lag_limit());
		written = true;
	}
	if (bgpd_ha_service_write(vty, indent))
		written = true;
	return written;
}

/* The default instance as show running-config writes it (an instance
 * created on its own, for a VRF's import, is not written). */
static bool default_instance_written(void)
{
	struct bgp *bgp = bgp_get_default();

	return bgp && !CHECK_FLAG(bgp->vrf_flags, BGP_VRF_AUTO);
}

/* Inside each 'router bgp': the pair's lines in the default instance, the
 * neighbors' failover modes in every instance. */
static int ha_config_write(struct bgp *bgp, struct vty *vty)
{
	if (bgp->inst_type == BGP_INSTANCE_TYPE_DEFAULT &&
	    !CHECK_FLAG(bgp->vrf_flags, BGP_VRF_AUTO))
		ha_pair_lines_write(vty, " ");
	bgpd_ha_modes_write(vty, bgp);
	return 0;
}

/* Without a written default instance, the pair's lines go at the top level,
 * where bgpd writes its own process-wide 'bgp ...' lines (before the
 * instances): BGP_NODE's writer is wrapped for that. */
static int (*bgp_node_config_write)(struct vty *vty);

static int ha_bgp_node_config_write(struct vty *vty)
{
	bool written = false;

	if (!default_instance_written())
		written = ha_pair_lines_write(vty, "");
	if (bgp_node_config_write && bgp_node_config_write(vty))
		written = true;
	return written;
}

static void ha_config_write_install(void)
{
	struct cmd_node *node = vector_lookup(cmdvec, BGP_NODE);

	if (!node || node->config_write == ha_bgp_node_config_write)
		return;
	bgp_node_config_write = node->config_write;
	node->config_write = ha_bgp_node_config_write;
}

/* --- operation --------------------------------------------------------------------- */

DEFUN (bgp_ha_switchover,
       bgp_ha_switchover_cmd,
       "bgp ha switchover",
       BGP_STR
       HA_STR
       "Hand the active role to the ready standby (planned switchover)\n")
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct frr_ha_status status;
	char why[FRR_HA_TEXT_MAX];

	if (!node) {
		vty_out(vty, "%% This bgpd is not a route processor of an HA pair\n");
		return CMD_WARNING;
	}
	frr_ha_node_status(node, &status);
	/* Once the pair itself could switch over (a ready standby), a
	 * transparent or graceful-restart session the standby does not hold
	 * yet would restart: in dual-RP mode too, where a standby host that
	 * has just paired says ready before the first hand-over. (A session
	 * on a host's own address restarts whatever is done: not counted.) */
	if (frr_ha_node_role(node) == FRR_HA_ROLE_ACTIVE &&
	    status.partner_known && status.partner_ready &&
	    !bgpd_ha_tf_all_protected(why, sizeof(why))) {
		vty_out(vty, "%% Switchover refused: %s\n", why);
		return CMD_WARNING;
	}
	if (!frr_ha_node_request_switchover(node, bgpd_ha_now_ms(), why, sizeof(why))) {
		vty_out(vty, "%% Switchover refused: %s\n", why);
		return CMD_WARNING;
	}
	vty_out(vty, "Switchover started: the standby takes the active role\n");
	return CMD_SUCCESS;
}

DEFUN (bgp_ha_lease_override,
       bgp_ha_lease_override_cmd,
       "bgp ha lease override",
       BGP_STR
       HA_STR
       "The lease of dual-RP mode\n"
       "Let this lapsed active write to peers again: its standby's host is down (docs/dual-rp.md)\n")
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	char why[FRR_HA_TEXT_MAX];

	if (!node) {
		vty_out(vty, "%% This bgpd is not a route processor of an HA pair\n");
		return CMD_WARNING;
	}
	if (!frr_ha_node_override_lease(node, bgpd_ha_now_ms(), why, sizeof(why))) {
		vty_out(vty, "%% Lease override refused: %s\n", why);
		return CMD_WARNING;
	}
	vty_out(vty, "Lease overridden: this RP writes to peers without a lease until a standby pairs again.\n"
		     "If the partner is alive and took over, both now write to the same sessions.\n");
	return CMD_SUCCESS;
}

DEFUN (clear_bgp_ha_channel,
       clear_bgp_ha_channel_cmd,
       "clear bgp ha channel",
       CLEAR_STR
       BGP_STR
       HA_STR
       "Drop the HA channel (the pair reconnects by itself)\n")
{
	struct frr_ha_node *node = bgpd_ha_pair_node();

	if (!node) {
		vty_out(vty, "%% This bgpd is not a route processor of an HA pair\n");
		return CMD_WARNING;
	}
	frr_ha_node_drop_channels(node, "cleared by the operator", bgpd_ha_now_ms());
	return CMD_SUCCESS;
}

/* --- show ---------------------------------------------------------------------------- */

/* A hung active (local mode): the watch on the partner's progress, and the
 * fencings this RP did. */
static void show_fencing_json(json_object *json, const struct frr_ha_node *node,
			      const struct frr_ha_status *st)
{
	json_object *jf = json_object_new_object();
	json_object *jp = json_object_new_object();
	json_object *list = json_object_new_array();
	uint64_t now = bgpd_ha_now_ms();
	char when[32];

	json_object_string_add(jf, "state", st->fencing);
	json_object_int_add(jf, "hangDetectionMs", st->hang_detection_ms);
	if (!st->local_mode)
		json_object_string_add(jf, "note",
				       "dual-RP mode: no shared kernel, a hung active is not fenced");
	if (bgpd_ha_partner_pid())
		json_object_int_add(jf, "partnerPid", bgpd_ha_partner_pid());
	for (size_t i = 0; i < frr_ha_node_fence_count(node); i++) {
		struct frr_ha_fence f;
		json_object *j = json_object_new_object();

		frr_ha_node_fence_get(node, i, &f);
		format_time(f.at_unix_ms, when, sizeof(when));
		json_object_string_add(j, "at", when);
		json_object_int_add(j, "pid", f.pid);
		json_object_string_add(j, "reason", f.reason);
		if (*f.error)
			json_object_string_add(j, "error", f.error);
		json_object_boolean_add(j, "partnerDied", f.partner_died);
		if (f.partner_died)
			json_object_int_add(j, "diedAfterMs", f.died_after_ms);
		json_object_boolean_add(j, "tookOver", f.took_over);
		if (f.took_over)
			json_object_int_add(j, "activeAfterMs", f.active_after_ms);
		json_object_array_add(list, j);
	}
	json_object_object_add(jf, "fences", list);
	json_object_object_add(json, "fencing", jf);

	json_object_boolean_add(jp, "watching", st->progress_watching);
	json_object_int_add(jp, "heartbeats", st->progress_heartbeats);
	json_object_int_add(jp, "lastSeq", st->progress_last_seq);
	if (st->progress_watching)
		json_object_int_add(jp, "lastHeartbeatMsAgo",
				    now - st->progress_last_heartbeat_ms);
	json_object_int_add(jp, "maxHeartbeatGapMs", st->progress_max_heartbeat_gap_ms);
	json_object_boolean_add(jp, "ioReported", st->progress_io_reported);
	json_object_int_add(jp, "ioProgress", st->progress_io);
	if (st->progress_watching && st->progress_io_reported)
		json_object_int_add(jp, "ioLastAdvanceMsAgo",
				    now - st->progress_last_io_advance_ms);
	json_object_int_add(jp, "maxIoStallMs", st->progress_max_io_stall_ms);
	json_object_int_add(jp, "maxOwnTickGapMs", st->progress_max_own_tick_gap_ms);
	json_object_object_add(json, "partnerProgress", jp);
}

static void show_fencing_text(struct vty *vty, const struct frr_ha_node *node,
			      const struct frr_ha_status *st)
{
	uint64_t now = bgpd_ha_now_ms();
	char when[32];

	if (!st->local_mode)
		vty_out(vty, "Hang detection: none in dual-RP mode (no shared kernel to fence with)\n");
	else if (!st->hang_detection_ms)
		vty_out(vty, "Hang detection: off\n");
	else
		vty_out(vty, "Hang detection: fence after %u ms without progress; %s%s%d\n",
			st->hang_detection_ms, st->fencing,
			bgpd_ha_partner_pid() ? ", partner process " : "",
			bgpd_ha_partner_pid());
	if (st->progress_watching)
		vty_out(vty, "Partner progress: %" PRIu64 " heartbeats, last %" PRIu64
			     " ms ago, longest gap %u ms; I/O thread %s%" PRIu64
			     ", moved %" PRIu64 " ms ago, longest stall %u ms; this RP's longest tick gap %u ms\n",
			st->progress_heartbeats, now - st->progress_last_heartbeat_ms,
			st->progress_max_heartbeat_gap_ms,
			st->progress_io_reported ? "counter " : "not reported ",
			st->progress_io, now - st->progress_last_io_advance_ms,
			st->progress_max_io_stall_ms, st->progress_max_own_tick_gap_ms);
	for (size_t i = 0; i < frr_ha_node_fence_count(node); i++) {
		struct frr_ha_fence f;

		frr_ha_node_fence_get(node, i, &f);
		format_time(f.at_unix_ms, when, sizeof(when));
		if (!f.pid) {
			vty_out(vty, "  fence at %s: %s; not fenced: %s\n", when,
				f.reason, f.error);
			continue;
		}
		vty_out(vty, "  fence at %s: %s; killed process %d", when, f.reason, f.pid);
		if (f.partner_died)
			vty_out(vty, ", gone after %u ms", f.died_after_ms);
		if (f.took_over)
			vty_out(vty, ", active after %u ms", f.active_after_ms);
		vty_out(vty, "\n");
	}
}

static void show_peer(struct vty *vty, struct bgp *bgp, struct peer *peer,
		      json_object *json_peers)
{
	struct frr_ha_mode_decision d = bgpd_ha_peer_decision(peer);
	const char *configured =
		frr_ha_configured_mode_name(bgpd_ha_mode_get(bgp, peer->host));
	const char *state = lookup_msg(bgp_status_msg, peer->status, NULL);
	struct frr_ha_tap_info tap;
	bool has_tap = peer_established(peer) && bgpd_ha_tf_info(peer, &tap);

	if (json_peers) {
		json_object *j = json_object_new_object();

		if (has_tap) {
			json_object *jt = json_object_new_object();

			/* recording, mirroring, unprotected, shadow, live... */
			json_object_string_add(jt, "stream", tap.mode_name);
			if (tap.why[0])
				json_object_string_add(jt, "notProtectedReason", tap.why);
			json_object_int_add(jt, "bytesConsumed", tap.consumed);
			json_object_int_add(jt, "bytesWritten", tap.written);
			json_object_int_add(jt, "bytesMirrored", tap.mirrored);
			json_object_int_add(jt, "sendLogMessages", tap.sendlog_messages);
			json_object_boolean_add(jt, "receivedStreamOnly", tap.receive_only);
			json_object_int_add(jt, "receivedPrefixes", tap.received_prefixes);
			json_object_int_add(jt, "peerHoldsPrefixes", tap.peer_holds_prefixes);
			json_object_int_add(jt, "shadowSentPrefixes", tap.shadow_sent_prefixes);
			/* standby: bgpd's descriptor is a stand-in */
			json_object_boolean_add(jt, "socketIsolated", tap.isolated);
			/* standby: the active's links hold the hand-over's history */
			json_object_boolean_add(jt, "historyComplete", tap.history_complete);
			/* new active: what the takeover did to this session */
			json_object_int_add(jt, "takeoverCompletedBytes", tap.completed_bytes);
			json_object_int_add(jt, "takeoverUnsentMessages", tap.unsent_messages);
			json_object_int_add(jt, "takeoverDuplicateBytesDropped",
					    tap.duplicates_dropped);
			json_object_int_add(jt, "takeoverDifferenceMessages",
					    tap.takeover_diff_messages);
			if (tap.takeover_diff_problem[0])
				json_object_string_add(jt, "takeoverDifferenceProblem",
						       tap.takeover_diff_problem);
			/* active: what replication costs, how far the standby lags */
			json_object_int_add(jt, "mirroredToStandby", tap.bytes_mirrored);
			json_object_int_add(jt, "loggedToStandby", tap.bytes_logged);
			json_object_int_add(jt, "backpressureEvents", tap.backpressure_events);
			json_object_int_add(jt, "standbyLagBytes", tap.lag_bytes);
			json_object_int_add(jt, "handoverPendingBytes", tap.pending_bytes);
			json_object_int_add(jt, "handoverHistoryBytes", tap.history_bytes);
			json_object_int_add(jt, "heldMs", tap.held_ms);
			json_object_int_add(jt, "heldP50Ms", tap.held_p50_ms);
			json_object_int_add(jt, "heldP99Ms", tap.held_p99_ms);
			json_object_int_add(jt, "heldMaxMs", tap.held_max_ms);
			json_object_int_add(jt, "protectedAfterMs", tap.protected_after_ms);
			json_object_object_add(j, "session", jt);
		}

		json_object_string_add(j, "vrf", bgp->name_pretty);
		json_object_string_add(j, "state", state);
		json_object_string_add(j, "configuredMode", configured);
		json_object_string_add(j, "switchoverMode",
				       frr_ha_session_mode_name(d.mode));
		json_object_string_add(j, "reason", d.reason);
		json_object_object_add(json_peers, peer->host, j);
		return;
	}
	vty_out(vty, "  %-39s %-12s %-16s %-16s %s\n", peer->host, state,
		configured, frr_ha_session_mode_name(d.mode), d.reason);
	if (has_tap)
		vty_out(vty, "  %-39s stream %s%s%s%s\n", "", tap.mode_name,
			tap.receive_only ? " (received stream only)" : "",
			tap.why[0] ? ": " : "", tap.why);
}

static void show_counters_json(json_object *json, const struct frr_ha_counters *c)
{
	json_object *j = json_object_new_object();

	json_object_int_add(j, "framesSent", c->frames_sent);
	json_object_int_add(j, "framesReceived", c->frames_received);
	json_object_int_add(j, "bytesSent", c->bytes_sent);
	json_object_int_add(j, "bytesReceived", c->bytes_received);
	json_object_int_add(j, "channelsUp", c->channels_up);
	json_object_int_add(j, "channelDrops", c->channel_drops);
	json_object_int_add(j, "authFailures", c->auth_failures);
	json_object_int_add(j, "versionMismatches", c->version_mismatches);
	json_object_int_add(j, "malformedFrames", c->malformed_frames);
	json_object_int_add(j, "oversizedFrames", c->oversized_frames);
	json_object_int_add(j, "handshakeTimeouts", c->handshake_timeouts);
	json_object_int_add(j, "partnersRefused", c->partners_refused);
	json_object_int_add(j, "backlogDrops", c->backlog_drops);
	json_object_int_add(j, "switchovers", c->switchovers);
	json_object_int_add(j, "tlsHandshakeFailures", c->tls_handshake_failures);
	json_object_int_add(j, "reflectionsRefused", c->reflections_refused);
	json_object_int_add(j, "recordsRejected", c->records_rejected);
	json_object_int_add(j, "truncations", c->truncations);
	json_object_int_add(j, "closedWithoutNotify", c->closed_without_notify);
	json_object_int_add(j, "dataChannelsUp", c->data_channels_up);
	json_object_int_add(j, "dataChannelsRefused", c->data_channels_refused);
	json_object_int_add(j, "streamPiecesRefused", c->stream_pieces_refused);
	json_object_object_add(json, "counters", j);
}

/* What this RP's last takeover did to its shadows (absent before any). */
static void show_last_takeover_json(json_object *json)
{
	struct bgpd_ha_takeover_summary t;
	json_object *j;
	char when[32];

	bgpd_ha_tf_last_takeover(&t);
	if (!t.happened)
		return;
	j = json_object_new_object();
	format_time(t.at_unix_ms, when, sizeof(when));
	json_object_string_add(j, "at", when);
	json_object_int_add(j, "durationMs", t.duration_ms);
	json_object_int_add(j, "shadows", t.shadows);
	json_object_int_add(j, "continued", t.continued);
	json_object_int_add(j, "gracefulRestarts", t.graceful);
	json_object_int_add(j, "restarts", t.restarted);
	json_object_int_add(j, "completedBytes", t.completed_bytes);
	json_object_int_add(j, "unsentMessages", t.unsent_messages);
	json_object_int_add(j, "duplicateBytesDropped", t.duplicates_dropped);
	json_object_int_add(j, "differenceMessages", t.difference_messages);
	json_object_int_add(j, "differencesPending", t.differences_pending);
	json_object_int_add(j, "differencesFailed", t.differences_failed);
	json_object_object_add(json, "lastTakeover", j);
}

static void show_last_takeover_text(struct vty *vty)
{
	struct bgpd_ha_takeover_summary t;

	bgpd_ha_tf_last_takeover(&t);
	if (!t.happened)
		return;
	vty_out(vty,
		"Last takeover: %u of %u shadows continued, %u graceful restarts, %u restarts in %u ms; %" PRIu64
		" bytes completed, %" PRIu64 " messages of the old active dropped, %" PRIu64
		" mirrored bytes not read twice, %" PRIu64 " difference messages%s\n",
		t.continued, t.shadows, t.graceful, t.restarted, t.duration_ms,
		t.completed_bytes, t.unsent_messages, t.duplicates_dropped,
		t.difference_messages,
		t.differences_pending ? " (differences still pending)" : "");
}

/* How much the sessions' stream records share (docs/transparent-failover.md,
 * "Stream records"). */
static void show_records_shared(struct vty *vty, struct json_object *json)
{
	size_t paths, chunks;

	frr_ha_records_shared(&paths, &chunks);
	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_int_add(o, "internedPaths", paths);
		json_object_int_add(o, "internedChunks", chunks);
		json_object_object_add(json, "records", o);
		return;
	}
	vty_out(vty, "Stream records: %zu attribute sets and %zu prefix chunks, each held once\n",
		paths, chunks);
}

/* A TCP channel's two ends: to tell the control channel from the data
 * channel on the wire (a firewall or QoS rule giving heartbeats the way). */
static void show_channel_endpoints(json_object *partner, const char *key, uint64_t id)
{
	char local[64], remote[64];
	json_object *ends;

	if (!bgpd_ha_channel_endpoints(id, local, remote, sizeof(local)))
		return;
	ends = json_object_new_object();
	json_object_string_add(ends, "local", local);
	json_object_string_add(ends, "remote", remote);
	json_object_object_add(partner, key, ends);
}

static void show_channel_endpoints_text(struct vty *vty, const char *what, uint64_t id)
{
	char local[64], remote[64];

	if (bgpd_ha_channel_endpoints(id, local, remote, sizeof(local)))
		vty_out(vty, "%s: %s > %s\n", what, local, remote);
}

static void show_pair_json(json_object *json, const struct frr_ha_node *node,
			   const struct frr_ha_status *st)
{
	const struct frr_ha_pair_config *cfg = bgpd_ha_pair_config();
	json_object *hb = json_object_new_object();
	json_object *partner = json_object_new_object();
	json_object *sync = json_object_new_object();
	json_object *history = json_object_new_array();
	char when[32];

	json_object_string_add(json, "rp", st->rp);
	json_object_string_add(json, "role", st->role_name);
	json_object_int_add(json, "epoch", st->epoch);
	json_object_string_add(json, "mode", st->local_mode ? "local" : "dual-rp");
	json_object_int_add(json, "priority", st->priority);
	json_object_boolean_add(json, "ready", st->ready);
	json_object_string_add(json, "notReadyReason", st->not_ready_reason);
	if (*st->config_error)
		json_object_string_add(json, "configProblem", st->config_error);

	json_object_int_add(hb, "intervalMs", st->interval_ms);
	json_object_int_add(hb, "multiplier", st->multiplier);
	json_object_int_add(hb, "detectionMs", st->detection_ms);
	json_object_object_add(json, "heartbeat", hb);

	if (st->partner_configured) {
		json_object_string_add(partner, "name", st->partner_name);
		for (unsigned int i = 0; i < cfg->n_rps; i++) {
			const struct frr_ha_rp_config *rp = &cfg->rps[i];

			if (strcmp(rp->name, st->partner_name))
				continue;
			if (rp->tcp && strchr(rp->host, ':'))
				json_object_string_addf(partner, "address", "tcp:[%s]:%u",
							rp->host, rp->port);
			else if (rp->tcp)
				json_object_string_addf(partner, "address", "tcp:%s:%u",
							rp->host, rp->port);
			else
				json_object_string_addf(partner, "address", "unix:%s",
							rp->unix_path);
		}
	}
	json_object_string_add(partner, "channel", st->channel);
	if (!st->local_mode)
		json_object_string_add(partner, "dataChannel",
				       st->data_channel_up ? "up" : "down");
	show_channel_endpoints(partner, "channelEndpoints", st->channel_id);
	show_channel_endpoints(partner, "dataChannelEndpoints", st->data_channel_id);
	if (*st->channel_tls_version) {
		json_object_string_add(partner, "tlsVersion", st->channel_tls_version);
		json_object_string_add(partner, "cipher", st->channel_cipher);
	}
	if (*st->last_refusal) {
		json_object_string_add(partner, "lastRefusal", st->last_refusal);
		format_time(st->last_refusal_unix_ms, when, sizeof(when));
		json_object_string_add(partner, "lastRefusalAt", when);
	}
	if (st->partner_known) {
		json_object_string_add(partner, "role", st->partner_role_name);
		json_object_int_add(partner, "epoch", st->partner_epoch);
		json_object_boolean_add(partner, "ready", st->partner_ready);
		json_object_string_add(partner, "notReadyReason",
				       st->partner_not_ready_reason);
		format_time(st->partner_up_since_unix_ms, when, sizeof(when));
		json_object_string_add(partner, "upSince", when);
		if (st->partner_role == FRR_HA_ROLE_ACTIVE)
			json_object_int_add(partner, "sessionsUnprotected",
					    st->partner_sessions_unprotected);
	}
	json_object_object_add(json, "partner", partner);

	json_object_string_add(sync, "state", st->sync_state);
	json_object_int_add(sync, "itemsReceived", st->sync_items_received);
	json_object_int_add(sync, "itemsTotal", st->sync_items_total);
	json_object_object_add(json, "sync", sync);

	show_counters_json(json, &st->counters);
	show_fencing_json(json, node, st);
	bgpd_ha_lease_show(NULL, json);
	bgpd_ha_service_show(NULL, json);
	bgpd_ha_relay_show(NULL, json);
	bgpd_ha_config_sync_show(NULL, json);
	bgpd_ha_descriptors_show(NULL, json);
	bgpd_ha_life_show(NULL, json);

	for (size_t i = 0; i < frr_ha_node_switchover_count(node); i++) {
		struct frr_ha_switchover sw;
		json_object *j = json_object_new_object();

		frr_ha_node_switchover_get(node, i, &sw);
		json_object_int_add(j, "epoch", sw.epoch);
		json_object_string_add(j, "reason", sw.reason);
		format_time(sw.at_unix_ms, when, sizeof(when));
		json_object_string_add(j, "at", when);
		json_object_int_add(j, "durationMs", sw.duration_ms);
		json_object_array_add(history, j);
	}
	json_object_object_add(json, "switchovers", history);
	show_last_takeover_json(json);
	show_records_shared(NULL, json);
}

static void show_pair_text(struct vty *vty, const struct frr_ha_node *node,
			   const struct frr_ha_status *st)
{
	const struct frr_ha_counters *c = &st->counters;
	char when[32];

	vty_out(vty, "RP %s: %s, epoch %" PRIu64 ", priority %u, %s mode\n", st->rp,
		st->role_name, st->epoch, st->priority,
		st->local_mode ? "local" : "dual-RP");
	if (*st->config_error)
		vty_out(vty, "Configuration problem: %s\n", st->config_error);
	vty_out(vty, "Ready to take over: %s%s%s\n", st->ready ? "yes" : "no",
		st->ready ? "" : ", ", st->not_ready_reason);
	vty_out(vty, "Heartbeat: every %u ms, partner lost after %u ms\n",
		st->interval_ms, st->detection_ms);
	show_fencing_text(vty, node, st);
	bgpd_ha_lease_show(vty, NULL);
	bgpd_ha_service_show(vty, NULL);
	vty_out(vty, "Partner: rp %s, channel %s", *st->partner_name ? st->partner_name : "-",
		st->channel);
	if (st->partner_known)
		vty_out(vty, ", %s, epoch %" PRIu64, st->partner_role_name,
			st->partner_epoch);
	/* Ready to take over: a question for a standby only. */
	if (st->partner_known && st->partner_role == FRR_HA_ROLE_STANDBY)
		vty_out(vty, ", %s%s%s", st->partner_ready ? "ready" : "not ready",
			st->partner_ready ? "" : ": ", st->partner_not_ready_reason);
	/* What this standby could not continue: it would take over later. */
	if (st->partner_known && st->partner_role == FRR_HA_ROLE_ACTIVE &&
	    st->partner_sessions_unprotected)
		vty_out(vty, ", %u of its sessions not protected here",
			st->partner_sessions_unprotected);
	vty_out(vty, "\n");
	if (*st->channel_tls_version)
		vty_out(vty, "Channel security: %s, %s, pre-shared key proven by both RPs\n",
			st->channel_tls_version, st->channel_cipher);
	if (!st->local_mode)
		vty_out(vty,
			"Data channel: %s (up %" PRIu64 " times, %" PRIu64 " refused, %" PRIu64
			" stream pieces refused)\n",
			st->data_channel_up ? "up" : "down", st->counters.data_channels_up,
			st->counters.data_channels_refused, st->counters.stream_pieces_refused);
	show_channel_endpoints_text(vty, "Channel endpoints", st->channel_id);
	show_channel_endpoints_text(vty, "Data channel endpoints", st->data_channel_id);
	bgpd_ha_relay_show(vty, NULL);
	if (*st->last_refusal) {
		format_time(st->last_refusal_unix_ms, when, sizeof(when));
		vty_out(vty, "Last channel refused: %s (%s)\n", st->last_refusal, when);
	}
	vty_out(vty, "Bulk sync: %s (%u/%u)\n", st->sync_state,
		st->sync_items_received, st->sync_items_total);
	bgpd_ha_config_sync_show(vty, NULL);
	bgpd_ha_descriptors_show(vty, NULL);
	bgpd_ha_life_show(vty, NULL);
	show_records_shared(vty, NULL);
	vty_out(vty, "Channel: %" PRIu64 " frames / %" PRIu64 " bytes sent, %" PRIu64
		     " frames / %" PRIu64 " bytes received, up %" PRIu64
		     " times, dropped %" PRIu64 "\n",
		c->frames_sent, c->bytes_sent, c->frames_received, c->bytes_received,
		c->channels_up, c->channel_drops);
	vty_out(vty, "Refused: %" PRIu64 " auth failures, %" PRIu64
		     " version mismatches, %" PRIu64 " malformed, %" PRIu64
		     " oversized, %" PRIu64 " handshake timeouts, %" PRIu64
		     " partners refused, %" PRIu64 " backlog drops\n",
		c->auth_failures, c->version_mismatches, c->malformed_frames,
		c->oversized_frames, c->handshake_timeouts, c->partners_refused,
		c->backlog_drops);
	vty_out(vty, "TLS: %" PRIu64 " handshakes refused, %" PRIu64
		     " reflections refused, %" PRIu64 " records rejected, %" PRIu64
		     " truncated streams, %" PRIu64 " ended without close_notify\n",
		c->tls_handshake_failures, c->reflections_refused,
		c->records_rejected, c->truncations, c->closed_without_notify);
	vty_out(vty, "Switchovers: %" PRIu64 "\n", c->switchovers);
	for (size_t i = 0; i < frr_ha_node_switchover_count(node); i++) {
		struct frr_ha_switchover sw;

		frr_ha_node_switchover_get(node, i, &sw);
		format_time(sw.at_unix_ms, when, sizeof(when));
		vty_out(vty, "  epoch %" PRIu64 ": %s at %s, %u ms\n", sw.epoch,
			sw.reason, when, sw.duration_ms);
	}
	show_last_takeover_text(vty);
}

DEFUN (show_bgp_ha,
       show_bgp_ha_cmd,
       "show bgp ha [json]",
       SHOW_STR
       BGP_STR
       "Nonstop routing (frr-ha) state\n"
       JSON_STR)
{
	bool uj = use_json(argc, argv);
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct frr_ha_status st;
	json_object *json = NULL, *json_peers = NULL;
	struct listnode *bnode, *pnode;
	struct bgp *bgp;
	struct peer *peer;

	if (node) {
		frr_ha_node_status(node, &st);
		ha_config_problem_explain(&st);
	}
	if (uj) {
		json = json_object_new_object();
		json_peers = json_object_new_object();
		json_object_string_add(json, "version", frr_ha_core_version());
		if (node)
			show_pair_json(json, node, &st);
		else
			json_object_string_add(json, "role", "standalone");
	} else {
		vty_out(vty, "frr-ha %s\n", frr_ha_core_version());
		if (node)
			show_pair_text(vty, node, &st);
		else
			vty_out(vty, "Role: standalone\n");
		vty_out(vty, "Neighbors:\n  %-39s %-12s %-16s %-16s %s\n",
			"Neighbor", "State", "Configured", "Switchover", "Why");
	}

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bnode, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pnode, peer))
			show_peer(vty, bgp, peer, json_peers);

	if (uj) {
		json_object_object_add(json, "neighbors", json_peers);
		return vty_json(vty, json);
	}
	return CMD_SUCCESS;
}

void bgpd_ha_vty_init(void)
{
	install_element(VIEW_NODE, &show_bgp_ha_cmd);
	install_element(ENABLE_NODE, &bgp_ha_switchover_cmd);
	install_element(ENABLE_NODE, &clear_bgp_ha_channel_cmd);
	install_element(ENABLE_NODE, &bgp_ha_lease_override_cmd);
	/* The pair's lines: at the top level, and in the default 'router bgp'. */
	install_element(CONFIG_NODE, &bgp_ha_rp_cmd);
	install_element(BGP_NODE, &bgp_ha_rp_cmd);
	install_element(CONFIG_NODE, &no_bgp_ha_rp_cmd);
	install_element(BGP_NODE, &no_bgp_ha_rp_cmd);
	install_element(CONFIG_NODE, &bgp_ha_key_cmd);
	install_element(BGP_NODE, &bgp_ha_key_cmd);
	install_element(CONFIG_NODE, &no_bgp_ha_key_cmd);
	install_element(BGP_NODE, &no_bgp_ha_key_cmd);
	install_element(CONFIG_NODE, &bgp_ha_heartbeat_cmd);
	install_element(BGP_NODE, &bgp_ha_heartbeat_cmd);
	install_element(CONFIG_NODE, &no_bgp_ha_heartbeat_cmd);
	install_element(BGP_NODE, &no_bgp_ha_heartbeat_cmd);
	install_element(CONFIG_NODE, &bgp_ha_hang_detection_cmd);
	install_element(BGP_NODE, &bgp_ha_hang_detection_cmd);
	install_element(CONFIG_NODE, &no_bgp_ha_hang_detection_cmd);
	install_element(BGP_NODE, &no_bgp_ha_hang_detection_cmd);
	install_element(CONFIG_NODE, &bgp_ha_switchover_on_link_loss_cmd);
	install_element(BGP_NODE, &bgp_ha_switchover_on_link_loss_cmd);
	install_element(CONFIG_NODE, &bgp_ha_service_address_cmd);
	install_element(BGP_NODE, &bgp_ha_service_address_cmd);
	install_element(CONFIG_NODE, &bgp_ha_standby_lag_limit_cmd);
	install_element(BGP_NODE, &bgp_ha_standby_lag_limit_cmd);
	install_element(CONFIG_NODE, &no_bgp_ha_standby_lag_limit_cmd);
	install_element(BGP_NODE, &no_bgp_ha_standby_lag_limit_cmd);
	install_element(BGP_NODE, &neighbor_ha_failover_mode_cmd);
	install_element(BGP_NODE, &no_neighbor_ha_failover_mode_cmd);
	hook_register(bgp_inst_config_write, ha_config_write);
	ha_config_write_install();
}
