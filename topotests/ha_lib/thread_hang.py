#!/usr/bin/env python3
"""
A hung main thread, as a deadlock or an endless loop in bgpd would leave it:
the process's main thread stops while its other threads (bgpd's I/O pthread,
the module's) run on. SIGSTOP cannot do that (it stops every thread), so the
thread is seized with ptrace and interrupted, which stops that thread alone,
then let go after the given time.

Run in the RP's namespace: `thread_hang.py PID SECONDS READY_FILE`; the
ready file is written once the thread is stopped. hang_main_thread() starts
it in the background from a test.
"""
import ctypes
import os
import sys
import time

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000  # __WALL: wait for a thread, not only a child process


def _ptrace(libc, request, tid):
    if libc.ptrace(request, tid, None, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"ptrace({request:#x}, {tid}): {os.strerror(err)}")


def hang(pid, seconds, ready_file):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    _ptrace(libc, PTRACE_SEIZE, pid)  # the main thread's id is the process's
    _ptrace(libc, PTRACE_INTERRUPT, pid)
    _, status = os.waitpid(pid, WALL)
    if not os.WIFSTOPPED(status):
        raise SystemExit(f"thread {pid} did not stop: status {status:#x}")
    with open(ready_file, "w") as f:
        f.write(f"{time.time()}\n")
    # A tracer holds a killed tracee's exit until it waits for it: wait
    # meanwhile, so that a fence's kill ends the process as it would end a
    # hung one that no tracer holds.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got, status = os.waitpid(pid, WALL | os.WNOHANG)
        if got and (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
            print(f"thread {pid} ended while stopped: status {status:#x}")
            return
        time.sleep(0.01)
    _ptrace(libc, PTRACE_DETACH, pid)


def hang_main_thread(router, pid, seconds, ready_file):
    """Stops pid's main thread alone for `seconds`, in router's namespace;
    returns once it is stopped."""
    router.cmd(f"rm -f {ready_file}; /usr/bin/python3 {os.path.abspath(__file__)} "
               f"{pid} {seconds} {ready_file} > {ready_file}.log 2>&1 &")
    for _ in range(50):
        if os.path.exists(ready_file):
            return
        time.sleep(0.1)
    raise AssertionError(f"the main thread of {pid} did not stop: "
                         f"{router.cmd(f'cat {ready_file}.log')}")


if __name__ == "__main__":
    hang(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3])
