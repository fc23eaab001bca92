/*
 * What an operator may type on a standby RP. Commands that reset or
 * refresh sessions ("clear bgp ...", "clear ip bgp ...") act on the peers'
 * connections, which the active owns: on a standby they are refused with a
 * message naming the active. Nothing a standby does could reach a peer
 * anyway (its sessions are shadows on stand-in descriptors); the refusal
 * tells the operator where the command belongs instead of ending a shadow.
 *
 * The standby is read-only: its configuration follows the active's
 * (bgpd_ha_config_sync.c), so configuration lines typed on it are refused
 * too, but for those that concern this RP alone (debug, log) and moving
 * between nodes.
 *
 * Every command typed on a vty passes libfrr's cmd_execute hook first; the
 * command is matched here against the node's graph without running it.
 */
#include <zebra.h>

#include "command.h"
#include "command_match.h"
#include "hook.h"
#include "vector.h"
#include "vty.h"

#include "bgpd_ha_glue.h"

/* libfrr defines this hook in lib/command.c without a header declaration. */
DECLARE_HOOK(cmd_execute, (struct vty *vty, const char *cmd_in, char **cmd_out),
	     (vty, cmd_in, cmd_out));

/* "clear bgp ...", "clear ip bgp ..." (FRR writes the optional word as
 * "clear [ip] bgp ..."), but not the pair's own "clear bgp ha ...". */
static bool resets_sessions(const struct cmd_element *el)
{
	const char *s = el->string;
	const char *words[] = {"clear ", "[ip] ", "ip "};

	if (strncmp(s, words[0], strlen(words[0])) != 0)
		return false;
	s += strlen(words[0]);
	for (size_t i = 1; i < array_size(words); i++)
		if (strncmp(s, words[i], strlen(words[i])) == 0)
			s += strlen(words[i]);
	return strncmp(s, "bgp", 3) == 0 && (s[3] == ' ' || s[3] == '\0') &&
	       strncmp(s, "bgp ha ", strlen("bgp ha ")) != 0;
}

/* The command `line` would run on this vty, or NULL: FRR's matcher on the
 * node's graph, then its parents' ("do ..." from a configuration node runs
 * at the enable node). */
const struct cmd_element *bgpd_ha_command_of(struct vty *vty, const char *line)
{
	vector words = cmd_make_strvec(line);
	vector vline = words;
	enum node_type node = vty->node;
	const struct cmd_element *el = NULL;
	struct list *argv = NULL;
	struct cmd_node *cnode;

	if (!words)
		return NULL;
	if (node >= ENABLE_NODE && vector_active(words) > 1 &&
	    strcmp(vector_slot(words, 0), "do") == 0) {
		vline = vector_init(vector_active(words) - 1);
		for (unsigned int i = 1; i < vector_active(words); i++)
			vector_set_index(vline, i - 1, vector_slot(words, i));
		node = ENABLE_NODE;
	}
	/* Not found in a configuration node: FRR tries the parent nodes. */
	for (;;) {
		cnode = vector_lookup(cmdvec, node);
		if (cnode &&
		    command_match(cnode->cmdgraph, vline, &argv, &el) != MATCHER_OK)
			el = NULL;
		if (argv)
			list_delete(&argv);
		if (el || node <= CONFIG_NODE)
			break;
		node = node_parent(node);
	}
	if (vline != words)
		vector_free(vline);
	cmd_free_strvec(words);
	return el;
}

static bool starts_with(const char *s, const char *word)
{
	size_t len = strlen(word);

	return strncmp(s, word, len) == 0 && (s[len] == ' ' || s[len] == '\0');
}

/* A configuration line that changes only this RP, or none: debugging,
 * logging, leaving a node, and "do ..." (run at the enable node). */
static bool concerns_this_rp_only(const struct cmd_element *el)
{
	const char *s = el->string;

	if (starts_with(s, "no"))
		s += 3;
	return starts_with(s, "debug") || starts_with(s, "log") ||
	       starts_with(s, "exit") || starts_with(s, "end") ||
	       starts_with(s, "quit") || strncmp(s, "exit-", 5) == 0;
}

static bool changes_configuration(struct vty *vty, const char *line,
				  const struct cmd_element *el)
{
	while (isspace((unsigned char)*line))
		line++;
	if (vty->node < CONFIG_NODE || starts_with(line, "do"))
		return false;
	return !el || !concerns_this_rp_only(el);
}

static int standby_command_guard(struct vty *vty, const char *line, char **out)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	const struct cmd_element *el;
	struct frr_ha_status st;
	bool config;

	if (!node || frr_ha_node_role(node) != FRR_HA_ROLE_STANDBY ||
	    bgpd_ha_config_is_mirror(vty))
		return 0;
	el = bgpd_ha_command_of(vty, line);
	config = changes_configuration(vty, line, el);
	if (!config && (!el || !resets_sessions(el)))
		return 0;
	frr_ha_node_status(node, &st);
	if (config)
		vty_out(vty,
			"%% This route processor (rp %s) is the standby: its configuration follows the active's.\n"
			"%% Configure the pair on the active, rp %s (a plain vtysh reaches it).\n",
			st.rp, *st.partner_name ? st.partner_name : "(unknown)");
	else
		vty_out(vty,
			"%% This route processor (rp %s) is the standby: it does not own the peers' sessions.\n"
			"%% Run this command on the active, rp %s.\n",
			st.rp, *st.partner_name ? st.partner_name : "(unknown)");
	return 1;
}

void bgpd_ha_standby_cli_init(void)
{
	hook_register(cmd_execute, standby_command_guard);
}

void bgpd_ha_standby_cli_fini(void)
{
	hook_unregister(cmd_execute, standby_command_guard);
}
