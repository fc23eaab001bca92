/*
 * Dual-RP mode, the standby host's side of the hand-over across hosts
 * (docs/dual-rp.md). Each session the active host hands over arrives as a
 * receiver in the core (include/frr_ha/cross_host.h), which writes both
 * streams into two unix links. Here, on the main thread, the links are
 * watched and, once the connection's image came, the session's shadow
 * starts on them as on a local hand-over's (bgpd_ha_shadow.c), with a
 * placeholder socket that holds the session's addresses and never sends.
 */
#include <zebra.h>

#include "jhash.h"
#include "memory.h"
#include "privs.h"
#include "thread.h"
#include "typesafe.h"

#include "bgpd/bgpd.h"

#include "../include/frr_ha/cross_host.h"
#include "bgpd_ha_tf_private.h"

extern struct zebra_privs_t bgpd_privs;

PREDECL_HASH(ha_receivers);

/* One session's receiver, by the number its streams carry. */
struct ha_receiver {
	struct ha_receivers_item by_session;
	uint64_t session;
	char vrf[FRR_HA_HANDOVER_TEXT_MAX], neighbor[FRR_HA_HANDOVER_TEXT_MAX];
	int shadow_fd; /* the shadow's descriptor once it started, else -1 */
	struct thread *t_sync, *t_read, *t_write;
};

static int receiver_cmp(const struct ha_receiver *a, const struct ha_receiver *b)
{
	return numcmp(a->session, b->session);
}

static uint32_t receiver_hash(const struct ha_receiver *r)
{
	return jhash(&r->session, sizeof(r->session), 0x5eb1);
}

DECLARE_HASH(ha_receivers, struct ha_receiver, by_session, receiver_cmp, receiver_hash);

static struct ha_receivers_head receivers;

static struct ha_receiver *receiver_of(uint64_t session)
{
	struct ha_receiver ref = {.session = session};

	return ha_receivers_find(&receivers, &ref);
}

static void receiver_free(struct ha_receiver *r)
{
	THREAD_OFF(r->t_sync);
	THREAD_OFF(r->t_read);
	THREAD_OFF(r->t_write);
	ha_receivers_del(&receivers, r);
	XFREE(MTYPE_HA_SHADOW, r);
}

static void receiver_read(struct thread *t);
static void receiver_write(struct thread *t);

/* The shadow, on the placeholder and the receiver's links; a refusal
 * (bgpd_ha_shadow_adopt) goes back on the input link, where the receiver
 * reads it and tells the active host. */
static void receiver_start_shadow(struct ha_receiver *r,
				  const struct frr_ha_cross_host_receiver *st)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct frr_ha_handover h = {.epoch = st->epoch};
	char why[256] = "";
	int fds[3];
	bool ok;

	/* CAP_NET_ADMIN: the placeholder is built in repair mode. */
	frr_with_privs (&bgpd_privs) {
		ok = frr_ha_cross_host_start_shadow(node, r->session, fds, why, sizeof(why));
	}
	if (!ok) {
		zlog_warn("frr-ha: %s: no shadow of the active host's session: %s",
			  st->neighbor, why);
		return;
	}
	snprintf(h.vrf, sizeof(h.vrf), "%s", st->vrf);
	snprintf(h.neighbor, sizeof(h.neighbor), "%s", st->neighbor);
	r->shadow_fd = bgpd_ha_shadow_adopt(&h, fds, true);
}

/* Follows what the core's receiver says now: starts the shadow, tells it
 * what it holds, watches the links; frees the receiver once it ended. */
static void receiver_sync(struct thread *t)
{
	struct ha_receiver *r = THREAD_ARG(t);
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct frr_ha_cross_host_receiver st;

	if (!node || !frr_ha_cross_host_receiver_get(node, r->session, &st)) {
		if (node && r->shadow_fd >= 0)
			bgpd_ha_shadow_receiver_ended(r->vrf, r->neighbor, r->shadow_fd,
						      r->session);
		receiver_free(r);
		return;
	}
	snprintf(r->vrf, sizeof(r->vrf), "%s", st.vrf);
	snprintf(r->neighbor, sizeof(r->neighbor), "%s", st.neighbor);
	if (st.shadow_wanted) {
		receiver_start_shadow(r, &st);
		/* A placeholder this host could not make ended the receiver. */
		if (!frr_ha_cross_host_receiver_get(node, r->session, &st)) {
			receiver_free(r);
			return;
		}
	}
	if (r->shadow_fd >= 0)
		bgpd_ha_shadow_follow_receiver(r->vrf, r->neighbor, r->shadow_fd, r->session);
	THREAD_OFF(r->t_read);
	THREAD_OFF(r->t_write);
	thread_add_read(bgpd_ha_tf_master(), receiver_read, r, st.read_fd, &r->t_read);
	if (st.write_fd >= 0)
		thread_add_write(bgpd_ha_tf_master(), receiver_write, r, st.write_fd, &r->t_write);
}

/* Work is deferred to an event: the core calls in from the middle of its
 * own calls. */
static void host_stream_receiver_changed(void *ctx, uint64_t session)
{
	struct ha_receiver *r = receiver_of(session);

	(void)ctx;
	if (!r) {
		r = XCALLOC(MTYPE_HA_SHADOW, sizeof(*r));
		r->session = session;
		r->shadow_fd = -1;
		ha_receivers_add(&receivers, r);
	}
	/* The receiver may have just ended, its links closed: no wait may stay
	 * on their descriptors until the sync runs. FRR's loop drops a closed
	 * descriptor's poll entry (POLLNVAL) but keeps the wait, and cancelling
	 * it later, once a new socket took the number (bgpd's listener, made
	 * anew at the takeover), cancelled that socket's wait instead: the new
	 * active accepted no connection. */
	THREAD_OFF(r->t_read);
	THREAD_OFF(r->t_write);
	thread_add_event(bgpd_ha_tf_master(), receiver_sync, r, 0, &r->t_sync);
}

/* A link's event goes to the core, then the receiver is followed anew. */
static void receiver_event(struct ha_receiver *r,
			   void (*tell_core)(struct frr_ha_node *node, uint64_t session))
{
	struct frr_ha_node *node = bgpd_ha_pair_node();

	if (node)
		tell_core(node, r->session);
	thread_add_event(bgpd_ha_tf_master(), receiver_sync, r, 0, &r->t_sync);
}

static void receiver_read(struct thread *t)
{
	receiver_event(THREAD_ARG(t), frr_ha_cross_host_receiver_word);
}

static void receiver_write(struct thread *t)
{
	receiver_event(THREAD_ARG(t), frr_ha_cross_host_receiver_flush);
}

void bgpd_ha_receiver_host_ops(struct frr_ha_host_ops *ops)
{
	ops->stream_receiver_changed = host_stream_receiver_changed;
	ops->privileged = bgpd_ha_with_net_admin;
}

void bgpd_ha_receiver_init(void)
{
	ha_receivers_init(&receivers);
}

void bgpd_ha_receiver_fini(void)
{
	struct ha_receiver *r;

	while ((r = ha_receivers_first(&receivers)))
		receiver_free(r);
	ha_receivers_fini(&receivers);
}
