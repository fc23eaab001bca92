"""The route feed (BIRD) and the peers: one gobgpd with N sessions (it stores
every path it receives), or BIRD processes with one protocol per session and
`import none` (they store nothing, so a load measures r1, not the peers)."""
import json
import os
import socket
import subprocess
import threading
import time

from .common import (
    FEED_AS,
    GOBGP_API,
    HOLD,
    KEEPALIVE,
    NS_FEED,
    NS_PEERS,
    PEER_AS,
    R1_AS,
    STATE,
    feed_addrs,
    kill_pid,
    peer_addr,
    prefix,
    r1_addr,
    r1_side,
    sh,
    track,
    wait,
    write,
)

# --------------------------------------------------------------------------- speakers

CHURN_PREFIXES = 1000

def start_feed(af, prefixes, table_conf=None):
    """BIRD sending r1 `prefixes` host routes with one attribute set, or,
    with `table_conf`, the static protocol `feed` of that file (a generated
    table: table.write_bird_static)."""
    d = f"{STATE}/feed"
    os.makedirs(d, exist_ok=True)
    r1, me, _ = feed_addrs(af)
    chan = "ipv4" if af == 4 else "ipv6"
    with open(f"{d}/bird.conf", "w") as f:
        f.write("router id 192.0.2.200;\nprotocol device { }\n")
        if table_conf:
            f.write(f'include "{table_conf}";\n')
        else:
            f.write(f"protocol static feed {{ {chan};\n")
            for i in range(prefixes):
                f.write(f"  route {prefix(af, i)} blackhole;\n")
            f.write("}\n")
        if af == 4:
            # churn: host routes of their own that ha-dual switches on and
            # off around each death (Churn in cases.py); off otherwise
            f.write(f"protocol static churn {{ {chan}; disabled yes;\n")
            for i in range(CHURN_PREFIXES):
                f.write(f"  route 11.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 blackhole;\n")
            f.write("}\n")
        # r1: the session on the feed's link (every case but ha-dual);
        # r1svc: on the LAN, with the pair's service address (ha-dual),
        # enabled by feed_session() for the cases that use it
        sessions = [("r1", r1, me, False)]
        if af == 4:
            svc, me_lan, _ = feed_addrs(af, dual=True)
            sessions.append(("r1svc", svc, me_lan, True))
        for name, r1_ip, my_ip, disabled in sessions:
            f.write(f"protocol bgp {name} {{\n  local {my_ip} as {FEED_AS};\n"
                    f"  neighbor {r1_ip} as {R1_AS};\n  disabled {'yes' if disabled else 'no'};\n"
                    f"  hold time {HOLD}; keepalive time {KEEPALIVE}; connect retry time 1;\n"
                    f"  error wait time 1, 5;\n  graceful restart on;\n"
                    f"  {chan} {{ import none; export where source = RTS_STATIC; }};\n}}\n")
    p = subprocess.Popen(["ip", "netns", "exec", NS_FEED, "bird", "-f", "-c", f"{d}/bird.conf",
                          "-s", f"{d}/bird.ctl"], stdout=subprocess.DEVNULL,
                         stderr=open(f"{d}/bird.err", "w"))
    track("bird", p.pid)
    return p


def birdc(cmd):
    return sh(f"birdc -s {STATE}/feed/bird.ctl {cmd}", ns=NS_FEED, check=False)


def feed_session(dual):
    """The feed's session for a case: on the LAN with the service address
    (ha-dual), or on its link to rp a's host."""
    wait("the feed's BIRD answers", lambda: "Daemon is up" in birdc("show status"), 30, 0.1)
    birdc(f"{'disable' if dual else 'enable'} r1")
    birdc(f"{'enable' if dual else 'disable'} r1svc")


