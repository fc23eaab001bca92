/*
 * One configuration for the pair (docs/ha-pair.md, "One configuration").
 *
 * On the active, every line typed in a configuration node of a vty (and the
 * "configure" line that starts such a session) passes libfrr's cmd_execute
 * hook here first: it goes to the standby, which runs it on its mirror of
 * that vty session, and the active runs it only if the standby accepted it;
 * a refused line is refused here with the standby's error. The wait for the
 * answer is bounded (HA_CONFIG_ANSWER_MS); a standby that does not answer
 * in time loses step and adopts the active's configuration when it can.
 *
 * On the standby, the mirrors are vtys of our own (VTY_FILE: output kept in
 * the vty's buffer), one per active vty session, plus one for adoption.
 */
#include <zebra.h>

#include "buffer.h"
#include "command.h"
#include "hook.h"
#include "json.h"
#include "vty.h"

#include "bgpd_ha_glue.h"

/* libfrr defines these hooks in lib/command.c without a header declaration. */
DECLARE_HOOK(cmd_execute, (struct vty *vty, const char *cmd_in, char **cmd_out),
	     (vty, cmd_in, cmd_out));
DECLARE_KOOH(cmd_execute_done, (struct vty *vty, const char *cmd_exec),
	     (vty, cmd_exec));

/* How long a configuration line waits for the standby's answer. Above the
 * standby's own worst main-loop stall measured under a 1M-prefix load
 * (docs/ha-pair.md, "Hung active"), far below an operator's patience. */
#define HA_CONFIG_ANSWER_MS 3000
/* Vty sessions tracked at once (each end: active and mirrors). */
#define HA_CONFIG_SESSIONS 64

/* The active: its vty sessions in configuration, by vty. */
struct ha_config_session {
	const struct vty *vty;
	uint64_t id;
	uint64_t last_use;
};

/* The standby: its mirrors of the active's sessions. */
struct ha_config_mirror {
	uint64_t id;
	struct vty *vty;
	uint64_t last_use;
};

static struct {
	struct ha_config_session sessions[HA_CONFIG_SESSIONS];
	struct ha_config_mirror mirrors[HA_CONFIG_SESSIONS];
	uint64_t next_id, uses;
	/* The answer of this line is awaited (see forward_and_wait). */
	uint64_t awaited_seq;
	/* The vty whose configuration line is running: its end counts the
	 * line, even when it leaves the configuration nodes ("end"). */
	const struct vty *line_vty;
} cs;

/* --- the active ------------------------------------------------------------- */

static struct ha_config_session *session_of(const struct vty *vty)
{
	for (int i = 0; i < HA_CONFIG_SESSIONS; i++)
		if (cs.sessions[i].vty == vty && cs.sessions[i].id)
			return &cs.sessions[i];
	return NULL;
}

static struct ha_config_session *session_start(const struct vty *vty)
{
	struct ha_config_session *s = session_of(vty), *oldest = &cs.sessions[0];

	if (!s) {
		for (int i = 0; i < HA_CONFIG_SESSIONS; i++) {
			if (!cs.sessions[i].id) {
				oldest = &cs.sessions[i];
				break;
			}
			if (cs.sessions[i].last_use < oldest->last_use)
				oldest = &cs.sessions[i];
		}
		s = oldest;
	}
	if (s->id && bgpd_ha_pair_node())
		frr_ha_node_config_session_end(bgpd_ha_pair_node(), s->id);
	s->vty = vty;
	s->id = ++cs.next_id;
	s->last_use = ++cs.uses;
	return s;
}

/* A line that changes configuration, or starts or moves a configuration
 * session: any line in a configuration node but "do ...", and "configure"
 * at the enable node. */
static bool is_configuration_line(struct vty *vty, const char *line, bool *starts)
{
	const struct cmd_element *el;

	*starts = false;
	if (vty->node >= CONFIG_NODE) {
		while (isspace((unsigned char)*line))
			line++;
		return !(strncmp(line, "do", 2) == 0 &&
			 (line[2] == '\0' || isspace((unsigned char)line[2])));
	}
	if (vty->node != ENABLE_NODE)
		return false;
	el = bgpd_ha_command_of(vty, line);
	*starts = el && strncmp(el->string, "configure", 9) == 0;
	return *starts;
}

