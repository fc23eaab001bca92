/*
 * patches/0018: cancelling a wait leaves alone a wait another task took
 * over (libfrr keeps one task per descriptor and direction).
 *
 * A read wait's descriptor is closed before the wait is cancelled (on an
 * frr-ha RP: a link the takeover closed while bgpd's I/O pthread still
 * waited on it). The loop polls (POLLNVAL) and drops the pollfd; the
 * number is then reused by a new descriptor with a wait of its own, and
 * only then is the old wait cancelled. libfrr took the pollfd and the
 * array's slot for the old task's, so the new wait was lost for good:
 * never run, its reference left set so that its owner never armed it
 * again. This checks that the new wait still fires, once with a poll
 * between the close and the new wait and once without one; and the same
 * for two tasks waiting on one descriptor (an frr-ha RP parks the reads of
 * many sessions on one that is never ready), the first one cancelled.
 */
#include <zebra.h>

#include "thread.h"

static bool read_ran, timer_ran;

static void read_one(struct thread *t)
{
	char c;

	if (read(THREAD_FD(t), &c, 1) == 1)
		read_ran = true;
}

static void never_runs(struct thread *t)
{
	fprintf(stderr, "FAIL: a wait on a closed descriptor ran\n");
	exit(1);
}

static void timer_fired(struct thread *t)
{
	timer_ran = true;
}

/* Runs the loop until *done, or until *or_else when given. */
static void run_until(struct thread_master *m, bool *done, bool *or_else)
{
	struct thread fetched;

	while (!*done && !(or_else && *or_else) && thread_fetch(m, &fetched))
		thread_call(&fetched);
}

/* One pass of the loop (a 20 ms timer): poll() sees what is closed. */
static void one_pass(struct thread_master *m)
{
	timer_ran = false;
	thread_add_timer_msec(m, timer_fired, NULL, 20, NULL);
	run_until(m, &timer_ran, NULL);
}

/* A byte written to `write_fd`: 0 when the wait `task` then ran (within
 * 2 s), 1 when it did not, 2 when the write failed. */
static int fires_on_write(struct thread_master *m, int write_fd, struct thread **task)
{
	read_ran = timer_ran = false;
	if (write(write_fd, "x", 1) != 1) {
		perror("write");
		return 2;
	}
	thread_add_timer_msec(m, timer_fired, NULL, 2000, NULL);
	run_until(m, &read_ran, &timer_ran);
	return read_ran && !*task ? 0 : 1;
}

/* 0: the new wait fired; 1: it was lost; 2: the check could not be made. */
static int old_wait_cancelled_after_reuse(struct thread_master *m, bool poll_between)
{
	struct thread *t_old = NULL, *t_new = NULL;
	int old_pipe[2], new_pipe[2], rc;

	if (pipe(old_pipe) != 0) {
		perror("pipe");
		return 2;
	}
	thread_add_read(m, never_runs, NULL, old_pipe[0], &t_old);
	one_pass(m);
	close(old_pipe[0]);
	if (poll_between)
		one_pass(m);

	/* The lowest free number: the one just closed. */
	if (pipe(new_pipe) != 0) {
		perror("pipe");
		return 2;
	}
	if (new_pipe[0] != THREAD_FD(t_old)) {
		fprintf(stderr, "the descriptor number was not reused (%d, %d)\n",
			new_pipe[0], THREAD_FD(t_old));
		return 2;
	}
	thread_add_read(m, read_one, NULL, new_pipe[0], &t_new);
	THREAD_OFF(t_old);

	rc = fires_on_write(m, new_pipe[1], &t_new);
	if (rc == 2)
		return rc;
	printf("%s: the new wait %s\n",
	       poll_between ? "closed, polled, reused" : "closed and reused",
	       rc == 0 ? "fired" : "was lost");
	THREAD_OFF(t_new);
	close(old_pipe[1]);
	close(new_pipe[0]);
	close(new_pipe[1]);
	return rc;
}

/* 0: the later wait fired; 1: it was lost; 2: the check could not be made. */
static int earlier_wait_on_a_shared_descriptor_cancelled(struct thread_master *m)
{
	struct thread *t_first = NULL, *t_later = NULL;
	int shared[2], rc;

	if (pipe(shared) != 0) {
		perror("pipe");
		return 2;
	}
	thread_add_read(m, never_runs, NULL, shared[0], &t_first);
	thread_add_read(m, read_one, NULL, shared[0], &t_later);
	THREAD_OFF(t_first);

	rc = fires_on_write(m, shared[1], &t_later);
	if (rc == 2)
		return rc;
	printf("one descriptor, two waits, the first cancelled: the later wait %s\n",
	       rc == 0 ? "fired" : "was lost");
	THREAD_OFF(t_later);
	close(shared[0]);
	close(shared[1]);
	return rc;
}

int main(void)
{
	struct thread_master *m = thread_master_create("event loop reuse");
	int polled = old_wait_cancelled_after_reuse(m, true);
	int unpolled = old_wait_cancelled_after_reuse(m, false);
	int shared = earlier_wait_on_a_shared_descriptor_cancelled(m);

	if (polled == 2 || unpolled == 2 || shared == 2)
		return 2;
	if (polled || unpolled || shared) {
		fprintf(stderr,
			"FAIL: cancelling a wait lost another task's wait on the same descriptor\n");
		return 1;
	}
	return 0;
}
