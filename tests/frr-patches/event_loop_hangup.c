/*
 * patches/0017: libfrr's event loop forgets a descriptor nothing waits on.
 *
 * A wait that fired leaves its pollfd in the loop's array with no events,
 * and poll() reports POLLHUP whatever the events asked. A descriptor that
 * then stays open but hung up for good (here: a socket whose peer closed;
 * on an frr-ha standby: a shadow session's unconnected stand-in socket)
 * made the loop wake at once on every pass with nothing to run, spinning
 * until its next timer. This waits 500 ms for a timer on such a loop and
 * fails when the wait cost more than half of it in CPU; then it checks that
 * a new wait on the same descriptor still fires.
 */
#include <zebra.h>

#include <time.h>

#include "thread.h"

static bool read_ran, timer_ran, eof_seen;

static void read_one(struct thread *t)
{
	char c;

	if (read(THREAD_FD(t), &c, 1) == 1)
		read_ran = true;
}

static void read_eof(struct thread *t)
{
	char c;

	if (read(THREAD_FD(t), &c, 1) == 0)
		eof_seen = true;
}

static void timer_fired(struct thread *t)
{
	timer_ran = true;
}

static double clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs the loop until *done, or until *or_else when given. */
static void run_until(struct thread_master *m, bool *done, bool *or_else)
{
	struct thread fetched;

	while (!*done && !(or_else && *or_else) && thread_fetch(m, &fetched))
		thread_call(&fetched);
}

int main(void)
{
	struct thread_master *m = thread_master_create("event loop hangup");
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		perror("socketpair");
		return 2;
	}
	/* One wait that fires and is not armed again. */
	thread_add_read(m, read_one, NULL, sv[0], NULL);
	if (write(sv[1], "x", 1) != 1) {
		perror("write");
		return 2;
	}
	run_until(m, &read_ran, NULL);

	/* Hung up for good, still open, nothing waiting on it. */
	close(sv[1]);
	thread_add_timer_msec(m, timer_fired, NULL, 500, NULL);
	double cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID);
	double wall = clock_ms(CLOCK_MONOTONIC);

	run_until(m, &timer_ran, NULL);
	cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu;
	wall = clock_ms(CLOCK_MONOTONIC) - wall;
	printf("waiting %.0f ms for a timer cost %.1f ms of CPU\n", wall, cpu);
	if (cpu > wall / 2) {
		fprintf(stderr,
			"FAIL: the event loop spun on a hung-up descriptor nothing waits on\n");
		return 1;
	}

	/* The descriptor was forgotten, not lost: a new wait on it fires. */
	timer_ran = false;
	thread_add_read(m, read_eof, NULL, sv[0], NULL);
	thread_add_timer_msec(m, timer_fired, NULL, 5000, NULL);
	run_until(m, &eof_seen, &timer_ran);
	if (!eof_seen) {
		fprintf(stderr, "FAIL: a new wait on the descriptor did not fire\n");
		return 1;
	}
	printf("a new wait on the descriptor fired (end of file)\n");
	close(sv[0]);
	return 0;
}