static bool answered(void *arg)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();

	return !node || frr_ha_node_config_answer(node, cs.awaited_seq, NULL, 0) !=
				FRR_HA_CONFIG_PENDING;
}

/* 1 (refuse the line) if the standby refused it, else 0 (run it here). */
static int forward_and_wait(struct vty *vty, const char *line, bool starts)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct ha_config_session *s = starts ? session_start(vty) : session_of(vty);
	char why[FRR_HA_TEXT_MAX], output[4096];
	struct frr_ha_status st;
	uint64_t seq, started = bgpd_ha_now_ms();

	if (s)
		s->last_use = ++cs.uses;
	if (!frr_ha_node_config_forward(node, s ? s->id : 0, line, &seq, why,
					sizeof(why)))
		return 0;
	cs.awaited_seq = seq;
	if (!bgpd_ha_channels_run_until(answered, NULL, HA_CONFIG_ANSWER_MS)) {
		frr_ha_node_config_timed_out(node, seq,
					     (uint32_t)(bgpd_ha_now_ms() - started));
		zlog_warn("frr-ha: the standby did not answer within %u ms; '%s' runs on the active alone",
			  HA_CONFIG_ANSWER_MS, line);
		return 0;
	}
	switch (frr_ha_node_config_answer(node, seq, output, sizeof(output))) {
	case FRR_HA_CONFIG_REFUSED:
		frr_ha_node_status(node, &st);
		vty_out(vty, "%s", output);
		vty_out(vty,
			"%% The standby (rp %s) refused this line: it was applied on neither route processor.\n",
			st.partner_name);
		return 1;
	case FRR_HA_CONFIG_LOST:
		zlog_warn("frr-ha: no answer from the standby (%s); '%s' runs on the active alone",
			  output, line);
		return 0;
	case FRR_HA_CONFIG_ACCEPTED:
	case FRR_HA_CONFIG_PENDING:
		break;
	}
	return 0;
}

/* "write [memory|file]", "copy running-config startup-config", with or
 * without "do": saves the configuration to this RP's file. */
static bool saves_configuration(struct vty *vty, const char *line)
{
	const struct cmd_element *el = bgpd_ha_command_of(vty, line);
	const char *words;

	if (!el)
		return false;
	if (strncmp(el->string, "copy running-config startup-config", 34) == 0)
		return true;
	if (strncmp(el->string, "write", 5) != 0)
		return false;
	/* "write terminal" prints the configuration; it saves nothing. */
	words = strstr(line, "wr");
	words = words ? strchr(words, ' ') : NULL;
	while (words && isspace((unsigned char)*words))
		words++;
	return !words || *words != 't';
}

/* Dual-RP mode: each host keeps its own file; the standby saves its
 * configuration when the active does. A standby that cannot is reported;
 * the active's own save goes on. */
static void forward_save(struct vty *vty)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	char why[FRR_HA_TEXT_MAX], output[1024];
	struct frr_ha_status st;
	uint64_t seq, session = ++cs.next_id;

	frr_ha_node_status(node, &st);
	if (!frr_ha_node_config_forward(node, session, "write memory", &seq, why,
					sizeof(why))) {
		vty_out(vty, "%% Note: the standby's file was not written: %s\n", why);
		return;
	}
	cs.awaited_seq = seq;
	bgpd_ha_channels_run_until(answered, NULL, HA_CONFIG_ANSWER_MS);
	if (frr_ha_node_config_answer(node, seq, output, sizeof(output)) !=
	    FRR_HA_CONFIG_ACCEPTED)
		vty_out(vty, "%% The standby (rp %s) did not save its configuration: %s\n",
			st.partner_name, *output ? output : "no answer");
	frr_ha_node_config_session_end(node, session);
}

