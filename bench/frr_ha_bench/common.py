"""Constants, processes we start (and only those we stop), shell, addresses."""
import os
import signal
import subprocess
import time


STATE = "/tmp/frr-ha-bench"
RUN = "/var/run/frr/bench-r1"
NS_R1, NS_FEED, NS_PEERS = "bench-r1", "bench-feed", "bench-peers"
# ha-dual: rp b on a host of its own, reached over a link of its own
NS_R1B = "bench-r1b"
CHANNEL_A, CHANNEL_B = "10.254.0.1", "10.254.0.2"
# The LAN (a bridge in bench-peers) that both RP hosts, the peers and the
# feed share. In ha-dual every session is on the pair's service address,
# which the active host owns; each host has an address of its own on the
# same subnet (the service address is claimed on that interface).
LAN = "lan"
LAN_PLEN = 12
SERVICE = "172.16.0.10"
HOST_LAN = {"a": "172.16.0.1", "b": "172.16.0.2"}
FEED_LAN = "172.16.0.3"
FRR = "/usr/lib/frr"
GOBGP_API = "127.0.0.1:50151"
R1_AS, FEED_AS, PEER_AS = 65001, 65200, 65100
KEY = "frr-ha-bench-key-0123456789"
KEEPALIVE, HOLD = 3, 10

STARTED = []  # (kind, pid, start time) of every process we started, for cleanup
NAMESPACES = []


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd, check=True, ns=None, timeout=600):
    if ns:
        cmd = f"ip netns exec {ns} {cmd}"
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{cmd}: rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def alive(pid):
    """True while pid runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, TypeError, IndexError):
        return False


def start_time(pid):
    """The process's start time in clock ticks since boot: with the pid, it
    names one process, so a pid the kernel gave to another one is never ours."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, TypeError, IndexError, ValueError):
        return None


def track(kind, pid):
    STARTED.append((kind, pid, start_time(pid)))


def ours(pid):
    """An FRR daemon of this benchmark: started with -N bench-r1 (or
    bench-r1b, rp b's host in the ha-dual case)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
            return NS_R1.encode() in args or NS_R1B.encode() in args
    except (OSError, TypeError):
        return False


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def kill_pid(pid, sig=signal.SIGTERM, wait=5.0):
    if not pid or not alive(pid):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    end = time.time() + wait
    while alive(pid) and time.time() < end:
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


# --------------------------------------------------------------------------- addresses

def r1_addr(af, i):
    return f"172.17.{i >> 8}.{i & 255}" if af == 4 else f"fd00:100::1:{i:x}"


def peer_addr(af, i):
    return f"172.18.{i >> 8}.{i & 255}" if af == 4 else f"fd00:100::2:{i:x}"


def r1_side(af, i, dual=False):
    """The address r1 has for peer i: one of its own per peer, or in
    ha-dual the pair's service address for every peer."""
    return SERVICE if dual else r1_addr(af, i)


def feed_addrs(af, dual=False):
    """(r1's address, the feed's, prefix length) of the feed's session: on
    a link to rp a's host, or in ha-dual on the LAN with the service address."""
    if dual:
        return SERVICE, FEED_LAN, LAN_PLEN
    return ("192.168.30.1", "192.168.30.2", 30) if af == 4 else ("fd00:30::1", "fd00:30::2", 64)


def prefix(af, i):
    if af == 4:
        n = (10 << 24) + i
        return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/32"
    return f"2001:db8:{i >> 16:x}:{i & 0xffff:x}::/64"



def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def wait(desc, cond, timeout, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        r = cond()
        if r:
            return r
        time.sleep(step)
    raise TimeoutError(f"timed out: {desc}")