def bird_query(ctl, cmd, timeout=120):
    """One command on a BIRD control socket, its reply as birdc prints it
    (reply codes taken off). A socket is a file, so no namespace is needed,
    and this costs a millisecond where birdc under `ip netns exec` costs
    tens: the ha-dual case asks a hundred BIRD processes every sample."""
    out = []
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(ctl)
            f = s.makefile("rwb")
            f.readline()  # the greeting
            f.write(cmd.encode() + b"\n")
            f.flush()
            while True:
                line = f.readline().decode(errors="replace")
                if not line:
                    break
                if line[:4].isdigit() and len(line) > 4:
                    if line[4] == " " and not line[5:].strip():
                        break  # the end of the reply
                    out.append(line[5:])
                    if line[4] == " ":
                        break
                else:
                    out.append(line[1:])
    except OSError:
        return ""
    return "".join(out)


def start_gobgp(af, peers, gr, tag, keepalive=KEEPALIVE, hold=HOLD):
    d = f"{STATE}/peers"
    os.makedirs(d, exist_ok=True)
    afi = "ipv4-unicast" if af == 4 else "ipv6-unicast"
    parts = [f'[global.config]\n  as = {PEER_AS}\n  router-id = "192.0.2.100"\n']
    for i in range(peers):
        parts.append(f"""[[neighbors]]
  [neighbors.config]
    neighbor-address = "{r1_addr(af, i)}"
    peer-as = {R1_AS}
  [neighbors.transport.config]
    local-address = "{peer_addr(af, i)}"
    passive-mode = false
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = {hold}
    keepalive-interval = {keepalive}
    idle-hold-time-after-reset = 1
  [neighbors.graceful-restart.config]
    enabled = {str(gr).lower()}
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "{afi}"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = {str(gr).lower()}
""")
    write(f"{d}/gobgpd.toml", "".join(parts))
    p = subprocess.Popen(["ip", "netns", "exec", NS_PEERS, "gobgpd", "-f", f"{d}/gobgpd.toml",
                          "--api-hosts", GOBGP_API, "-l", "warn", "-p", "--pprof-disable"],
                         stdout=open(f"{d}/gobgpd-{tag}.log", "w"), stderr=subprocess.STDOUT)
    track("gobgpd", p.pid)
    return p


def gobgp_neighbors():
    """Every gobgpd neighbor's state, or {} when gobgpd did not answer with a
    list of neighbors (busy, restarting, an error object or text). A busy
    gobgpd may answer with entries of another shape (a string instead of an
    object): such an answer is not a view either."""
    out = sh("gobgp -u 127.0.0.1 -p 50151 neighbor -j", ns=NS_PEERS, check=False)
    try:
        data = json.loads(out)
    except ValueError:
        return {}
    if not isinstance(data, list):  # gobgpd busy or restarting: an error object
        return {}
    view = {}
    try:
        for n in data:
            st = n.get("state", {})
            afs = n.get("afi_safis") or [{}]
            a = afs[0].get("state", {})
            msgs = st.get("messages", {}).get("received", {})
            view[st.get("neighbor_address")] = {
                "state": st.get("session_state"),  # 6 = established
                "accepted": int(a.get("accepted", 0) or 0),
                "updates": int(msgs.get("update", 0) or 0),
                "notifications": int(msgs.get("notification", 0) or 0),
                "flops": int(st.get("flops", 0) or 0),
                "uptime": n.get("timers", {}).get("state", {}).get("uptime", {}).get("seconds"),
            }
    except (AttributeError, TypeError, ValueError, IndexError):
        return {}
    return view


# --------------------------------------------------------------------------- BIRD peers

PEERS_PER_BIRD = 1000  # protocols per BIRD process (one process is one thread)