static int config_line_typed(struct vty *vty, const char *line, char **out)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct frr_ha_status st;
	bool starts;

	if (!node || frr_ha_node_role(node) != FRR_HA_ROLE_ACTIVE ||
	    bgpd_ha_config_is_mirror(vty))
		return 0;
	if (is_configuration_line(vty, line, &starts)) {
		cs.line_vty = vty;
		return forward_and_wait(vty, line, starts);
	}
	frr_ha_node_status(node, &st);
	if (!st.local_mode && saves_configuration(vty, line)) {
		cs.line_vty = vty; /* the save is a line the standby counts too */
		forward_save(vty);
	}
	return 0;
}

/* After any line: a configuration line may have changed the configuration;
 * a session that left the configuration nodes ends. */
static int config_line_done(struct vty *vty, const char *line)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct ha_config_session *s;

	if (!node)
		return 0;
	if (vty == cs.line_vty || vty->node >= CONFIG_NODE ||
	    bgpd_ha_config_is_mirror(vty))
		frr_ha_node_config_changed(node);
	if (vty == cs.line_vty)
		cs.line_vty = NULL;
	if (vty->node < CONFIG_NODE && (s = session_of(vty))) {
		frr_ha_node_config_session_end(node, s->id);
		memset(s, 0, sizeof(*s));
	}
	return 0;
}

/* --- the standby: mirrors ------------------------------------------------------ */

bool bgpd_ha_config_is_mirror(const struct vty *vty)
{
	for (int i = 0; i < HA_CONFIG_SESSIONS; i++)
		if (cs.mirrors[i].vty == vty && vty)
			return true;
	return false;
}

static void mirror_close(struct ha_config_mirror *m)
{
	if (m->vty) {
		buffer_reset(m->vty->obuf);
		vty_close(m->vty);
	}
	memset(m, 0, sizeof(*m));
}

static struct ha_config_mirror *mirror_of(uint64_t id)
{
	struct ha_config_mirror *m = NULL, *oldest = &cs.mirrors[0];

	for (int i = 0; i < HA_CONFIG_SESSIONS; i++)
		if (cs.mirrors[i].vty && cs.mirrors[i].id == id)
			m = &cs.mirrors[i];
	if (!m) {
		for (int i = 0; i < HA_CONFIG_SESSIONS; i++) {
			if (!cs.mirrors[i].vty) {
				oldest = &cs.mirrors[i];
				break;
			}
			if (cs.mirrors[i].last_use < oldest->last_use)
				oldest = &cs.mirrors[i];
		}
		m = oldest;
		mirror_close(m);
		m->id = id;
		m->vty = vty_new();
		m->vty->type = VTY_FILE; /* output stays in obuf */
		m->vty->wfd = -1;
		m->vty->node = ENABLE_NODE;
	}
	m->last_use = ++cs.uses;
	return m;
}

static void put_output(struct vty *vty, frr_ha_text_sink put, void *sink)
{
	char *text = buffer_getstr(vty->obuf);

	if (text) {
		put(sink, text, strlen(text));
		XFREE(MTYPE_TMP, text);
	}
	buffer_reset(vty->obuf);
}

/* "[no] bgp no-rib": the pair keeps a standby away from zebra with it;
 * "no bgp no-rib" would send the standby's routes to zebra at once. */
static bool is_no_rib(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	if (strncmp(line, "no ", 3) == 0)
		line += 3;
	while (isspace((unsigned char)*line))
		line++;
	return strncmp(line, "bgp no-rib", 10) == 0;
}

static bool host_run_config_line(void *ctx, uint64_t session, const char *line,
				 frr_ha_text_sink put, void *sink)
{
	struct ha_config_mirror *m = mirror_of(session);
	int ret;

	if (is_no_rib(line))
		return true; /* the role decides, on every RP (bgpd_ha_pair.c) */
	ret = cmd_execute(m->vty, line, NULL, 0);

	put_output(m->vty, put, sink);
	return ret == CMD_SUCCESS || ret == CMD_SUCCESS_DAEMON;
}

