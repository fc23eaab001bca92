/*
 * The standby's send logs, read on a pthread of their own
 * (docs/transparent-failover.md, "Send logs off the main thread").
 *
 * What the active wrote to a peer crosses a shadow's send-log link before
 * the peer gets it, so a link the standby does not read holds the active's
 * writes back, and after `bgp ha standby-lag-limit` the session goes on
 * unprotected and is handed over again. On bgpd's main thread the links
 * waited for whatever FRR ran there: at a full table one task (an update
 * subgroup's table walk, a packet generation) holds it 4 to 6 s, so every
 * session was unprotected and handed over again, and each new shadow made
 * the standby walk the table once more. Here they wait only for each other.
 *
 * A shadow's tap is used under its peer's io_mtx, as on bgpd's I/O pthread;
 * the shadow itself is main's: main stops its reads (and waits for a read
 * under way) before it frees it.
 */
#include <zebra.h>

#include "frr_pthread.h"
#include "thread.h"

#include "bgpd/bgpd.h"

#include "bgpd_ha_tf_private.h"

static struct frr_pthread *sendlogs;
static bool sendlogs_started; /* main's */

static void sendlog_read(struct thread *t)
{
	struct ha_shadow *s = THREAD_ARG(t);
	char why[256] = "";
	bool ok;
	int fd;

	frr_with_mutex (&s->peer->io_mtx) {
		bgpd_ha_shadow_swallow_queued(s->peer);
		ok = frr_ha_tap_drain_sendlog(bgpd_ha_taps(), s->fd, why, sizeof(why));
		fd = frr_ha_tap_sendlog_fd(bgpd_ha_taps(), s->fd);
	}
	if (!ok)
		zlog_warn("frr-ha: %s: %s", s->peer->host, why);
	if (fd >= 0)
		thread_add_read(t->master, sendlog_read, s, fd, &s->t_sendlog);
}

void bgpd_ha_sendlog_follow(struct ha_shadow *s, int link)
{
	/* Started at the first shadow: a pthread must not start before bgpd
	 * daemonizes (its fork would leave it behind), and an active never
	 * needs it. */
	if (!sendlogs_started) {
		frr_pthread_run(sendlogs, NULL);
		frr_pthread_wait_running(sendlogs);
		sendlogs_started = true;
	}
	s->sendlog_followed = true;
	thread_add_read(sendlogs->master, sendlog_read, s, link, &s->t_sendlog);
}

void bgpd_ha_sendlog_stop(struct ha_shadow *s)
{
	if (!s->sendlog_followed)
		return;
	/* Waits for a read under way; one that re-armed itself is cancelled
	 * too (the reference is resolved on that pthread). */
	thread_cancel_async(sendlogs->master, &s->t_sendlog, NULL);
	s->sendlog_followed = false;
}

/* Stopping many at once (a takeover): one round trip, not one each. */
struct stop_all {
	struct ha_shadow **shadows;
	unsigned int n;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool done;
};

static void stop_all_here(struct thread *t)
{
	struct stop_all *req = THREAD_ARG(t);

	for (unsigned int i = 0; i < req->n; i++)
		if (req->shadows[i])
			THREAD_OFF(req->shadows[i]->t_sendlog);
	frr_with_mutex (&req->mtx) {
		req->done = true;
		pthread_cond_signal(&req->cond);
	}
}

void bgpd_ha_sendlog_stop_all(struct ha_shadow **shadows, unsigned int n)
{
	struct stop_all req = {.shadows = shadows, .n = n};
	bool any = false;

	for (unsigned int i = 0; i < n; i++)
		any |= shadows[i] && shadows[i]->sendlog_followed;
	if (!any)
		return;
	pthread_mutex_init(&req.mtx, NULL);
	pthread_cond_init(&req.cond, NULL);
	thread_add_event(sendlogs->master, stop_all_here, &req, 0, NULL);
	frr_with_mutex (&req.mtx) {
		while (!req.done)
			pthread_cond_wait(&req.cond, &req.mtx);
	}
	pthread_cond_destroy(&req.cond);
	pthread_mutex_destroy(&req.mtx);
	for (unsigned int i = 0; i < n; i++)
		if (shadows[i])
			shadows[i]->sendlog_followed = false;
}

void bgpd_ha_sendlogs_init(void)
{
	struct frr_pthread_attr attr = {
		.start = frr_pthread_attr_default.start,
		.stop = frr_pthread_attr_default.stop,
	};

	sendlogs = frr_pthread_new(&attr, "frr-ha send logs", "bgpd_ha_sendlog");
}

/* After every shadow is freed (bgpd_ha_shadow_fini). */
void bgpd_ha_sendlogs_fini(void)
{
	if (!sendlogs)
		return;
	if (sendlogs_started)
		frr_pthread_stop(sendlogs, NULL);
	sendlogs_started = false;
	frr_pthread_destroy(sendlogs);
	sendlogs = NULL;
}