class BirdPeers:
    """N BGP sessions to r1 from BIRD, one protocol per session (`strict bind
    on`, each from its own address to its own r1 address, so no two
    protocols share a neighbor lock), `import none; export none`: nothing
    received is kept. Sessions are spread over ceil(N / PEERS_PER_BIRD)
    processes. What a peer holds is counted from BIRD's own import
    statistics, reset when the channel comes up: prefixes received in
    updates minus prefixes withdrawn (what a storing peer would hold, as
    long as r1 repeats nothing; the capture counts any repetition). The
    sessions never use graceful restart: a GR helper keeps its channel (and
    its statistics) over a restarted session, so the count would no longer
    say what the peer holds; the GR cases need gobgp peers (run.py refuses
    them with BIRD). A TF session is transparent failover whatever the
    peer's capabilities; one that drops loses its routes here (implicit
    withdrawal), which the figures then show."""

    kind = "bird"

    def __init__(self, af, peers, gr, tag, keepalive=KEEPALIVE, hold=HOLD, dual=False):
        self.af, self.peers = af, peers
        self.procs, self.dirs, self.names = [], [], {}
        self.lock = threading.Lock()
        chan = "ipv4" if af == 4 else "ipv6"
        # ha-dual: every session is with the one service address, and a
        # BIRD process locks a neighbor address for one protocol (with
        # strict bind too): one process per session
        per_bird = 1 if dual else PEERS_PER_BIRD
        nproc = max(1, -(-peers // per_bird))
        for k in range(nproc):
            d = f"{STATE}/peers/bird{k}"
            os.makedirs(d, exist_ok=True)
            # `remote`: a session's errors (a NOTIFICATION sent or received, hold timer)
            c = [f'log "{d}/bird.log" {{ warning, error, fatal, remote }};',
                 "router id 192.0.2.100;",
                 "timeformat protocol iso long ms;", "protocol device { scan time 600; }"]
            for i in range(k * per_bird, min(peers, (k + 1) * per_bird)):
                # keyed by r1's address for the peer, or by the peer's own
                # where r1 has one address for all (ha-dual)
                self.names[f"p{i}"] = peer_addr(af, i) if dual else r1_addr(af, i)
                c += [f"protocol bgp p{i} {{", f"  local {peer_addr(af, i)} as {PEER_AS};",
                      f"  neighbor {r1_side(af, i, dual)} as {R1_AS};",
                      f"  hold time {hold}; keepalive time {keepalive}; connect retry time 1;",
                      "  error wait time 1, 5; strict bind on; graceful restart off;",
                      f"  {chan} {{ import none; export none; }};", "}"]
            write(f"{d}/bird.conf", "\n".join(c) + "\n")
            p = subprocess.Popen(["ip", "netns", "exec", NS_PEERS, "bird", "-f", "-c",
                                  f"{d}/bird.conf", "-s", f"{d}/bird.ctl"],
                                 stdout=subprocess.DEVNULL,
                                 stderr=open(f"{d}/bird-{tag}.err", "w"))
            track("bird", p.pid)
            self.procs.append(p)
            self.dirs.append(d)
        self.pid = self.procs[0].pid

    def stop(self):
        for p in self.procs:
            kill_pid(p.pid)

    def _birdc(self, d, cmd):
        return bird_query(f"{d}/bird.ctl", cmd)

    def session_errors(self, t0, t1):
        """The errors BIRD's sessions logged between t0 and t1 (wall clock):
        [(time, "p0: Error: Hold timer expired"), ...], a lost session each."""
        found = []
        for d in self.dirs:
            try:
                with open(f"{d}/bird.log") as f:
                    lines = f.readlines()
            except OSError:
                continue
            for line in lines:
                tok = line.split(" ", 3)
                if len(tok) < 4 or tok[2] != "<RMT>" or "Error:" not in tok[3]:
                    continue
                try:
                    at = time.mktime(time.strptime(tok[0] + " " + tok[1][:8],
                                                   "%Y-%m-%d %H:%M:%S")) + float(tok[1][8:] or 0)
                except ValueError:
                    continue
                if t0 <= at <= t1:
                    found.append((at, tok[3].strip()))
        return sorted(found)

    def neighbors(self, counts=False):
        """{r1 address: state (6 = Established), since (the time of the
        protocol's last state change: a flap changes it), accepted (with
        counts: prefixes announced minus withdrawn since the channel came
        up), notifications (None: the capture counts them)}."""
        view = {}
        for d in self.dirs:
            out = self._birdc(d, "show protocols all" if counts else "show protocols")
            cur = None
            for line in out.splitlines():
                tok = line.split()
                if len(tok) >= 6 and tok[1] == "BGP" and tok[0] in self.names:
                    cur = {"state": 6 if "Established" in tok[6:7] else 0,
                           "uptime": " ".join(tok[4:6]), "flops": 0, "notifications": None,
                           "accepted": None, "updates": None}
                    view[self.names[tok[0]]] = cur
                elif cur is not None and counts and len(tok) >= 3 and \
                        tok[0] == "Import" and tok[2].isdigit():
                    if tok[1] == "updates:":
                        cur["updates"] = int(tok[2])
                    elif tok[1] == "withdraws:" and cur["updates"] is not None:
                        cur["accepted"] = cur["updates"] - int(tok[2])
            # a channel not up has no statistics: it holds nothing
        for v in view.values():
            if counts and v["accepted"] is None:
                v["accepted"] = 0
        return view if len(view) == self.peers else {}


# --------------------------------------------------------------------------- the peers, either kind

PEERS = {"mode": "gobgp", "current": None}


def set_peers_mode(mode):
    assert mode in ("gobgp", "bird"), mode
    PEERS["mode"] = mode


def peer_session_errors(t0, t1):
    """What the BIRD peers' sessions logged as errors between t0 and t1 (a
    session lost each: hold timer expired, a NOTIFICATION); [] with gobgp."""
    current = PEERS["current"]
    return current.session_errors(t0, t1) if isinstance(current, BirdPeers) else []


def peers_store():
    """True when the peers keep what they receive (gobgpd)."""
    return PEERS["mode"] == "gobgp"


def start_peers(af, peers, gr, tag, keepalive=KEEPALIVE, hold=HOLD, dual=False):
    """The peers of this run (the mode set by set_peers_mode); the handle
    has .pid (stop it with stop_peers). dual: every session with the pair's
    service address (BIRD peers only: one gobgpd has one session per
    neighbor address)."""
    if PEERS["mode"] == "bird":
        PEERS["current"] = BirdPeers(af, peers, gr, tag, keepalive, hold, dual)
        return PEERS["current"]
    if dual:
        raise RuntimeError("ha-dual needs --peers bird (its sessions share one r1 address)")
    PEERS["current"] = None
    return start_gobgp(af, peers, gr, tag, keepalive, hold)


def stop_peers(handle):
    if handle is None:
        return
    if isinstance(handle, BirdPeers):
        handle.stop()
    else:
        kill_pid(handle.pid)


def peer_view(counts=False):
    """{r1 address: {state, accepted, notifications, flops, uptime}} from the
    peers; {} when they did not answer. BIRD peers give `accepted` only with
    counts (a longer query), and no notification counter."""
    if PEERS["mode"] == "bird" and PEERS["current"] is not None:
        return PEERS["current"].neighbors(counts)
    return gobgp_neighbors()


def peers_full(prefixes, peers=None, full_at=None):
    """Whether every peer holds the full table; full_at (a dict), when
    given, gets the time each peer was first seen holding it."""
    v = peer_view(counts=True)
    full = [addr for addr, x in v.items() if x["state"] == 6 and x["accepted"] == prefixes]
    if full_at is not None:
        now = time.time()
        for addr in full:
            full_at.setdefault(addr, now)
    if peers is not None and len(v) != peers:
        return False
    return bool(v) and len(full) == len(v)


def peers_count(count):
    v = peer_view(counts=True)
    if PEERS["mode"] == "bird" and count == 0 and v:
        # a session that is down holds nothing (its counters are gone with it)
        return all(x["state"] != 6 or x["accepted"] == 0 for x in v.values())
    return bool(v) and all(x["accepted"] == count for x in v.values())