static void host_end_config_session(void *ctx, uint64_t session)
{
	for (int i = 0; i < HA_CONFIG_SESSIONS; i++)
		if (cs.mirrors[i].vty && cs.mirrors[i].id == session)
			mirror_close(&cs.mirrors[i]);
}

/* `show running-config`, on a vty of our own. */
static void host_running_config(void *ctx, frr_ha_text_sink put, void *sink)
{
	struct vty *vty = vty_new();

	vty->type = VTY_FILE;
	vty->wfd = -1;
	vty->node = ENABLE_NODE;
	cmd_execute(vty, "show running-config", NULL, 0);
	put_output(vty, put, sink);
	vty_close(vty);
}

void bgpd_ha_config_sync_host_ops(struct frr_ha_host_ops *ops)
{
	ops->running_config = host_running_config;
	ops->run_config_line = host_run_config_line;
	ops->end_config_session = host_end_config_session;
}

/* --- show ------------------------------------------------------------------------ */

void bgpd_ha_config_sync_show(struct vty *vty, struct json_object *json)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct frr_ha_config_status c;
	char line[FRR_HA_TEXT_MAX * 2];

	if (!node)
		return;
	frr_ha_node_config_status(node, &c);
	if (json) {
		struct json_object *o = json_object_new_object();
		struct json_object *diffs = json_object_new_array();

		json_object_string_add(o, "state", c.state);
		json_object_boolean_add(o, "inStep", c.in_step);
		json_object_int_add(o, "generation", c.generation);
		json_object_string_add(o, "digest", c.digest);
		json_object_boolean_add(o, "partnerKnown", c.partner_known);
		json_object_int_add(o, "partnerGeneration", c.partner_generation);
		json_object_string_add(o, "partnerDigest", c.partner_digest);
		json_object_string_add(o, "lastProblem", c.last_problem);
		json_object_int_add(o, "linesForwarded", c.lines_forwarded);
		json_object_int_add(o, "linesRefusedByStandby", c.lines_refused);
		json_object_int_add(o, "linesRunAlone", c.lines_alone);
		json_object_int_add(o, "answersLate", c.answers_late);
		json_object_int_add(o, "linesMirrored", c.lines_mirrored);
		json_object_int_add(o, "adoptions", c.adoptions);
		json_object_int_add(o, "adoptionLines", c.adoption_lines);
		json_object_int_add(o, "lastAdoptionMs", c.last_adoption_ms);
		for (size_t i = 0; frr_ha_node_config_difference(node, i, line, sizeof(line)); i++)
			json_object_array_add(diffs, json_object_new_string(line));
		json_object_object_add(o, "differences", diffs);
		json_object_object_add(json, "configuration", o);
		return;
	}
	vty_out(vty, "Configuration: %s, generation %" PRIu64 " (digest %.12s)", c.state,
		c.generation, c.digest);
	if (c.partner_known)
		vty_out(vty, ", partner generation %" PRIu64 " (digest %.12s)",
			c.partner_generation, c.partner_digest);
	vty_out(vty, "\n");
	vty_out(vty,
		"  lines forwarded %" PRIu64 ", refused by the standby %" PRIu64
		", run alone %" PRIu64 ", mirrored %" PRIu64 ", adoptions %" PRIu64 "\n",
		c.lines_forwarded, c.lines_refused, c.lines_alone, c.lines_mirrored,
		c.adoptions);
	if (*c.last_problem)
		vty_out(vty, "  last problem: %s\n", c.last_problem);
	for (size_t i = 0; frr_ha_node_config_difference(node, i, line, sizeof(line)); i++)
		vty_out(vty, "  %s\n", line);
}

/* --- lifecycle ---------------------------------------------------------------------- */

void bgpd_ha_config_sync_init(void)
{
	hook_register(cmd_execute, config_line_typed);
	hook_register(cmd_execute_done, config_line_done);
}

void bgpd_ha_config_sync_fini(void)
{
	hook_unregister(cmd_execute, config_line_typed);
	hook_unregister(cmd_execute_done, config_line_done);
	for (int i = 0; i < HA_CONFIG_SESSIONS; i++)
		mirror_close(&cs.mirrors[i]);
}
