/*
 * The C boundary of the bgpd HA core.
 *
 * The core is C++17 and includes no FRR header; the glue in ../glue is C and
 * includes FRR's. This header is the only thing both sides see, so it speaks
 * plain C: enums, PODs and functions, no FRR types.
 */
#ifndef FRR_HA_BGPD_HA_CORE_H
#define FRR_HA_BGPD_HA_CORE_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the operator asked for a neighbor ("failover-mode" per neighbor). */
enum frr_ha_configured_mode {
	FRR_HA_CONFIGURED_AUTO = 0,
	FRR_HA_CONFIGURED_TRANSPARENT,
	FRR_HA_CONFIGURED_GRACEFUL_RESTART,
	FRR_HA_CONFIGURED_NONE,
};

/* What a switchover will do to one session. */
enum frr_ha_session_mode {
	FRR_HA_SESSION_TRANSPARENT = 0, /* TF: the standby continues the TCP session */
	FRR_HA_SESSION_GRACEFUL_RESTART, /* GR: RFC 4724 restart driven by the standby */
	FRR_HA_SESSION_PLAIN_RESTART,	 /* the session restarts as stock FRR would */
};

/* What bgpd negotiated on an Established session, as the decision needs it. */
struct frr_ha_session_facts {
	bool established;
	/* The peer sent the RFC 4724 capability: it can help our restart. */
	bool peer_advertised_gr;
	/* FRR's own GR config lets us restart gracefully towards this peer
	 * (mode "restart", globally or per neighbor). */
	bool local_gr_restart;
	/* FRR's GR config says forwarding survives a restart
	 * ("bgp graceful-restart preserve-fw-state": the F bit): true of an
	 * HA pair, whose zebra keeps the routes through the switchover. */
	bool forwarding_preserved;
	/* A takeover can compute this session's difference: only IPv4/IPv6
	 * unicast and multicast were negotiated, without ADD-PATH. */
	bool difference_computable;
	/* The new active will hold the session's local address: always in
	 * local mode; in dual-RP mode only if it is a service address. */
	bool local_address_moves;
};

struct frr_ha_mode_decision {
	enum frr_ha_session_mode mode;
	/* Static text saying why, for show commands; never NULL. */
	const char *reason;
};

struct frr_ha_mode_decision
frr_ha_decide_session_mode(enum frr_ha_configured_mode configured,
			   const struct frr_ha_session_facts *facts);

/* Names as they appear in the CLI, the YANG model and json output. */
const char *frr_ha_configured_mode_name(enum frr_ha_configured_mode mode);
const char *frr_ha_session_mode_name(enum frr_ha_session_mode mode);
/* Returns false (and leaves *out alone) for an unknown name. */
bool frr_ha_configured_mode_parse(const char *name,
				  enum frr_ha_configured_mode *out);

/* Version of the HA core, shown by "show bgp ha". */
const char *frr_ha_core_version(void);

#ifdef __cplusplus
}
#endif

#endif /* FRR_HA_BGPD_HA_CORE_H */
