/*
 * What an operator may type on a standby RP. Commands that reset or
 * refresh sessions ("clear bgp ...", "clear ip bgp ...") act on the peers'
 * connections, which the active owns: on a standby they are refused with a
 * message naming the active. Nothing a standby does could reach a peer
 * anyway (its sessions are shadows on stand-in descriptors); the refusal
 * tells the operator where the command belongs instead of ending a shadow.
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
 * node's graph ("do ..." from a configuration node runs at the enable node). */
static const struct cmd_element *command_of(struct vty *vty, const char *line)
{
	vector words = cmd_make_strvec(line);
	vector vline = words;
	enum node_type node = vty->node;
	const struct cmd_element *el = NULL;
	struct list *argv = NULL;
	struct cmd_node *cnode;

	if (!words)
		return NULL;
	if (node > ENABLE_NODE && vector_active(words) > 1 &&
	    strcmp(vector_slot(words, 0), "do") == 0) {
		vline = vector_init(vector_active(words) - 1);
		for (unsigned int i = 1; i < vector_active(words); i++)
			vector_set_index(vline, i - 1, vector_slot(words, i));
		node = ENABLE_NODE;
	}
	cnode = vector_lookup(cmdvec, node);
	if (cnode && command_match(cnode->cmdgraph, vline, &argv, &el) != MATCHER_OK)
		el = NULL;
	if (argv)
		list_delete(&argv);
	if (vline != words)
		vector_free(vline);
	cmd_free_strvec(words);
	return el;
}

static int standby_command_guard(struct vty *vty, const char *line, char **out)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	const struct cmd_element *el;
	struct frr_ha_status st;

	if (!node || frr_ha_node_role(node) != FRR_HA_ROLE_STANDBY)
		return 0;
	el = command_of(vty, line);
	if (!el || !resets_sessions(el))
		return 0;
	frr_ha_node_status(node, &st);
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
