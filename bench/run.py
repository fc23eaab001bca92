#!/usr/bin/python3
"""
frr-ha benchmark: switchover time, peer impact, replication cost and standby
cost, side by side with stock FRR, in network namespaces on this host.

Topology (per size):

    bench-feed  (BIRD: static protocol with P generated prefixes, one eBGP
                 session to r1, graceful restart on)
        |
    bench-r1    (zebra + either the frr-ha pair, rp a and rp b, or one stock bgpd)
        |
    bench-peers (one gobgpd holding N eBGP sessions to r1, one address each,
                 graceful-restart helper; the wire is captured here with dumpcap)

r1 passes the feed's table to every peer.  Cases, for the same topology and load:
  ha-tf     frr-ha pair, peers in transparent-failover mode, kill -9 of the active
  ha-gr     frr-ha pair, peers in graceful-restart mode, kill -9 of the active
  stock-gr  stock bgpd (no -M ha) with graceful restart, kill -9 and restart at once
  stock     stock bgpd without graceful restart, kill -9 and restart at once

Run as root with Debian's python3:  sudo /usr/bin/python3 bench/run.py  [--full]
"""
import argparse
import datetime
import ipaddress
import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import threading
import time

STATE = "/tmp/frr-ha-bench"
RUN = "/var/run/frr/bench-r1"
NS_R1, NS_FEED, NS_PEERS = "bench-r1", "bench-feed", "bench-peers"
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
    """An FRR daemon of this benchmark: started with -N bench-r1."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return NS_R1.encode() in f.read().split(b"\0")
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


def feed_addrs(af):
    return ("172.30.0.1", "172.30.0.2", 30) if af == 4 else ("fd00:30::1", "fd00:30::2", 64)


def prefix(af, i):
    if af == 4:
        n = (10 << 24) + i
        return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/32"
    return f"2001:db8:{i >> 16:x}:{i & 0xffff:x}::/64"


# --------------------------------------------------------------------------- topology

def build_topology(af, peers):
    for ns in (NS_R1, NS_FEED, NS_PEERS):
        sh(f"ip netns del {ns}", check=False)
        sh(f"ip netns add {ns}")
        NAMESPACES.append(ns)
        sh("ip link set lo up", ns=ns)
    sh(f"ip link add r1-feed netns {NS_R1} type veth peer name feed-r1 netns {NS_FEED}")
    sh(f"ip link add r1-peers netns {NS_R1} type veth peer name peers-r1 netns {NS_PEERS}")
    a, b, plen = feed_addrs(af)
    fam = "-6" if af == 6 else "-4"
    sh(f"ip {fam} addr add {a}/{plen} dev r1-feed nodad" if af == 6 else
       f"ip addr add {a}/{plen} dev r1-feed", ns=NS_R1)
    sh(f"ip {fam} addr add {b}/{plen} dev feed-r1 nodad" if af == 6 else
       f"ip addr add {b}/{plen} dev feed-r1", ns=NS_FEED)
    plen = 12 if af == 4 else 64
    extra = " nodad" if af == 6 else ""
    for ns, dev, fn in ((NS_R1, "r1-peers", r1_addr), (NS_PEERS, "peers-r1", peer_addr)):
        batch = f"{STATE}/addr-{ns}.batch"
        with open(batch, "w") as f:
            for i in range(peers):
                f.write(f"addr add {fn(af, i)}/{plen} dev {dev}{extra}\n")
        sh(f"ip -batch {batch}", ns=ns)
    for ns, dev in ((NS_R1, "r1-feed"), (NS_R1, "r1-peers"), (NS_FEED, "feed-r1"),
                    (NS_PEERS, "peers-r1")):
        sh(f"ip link set {dev} up", ns=ns)
    # the peers reach r1's addresses on the link; the feed needs no route
    time.sleep(0.5)


def teardown_topology():
    for ns in list(NAMESPACES):
        sh(f"ip netns del {ns}", check=False)
        NAMESPACES.remove(ns)


# --------------------------------------------------------------------------- speakers

def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def start_feed(af, prefixes):
    d = f"{STATE}/feed"
    os.makedirs(d, exist_ok=True)
    r1, me, _ = feed_addrs(af)
    chan = "ipv4" if af == 4 else "ipv6"
    with open(f"{d}/bird.conf", "w") as f:
        f.write(f"router id 192.0.2.200;\nprotocol device {{ }}\n"
                f"protocol static feed {{ {chan};\n")
        for i in range(prefixes):
            f.write(f"  route {prefix(af, i)} blackhole;\n")
        f.write("}\n")
        f.write(f"protocol bgp r1 {{\n  local {me} as {FEED_AS};\n  neighbor {r1} as {R1_AS};\n"
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


def start_peers(af, peers, gr, tag):
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
    hold-time = {HOLD}
    keepalive-interval = {KEEPALIVE}
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
    out = sh("gobgp -u 127.0.0.1 -p 50151 neighbor -j", ns=NS_PEERS, check=False)
    try:
        data = json.loads(out)
    except ValueError:
        return {}
    view = {}
    for n in data or []:
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
    return view


def peers_full(prefixes):
    v = gobgp_neighbors()
    return bool(v) and all(x["state"] == 6 and x["accepted"] == prefixes for x in v.values())


def peers_count(count):
    v = gobgp_neighbors()
    return bool(v) and all(x["accepted"] == count for x in v.values())


def wait(desc, cond, timeout, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        r = cond()
        if r:
            return r
        time.sleep(step)
    raise TimeoutError(f"timed out: {desc}")


# --------------------------------------------------------------------------- r1 (FRR)

def r1_conf(af, peers, case, logfile):
    ha = case.startswith("ha")
    gr = case in ("ha-tf", "ha-gr", "stock-gr")
    feed_r1, feed, _ = feed_addrs(af)
    fam = "ipv4" if af == 4 else "ipv6"
    c = [f"log file {logfile}", "log timestamp precision 3", f"router bgp {R1_AS}", " bgp router-id 192.0.2.1",
         " no bgp ebgp-requires-policy", " no bgp network import-check",
         " no bgp default ipv4-unicast"]
    c += [" bgp graceful-restart", " bgp graceful-restart preserve-fw-state"] if gr else \
         [" bgp graceful-restart-disable"]
    c += [f" neighbor {feed} remote-as {FEED_AS}", f" neighbor {feed} passive",
          f" neighbor {feed} timers {KEEPALIVE} {HOLD}",
          " neighbor PEERS peer-group", f" neighbor PEERS remote-as {PEER_AS}",
          f" neighbor PEERS timers {KEEPALIVE} {HOLD}",
          " neighbor PEERS timers connect 1"]
    for i in range(peers):
        c += [f" neighbor {peer_addr(af, i)} peer-group PEERS",
              f" neighbor {peer_addr(af, i)} update-source {r1_addr(af, i)}"]
    c += [f" address-family {fam} unicast", f"  neighbor {feed} activate",
          f"  neighbor {feed} route-map BENCH-NONE out", "  neighbor PEERS activate",
          " exit-address-family"]
    if ha:
        mode = "transparent" if case == "ha-tf" else "graceful-restart"
        c += [f" bgp ha rp a address unix {RUN}/bgpd-ha-a.sock priority 200",
              f" bgp ha rp b address unix {RUN}/bgpd-ha-b.sock",
              f" bgp ha key {KEY}", " bgp ha heartbeat interval 300 multiplier 5",
              f" neighbor {feed} ha failover-mode transparent"]
        c += [f" neighbor {peer_addr(af, i)} ha failover-mode {mode}" for i in range(peers)]
    c += ["exit", "route-map BENCH-NONE deny 10", ""]
    return "\n".join(c)


class R1:
    """zebra plus either the HA pair (rp a, rp b) or one stock bgpd."""

    def __init__(self, af, peers, prefixes, case):
        self.af, self.peers, self.prefixes, self.case = af, peers, prefixes, case
        self.ha = case.startswith("ha")
        os.makedirs(f"{STATE}/r1", exist_ok=True)
        for rp in (("a", "b") if self.ha else (None,)):
            write(self.conf(rp), r1_conf(af, peers, case, self.logfile(rp)))
        write(f"{STATE}/r1/zebra.conf", "ip forwarding\nipv6 forwarding\n")
        sh(f"install -d -o frr -g frr {RUN}")
        sh(f"chown -R frr:frr {STATE}/r1")
        self.zebra_pid = None

    def start_zebra(self):
        mod = "-M ha" if self.ha else ""
        sh(f"{FRR}/zebra -d -N {NS_R1} {mod} -f {STATE}/r1/zebra.conf -i {RUN}/zebra.pid "
           f"--log file:{STATE}/r1/zebra-{self.case}.log", ns=NS_R1)
        self.zebra_pid = wait("zebra pid", lambda: read_pid(f"{RUN}/zebra.pid")
                              if ours(read_pid(f"{RUN}/zebra.pid")) else None, 10)
        track("zebra", self.zebra_pid)
        time.sleep(0.3)

    # one bgpd: rp NAME of the pair, or the stock bgpd (rp=None)
    def pidfile(self, rp):
        return f"{RUN}/ha-{rp}/bgpd.pid" if rp else f"{RUN}/bgpd.pid"

    def conf(self, rp):
        return f"{STATE}/r1/bgpd-{self.case}-{rp or 'stock'}.conf"

    def logfile(self, rp):
        return f"{STATE}/r1/bgpd-{self.case}-{rp or 'stock'}.log"

    def start_bgpd(self, rp=None):
        pf = self.pidfile(rp)
        if os.path.exists(pf):
            os.unlink(pf)
        if rp:
            d = f"{RUN}/ha-{rp}"
            sh(f"install -d -o frr -g frr {d}")
            args = f"-M ha:{rp} --vty_socket {d} -i {pf} -P 0"
        else:
            args = f"-i {pf}"
        sh(f"{FRR}/bgpd -d -N {NS_R1} {args} -f {self.conf(rp)}", ns=NS_R1)
        pid = wait(f"bgpd {rp} pid", lambda: self.pid(rp), 15)
        track("bgpd", pid)
        return pid

    def pid(self, rp=None):
        p = read_pid(self.pidfile(rp))
        return p if alive(p) and ours(p) else None

    def vty(self, cmd, rp=None):
        if rp:
            return sh(f"vtysh -d bgpd --vty_socket {RUN}/ha-{rp} -c '{cmd}'", ns=NS_R1,
                      check=False)
        return sh(f"vtysh -N {NS_R1} -d bgpd -c '{cmd}'", ns=NS_R1, check=False)

    def ha_json(self, rp):
        try:
            return json.loads(self.vty("show bgp ha json", rp))
        except ValueError:
            return {}

    def stop(self):
        for rp in (("b", "a") if self.ha else (None,)):
            kill_pid(self.pid(rp))
        kill_pid(self.zebra_pid)

    # the HA pair's state
    def in_step(self, active, standby):
        a, s = self.ha_json(active), self.ha_json(standby)
        if a.get("role") != "active" or s.get("role") != "standby" or not s.get("ready"):
            return False
        na, ns = a.get("neighbors", {}), s.get("neighbors", {})
        if len(na) != self.peers + 1:
            return False
        for n in na.values():
            if n.get("session", {}).get("stream") != "mirroring":
                return False
        for n in ns.values():
            t = n.get("session", {})
            if t.get("stream") != "shadow":
                return False
            # a TF session is in step when the standby's FSM has sent (to
            # nowhere) what the peer holds; a GR session is not continued
            if n.get("switchoverMode") == "transparent" and \
               t.get("shadowSentPrefixes") != t.get("peerHoldsPrefixes"):
                return False
        return len(ns) == len(na)


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def r1_bytes_from_feed(af):
    """tcpi_bytes_received of r1's connection to the feed (ss -ti)."""
    _, feed, _ = feed_addrs(af)
    out = sh("ss -tin state established", ns=NS_R1, check=False)
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if feed in line and i + 1 < len(lines):
            m = re.search(r"bytes_received:(\d+)", lines[i + 1])
            if m:
                return int(m.group(1))
    return 0


# --------------------------------------------------------------------------- wire

class Capture:
    def __init__(self, name):
        self.path = f"{STATE}/{name}.pcap"
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.p = subprocess.Popen(["ip", "netns", "exec", NS_PEERS, "dumpcap", "-q", "-P",
                                   "-i", "peers-r1", "-f", "tcp port 179", "-w", self.path],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        track("dumpcap", self.p.pid)
        wait("dumpcap starts", lambda: os.path.exists(self.path), 10)
        time.sleep(0.3)

    def stop(self):
        time.sleep(0.3)
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=30)


def pcap_packets(path):
    """(time, src, sport, dst, dport, flags, seq, payload) of each TCP packet."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    link = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        ts, tfrac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = ts + tfrac / (1e9 if nano else 1e6)
        if link == 1:
            etype = struct.unpack(">H", pkt[12:14])[0]
            ip = pkt[14:]
        elif link == 113:  # Linux cooked
            etype = struct.unpack(">H", pkt[14:16])[0]
            ip = pkt[16:]
        else:
            continue
        if etype == 0x0800:
            ihl = (ip[0] & 15) * 4
            if ip[9] != 6:
                continue
            tot = struct.unpack(">H", ip[2:4])[0]
            src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
            tcp = ip[ihl:tot]
        elif etype == 0x86dd:
            if ip[6] != 6:
                continue
            plen = struct.unpack(">H", ip[4:6])[0]
            src, dst = ip[8:24].hex(), ip[24:40].hex()
            tcp = ip[40:40 + plen]
        else:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        flags = tcp[13]
        yield t, src, sport, dst, dport, flags, seq, tcp[doff:]


def count_prefixes(buf):
    n, i = 0, 0
    while i < len(buf):
        i += 1 + (buf[i] + 7) // 8
        n += 1
    return n


def parse_update(msg):
    """(withdrawn, announced, end_of_rib) prefix counts of one UPDATE body."""
    wl = struct.unpack(">H", msg[:2])[0]
    withdrawn = count_prefixes(msg[2:2 + wl])
    al = struct.unpack(">H", msg[2 + wl:4 + wl])[0]
    attrs = msg[4 + wl:4 + wl + al]
    announced = count_prefixes(msg[4 + wl + al:])
    i, mp = 0, False
    while i < len(attrs):
        flags, code = attrs[i], attrs[i + 1]
        if flags & 0x10:
            ln, hl = struct.unpack(">H", attrs[i + 2:i + 4])[0], 4
        else:
            ln, hl = attrs[i + 2], 3
        body = attrs[i + hl:i + hl + ln]
        if code == 14:  # MP_REACH_NLRI
            nhl = body[3]
            announced += count_prefixes(body[5 + nhl:])
            mp = True
        elif code == 15:  # MP_UNREACH_NLRI
            w = count_prefixes(body[3:])
            withdrawn += w
            mp = mp or w > 0
        i += hl + ln
    eor = withdrawn == 0 and announced == 0 and (al == 0 or (not mp and al <= 6) or
                                                 (len(attrs) == 6 and attrs[1] == 15))
    return withdrawn, announced, eor


def analyse_wire(path, t_kill, r1_addresses):
    """What r1 sent to the peers after t_kill: per session (r1 address, peer
    address), first byte time, FIN/RST, messages by type, prefixes."""
    streams = {}
    for t, src, sport, dst, dport, flags, seq, payload in pcap_packets(path):
        if src not in r1_addresses:
            continue  # only r1 -> peers
        key = (src, dst, dport)
        s = streams.setdefault(key, {"segs": {}, "fin": 0, "rst": 0, "syn": 0, "base": seq})
        if flags & 0x01:
            s["fin"] += t >= t_kill
        if flags & 0x04:
            s["rst"] += t >= t_kill
        if flags & 0x02:
            s["syn"] += 1
            s["isn"] = seq + 1
        if payload:
            s["segs"].setdefault(seq, (t, payload))
    sessions = {}
    for (src, dst, dport), s in streams.items():
        peer = (src, dst)
        agg = sessions.setdefault(peer, {"first_byte": None, "fin": 0, "rst": 0, "connections": 0,
                                         "updates": 0, "notifications": 0, "opens": 0,
                                         "withdrawn": 0, "announced": 0, "eor": 0,
                                         "last_update": None})
        agg["fin"] += s["fin"]
        agg["rst"] += s["rst"]
        agg["connections"] += 1 if s["syn"] else 0
        base = s.get("isn", s["base"])
        segs = sorted(s["segs"].items(), key=lambda kv: (kv[0] - base) % (1 << 32))
        data, times, expect = bytearray(), [], None
        for seq, (t, payload) in segs:
            if expect is not None and (seq - expect) % (1 << 32) > (1 << 31):
                cut = (expect - seq) % (1 << 32)  # overlap: a retransmission
                payload, seq = payload[cut:], expect
                if not payload:
                    continue
            times.append((len(data), t))
            data += payload
            expect = (seq + len(payload)) % (1 << 32)
            if t >= t_kill and (agg["first_byte"] is None or t < agg["first_byte"]):
                agg["first_byte"] = t
        start = data.find(b"\xff" * 16)
        i, ti = max(start, 0), 0
        while start >= 0 and i + 19 <= len(data):
            ln, typ = struct.unpack(">HB", data[i + 16:i + 19])
            if ln < 19 or i + ln > len(data):
                break
            while ti + 1 < len(times) and times[ti + 1][0] <= i:
                ti += 1
            t = times[ti][1] if times else 0
            if t >= t_kill:
                if typ == 1:
                    agg["opens"] += 1
                elif typ == 3:
                    agg["notifications"] += 1
                elif typ == 2:
                    agg["updates"] += 1
                    w, a, eor = parse_update(bytes(data[i + 19:i + ln]))
                    agg["withdrawn"] += w
                    agg["announced"] += a
                    agg["eor"] += eor
                    agg["last_update"] = max(agg["last_update"] or 0, t)
            i += ln
    return sessions


# --------------------------------------------------------------------------- one switchover

class Sampler(threading.Thread):
    """Samples every peer's session state and prefixes held, every 0.2 s."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_flag = threading.Event()
        self.min_held, self.down = {}, set()

    def run(self):
        while not self.stop_flag.is_set():
            for n, v in gobgp_neighbors().items():
                self.min_held[n] = min(self.min_held.get(n, v["accepted"]), v["accepted"])
                if v["state"] != 6:
                    self.down.add(n)
            self.stop_flag.wait(0.2)

    def stop(self):
        self.stop_flag.set()
        self.join(5)


def log_time(path, pattern, after):
    """Wall-clock time of the first log line matching pattern at or after `after`."""
    rx = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+) .*" + pattern)
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = rx.search(line)
                if m:
                    t = datetime.datetime.strptime(m.group(1), "%Y/%m/%d %H:%M:%S.%f").timestamp()
                    if t >= after - 0.002:
                        return t, line.strip()
    except OSError:
        pass
    return None, None


def switchover(r1, run_no, active=None, standby=None):
    """kill -9 of the active (HA) or of the stock bgpd, restarted at once;
    returns the figures of this switchover."""
    case, prefixes = r1.case, r1.prefixes
    before = gobgp_neighbors()
    cap = Capture(f"{case}-{run_no}")
    sampler = Sampler()
    sampler.start()
    time.sleep(0.5)
    pid = r1.pid(active)
    t_kill = time.time()
    os.kill(pid, signal.SIGKILL)
    res = {"case": case}
    if r1.ha:
        wait("new active", lambda: r1.ha_json(standby).get("role") == "active", 30, 0.05)
    else:
        while alive(pid):
            time.sleep(0.005)
        t_restart = time.time()
        r1.start_bgpd(None)
        res["restart_delay_ms"] = (t_restart - t_kill) * 1000
    # settle: the peers hold the full table, every session up, then a quiet period
    if case == "ha-tf":
        time.sleep(KEEPALIVE + 1.5)  # every TF session's next keepalive is on the wire
    wait("peers converge", lambda: peers_full(prefixes), 600, 0.2)
    if case != "ha-tf":
        time.sleep(2.0)
    sampler.stop()
    cap.stop()
    after = gobgp_neighbors()
    r1_set = {r1_addr(r1.af, i) if r1.af == 4 else
              ipaddress.ip_address(r1_addr(r1.af, i)).packed.hex() for i in range(r1.peers)}
    wire = analyse_wire(cap.path, t_kill, r1_set)
    if r1.ha:
        t_cont, line = log_time(r1.logfile(standby), r"shadow sessions continued in", t_kill)
        res["takeover_ms"] = (t_cont - t_kill) * 1000 if t_cont else None
        m = re.search(r"(\d+) of (\d+) shadow sessions continued in (\d+) ms", line or "")
        res["continued_ms"] = int(m.group(3)) if m else None
        res["continued"] = f"{m.group(1)}/{m.group(2)}" if m else "?"
    firsts = [s["first_byte"] for s in wire.values() if s["first_byte"]]
    res["first_byte_last_ms"] = (max(firsts) - t_kill) * 1000 if len(firsts) == len(before) \
        else None
    lasts = [s["last_update"] for s in wire.values() if s["last_update"]]
    res["converged_ms"] = (max(lasts) - t_kill) * 1000 if lasts else 0.0
    flaps = 0
    for n, b in before.items():
        a = after.get(n, {})
        if n in sampler.down or a.get("uptime") != b.get("uptime") or \
           a.get("flops", 0) != b.get("flops", 0):
            flaps += 1
    res["flaps"] = flaps
    res["notifications"] = sum(after.get(n, {}).get("notifications", 0) - b["notifications"]
                               for n, b in before.items())
    res["notifications_wire"] = sum(s["notifications"] for s in wire.values())
    res["fin_rst"] = sum(s["fin"] + s["rst"] for s in wire.values())
    res["updates"] = sum(s["updates"] for s in wire.values())
    res["withdrawn_wire"] = sum(s["withdrawn"] for s in wire.values())
    res["reannounced"] = sum(s["announced"] for s in wire.values())
    res["lost_at_peers"] = sum(b["accepted"] - sampler.min_held.get(n, b["accepted"])
                               for n, b in before.items())
    os.unlink(cap.path)
    return res


# --------------------------------------------------------------------------- cases

def mirrored(r1, standby):
    """Bytes the standby got through the sessions' input links (its
    bytesMirrored, summed over the sessions it shadows)."""
    if not standby:
        return 0
    return sum(n.get("session", {}).get("bytesMirrored", 0)
               for n in r1.ha_json(standby).get("neighbors", {}).values())


def load_table(r1, pid, standby=None):
    """Withdraws the feed's table (static protocol off), then announces it
    again; returns (seconds until every peer holds it, CPU seconds of pid,
    bytes mirrored to the standby, bytes r1 received from the feed)."""
    birdc("disable feed")
    wait("peers empty", lambda: peers_count(0), 600, 0.2)
    time.sleep(1.0)
    cpu0, w0, b0 = proc_cpu(pid), mirrored(r1, standby), r1_bytes_from_feed(r1.af)
    t0 = time.time()
    birdc("enable feed")
    wait("peers full", lambda: peers_full(r1.prefixes), 900, 0.05)
    t1 = time.time()
    cpu1 = proc_cpu(pid)
    if standby:
        wait("standby in step", lambda: r1.in_step(r1.active_rp, standby), 600, 0.2)
    return (t1 - t0, cpu1 - cpu0, mirrored(r1, standby) - w0,
            r1_bytes_from_feed(r1.af) - b0)


def run_ha_case(af, peers, prefixes, case, repeats, conv_repeats, out):
    r1 = R1(af, peers, prefixes, case)
    r1.start_zebra()
    r1.start_bgpd("a")
    r1.start_bgpd("b")
    active, standby = "a", "b"
    wait("peers full", lambda: peers_full(prefixes), 900, 0.5)
    wait("standby in step", lambda: r1.in_step(active, standby), 600, 0.5)
    if case == "ha-tf":
        # replication cost and standby cost, in the same run, alternating
        conv = {"with": [], "without": []}
        for k in range(conv_repeats):
            for attached in ((True, False) if k % 2 == 0 else (False, True)):
                if attached:
                    wait("standby in step", lambda: r1.in_step(active, standby), 600, 0.2)
                    r1.active_rp = active
                    conv["with"].append(load_table(r1, r1.pid(active), standby))
                    wait("standby in step", lambda: r1.in_step(active, standby), 600, 0.2)
                else:
                    kill_pid(r1.pid(standby), signal.SIGKILL)
                    time.sleep(1.0)
                    conv["without"].append(load_table(r1, r1.pid(active)))
                    r1.start_bgpd(standby)
        out["conv"] = conv
        wait("standby in step", lambda: r1.in_step(active, standby), 600, 0.2)
        out["rss_active"] = proc_rss_mib(r1.pid(active))
        out["rss_standby"] = proc_rss_mib(r1.pid(standby))
        # a standby joining from scratch: start to ready, and to in step
        rejoin = []
        for _ in range(max(1, conv_repeats)):
            kill_pid(r1.pid(standby), signal.SIGKILL)
            time.sleep(1.0)
            t0 = time.time()
            r1.start_bgpd(standby)
            wait("ready", lambda: r1.ha_json(standby).get("ready"), 600, 0.05)
            t1 = time.time()
            wait("in step", lambda: r1.in_step(active, standby), 600, 0.05)
            rejoin.append((t1 - t0, time.time() - t0))
        out["rejoin"] = rejoin
    runs = []
    for k in range(repeats):
        wait("standby in step", lambda: r1.in_step(active, standby), 600, 0.2)
        log(f"  {case} switchover {k + 1}/{repeats} (rp {active} killed)")
        runs.append(switchover(r1, k, active, standby))
        log(f"    {runs[-1]}")
        r1.start_bgpd(active)  # the old active rejoins as standby
        active, standby = standby, active
    r1.stop()
    return runs


def run_stock_case(af, peers, prefixes, case, repeats, out):
    r1 = R1(af, peers, prefixes, case)
    r1.start_zebra()
    r1.start_bgpd(None)
    wait("peers full", lambda: peers_full(prefixes), 900, 0.5)
    runs = []
    for k in range(repeats):
        time.sleep(1.0)
        log(f"  {case} restart {k + 1}/{repeats}")
        runs.append(switchover(r1, k))
        log(f"    {runs[-1]}")
    if case == "stock":
        # how long stock FRR takes to learn the table from its peers, from its start
        learn = []
        for _ in range(2):
            kill_pid(r1.pid(None), signal.SIGKILL)
            wait("peers notice", lambda: not peers_full(prefixes), 60, 0.1)
            wait("peers empty", lambda: peers_count(0), 120, 0.1)
            t0 = time.time()
            r1.start_bgpd(None)

            def have_table():
                try:
                    s = json.loads(r1.vty(f"show bgp {'ipv4' if af == 4 else 'ipv6'} unicast "
                                          "summary json"))
                    _, feed, _ = feed_addrs(af)
                    return s["peers"][feed]["pfxRcd"] == prefixes
                except (ValueError, KeyError):
                    return False
            wait("r1 learns the table", have_table, 900, 0.05)
            t1 = time.time()
            wait("peers full", lambda: peers_full(prefixes), 900, 0.05)
            learn.append((t1 - t0, time.time() - t0))
        out["learn"] = learn
    r1.stop()
    return runs


def run_size(af, peers, prefixes, repeats, conv_repeats, cases):
    log(f"size: {peers} peers, {prefixes} IPv{af} prefixes")
    for d in ("feed", "peers", "r1"):
        shutil.rmtree(f"{STATE}/{d}", ignore_errors=True)
    build_topology(af, peers)
    bird = start_feed(af, prefixes)
    gob = None
    out = {"af": af, "peers": peers, "prefixes": prefixes, "runs": {}}
    try:
        for case in cases:
            t0 = time.time()
            if gob:
                kill_pid(gob.pid)
            # the peers are graceful-restart helpers but in the no-GR case
            gob = start_peers(af, peers, gr=case != "stock", tag=case)
            if case.startswith("ha"):
                out["runs"][case] = run_ha_case(af, peers, prefixes, case, repeats,
                                                conv_repeats, out)
            else:
                out["runs"][case] = run_stock_case(af, peers, prefixes, case, repeats, out)
            log(f"  {case} done in {time.time() - t0:.0f} s")
    finally:
        for p in (bird, gob):
            if p:
                kill_pid(p.pid)
        teardown_topology()
    return out


# --------------------------------------------------------------------------- report

def pct(values, q):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def fmt(x, unit="", digits=0):
    if x is None:
        return "n/a"
    return f"{x:.{digits}f}{unit}"


CASE_NAMES = {"ha-tf": "frr-ha TF", "ha-gr": "frr-ha GR", "stock-gr": "stock FRR + GR",
              "stock": "stock FRR, no GR"}


def tables(results):
    lines = []
    lines.append("### Switchover (kill -9) and peer impact, per switchover (sum over all peers; "
                 "p50 / p99 over the runs)\n")
    lines.append("| size | case | runs | takeover ms (kill → log) p50/p99 | first byte on last "
                 "session ms p50/p99 | peers converged ms p50/p99 | flaps | NOTIFICATIONs | "
                 "FIN/RST | UPDATEs | prefixes withdrawn (wire) | prefixes lost at peers | "
                 "prefixes re-announced unchanged |")
    lines.append("|" + "---|" * 13)
    for r in results:
        size = f"{r['peers']} peers, {r['prefixes'] // 1000}k IPv{r['af']}"
        for case, runs in r["runs"].items():
            if not runs:
                continue

            def p(key, q):
                return pct([x.get(key) for x in runs], q)

            def mx(key):
                return max(x.get(key, 0) or 0 for x in runs)
            takeover = "—" if not case.startswith("ha") else \
                f"{fmt(p('takeover_ms', .5))} / {fmt(p('takeover_ms', .99))}"
            lines.append(
                f"| {size} | {CASE_NAMES[case]} | {len(runs)} | {takeover} | "
                f"{fmt(p('first_byte_last_ms', .5))} / {fmt(p('first_byte_last_ms', .99))} | "
                f"{fmt(p('converged_ms', .5))} / {fmt(p('converged_ms', .99))} | "
                f"{mx('flaps')} | {mx('notifications')} | {mx('fin_rst')} | {mx('updates')} | "
                f"{mx('withdrawn_wire')} | {mx('lost_at_peers')} | {mx('reannounced')} |")
    lines.append("\nflaps … re-announced: the largest value over the runs. "
                 "Takeover: kill to the new active's log line \"N of M shadow sessions "
                 "continued\" (both on this host's clock).\n")
    lines.append("### Replication cost and standby cost (frr-ha TF)\n")
    lines.append("| size | full-table convergence, standby attached / without (median s) | ratio | "
                 "active bgpd CPU s attached / without | ratio | bytes mirrored to the standby per "
                 "byte received from the feed | standby RSS / active RSS MiB | "
                 "ratio | standby from start: ready / in step s | stock FRR from start: has "
                 "the table / peers have it s |")
    lines.append("|" + "---|" * 10)
    for r in results:
        c = r.get("conv")
        if not c:
            continue
        size = f"{r['peers']} peers, {r['prefixes'] // 1000}k IPv{r['af']}"
        if c["with"] and c["without"]:
            tw = statistics.median(x[0] for x in c["with"])
            to = statistics.median(x[0] for x in c["without"])
            cw = statistics.median(x[1] for x in c["with"])
            co = statistics.median(x[1] for x in c["without"])
            ww = statistics.median(x[2] for x in c["with"])
            rb = statistics.median(x[3] for x in c["with"])
            conv = (f"{tw:.2f} / {to:.2f} | {tw / to:.2f} | {cw:.2f} / {co:.2f} | "
                    f"{(cw / co if co else 0):.2f} | {fmt(ww / rb if rb else None, '', 2)}")
        else:
            conv = "not run | | not run | | not run"
        rj = r.get("rejoin", [])
        ln = r.get("learn", [])
        rj_s = f"{fmt(statistics.median(x[0] for x in rj), '', 2)} / " \
               f"{fmt(statistics.median(x[1] for x in rj), '', 2)}" if rj else "n/a"
        ln_s = f"{fmt(statistics.median(x[0] for x in ln), '', 2)} / " \
               f"{fmt(statistics.median(x[1] for x in ln), '', 2)}" if ln else "n/a"
        lines.append(
            f"| {size} | {conv} | "
            f"{r['rss_standby']:.0f} / {r['rss_active']:.0f} | "
            f"{r['rss_standby'] / r['rss_active']:.2f} | {rj_s} | {ln_s} |")
    return "\n".join(lines) + "\n"


def plots(results, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("python3-matplotlib is not installed: no plots")
        return []
    made = []
    metrics = [("converged_ms", "peers converged after kill -9 (ms, p50)"),
               ("reannounced", "prefixes re-announced per switchover (max)"),
               ("flaps", "session flaps per switchover (max)")]
    for key, title in metrics:
        fig, ax = plt.subplots(figsize=(8, 4))
        labels = [f"{r['peers']}p/{r['prefixes'] // 1000}k/v{r['af']}" for r in results]
        cases = [c for c in CASE_NAMES if any(c in r["runs"] for r in results)]
        w = 0.8 / max(1, len(cases))
        for j, case in enumerate(cases):
            vals = []
            for r in results:
                runs = r["runs"].get(case, [])
                v = [x.get(key) or 0 for x in runs]
                vals.append((pct(v, .5) if key == "converged_ms" else max(v)) if v else 0)
            ax.bar([i + j * w for i in range(len(results))], vals, w, label=CASE_NAMES[case])
        ax.set_xticks([i + w * (len(cases) - 1) / 2 for i in range(len(results))])
        ax.set_xticklabels(labels)
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = f"{outdir}/{key}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made.append(path)
    return made


# --------------------------------------------------------------------------- main

ALL_CASES = "ha-tf,ha-gr,stock-gr,stock"
# (address family, peers, prefixes, cases): the default finishes in about
# 20 minutes on 2 cores; --full takes hours.
# IPv6 runs the pair in TF mode only by default: with GoBGP peers, every
# restarted IPv6 session (GR or not, stock or pair) takes 20 to 60 s to come
# back, which alone would take the default run past 20 minutes (--full has them).
# At 100 peers the table loads (replication cost) are left out of the default
# run: one gobgpd taking 100 x 10k paths needs minutes per load, and it is
# GoBGP, not r1, that such a load would measure.
DEFAULT_SIZES = [(4, 10, 10000, ALL_CASES), (6, 10, 10000, "ha-tf"),
                 (4, 100, 10000, "ha-tf", 0)]
FULL_SIZES = [(4, 1, 10000, ALL_CASES), (4, 10, 10000, ALL_CASES),
              (4, 100, 10000, ALL_CASES), (4, 1, 100000, ALL_CASES),
              (4, 10, 100000, ALL_CASES), (4, 100, 100000, ALL_CASES),
              (4, 1, 1000000, ALL_CASES), (4, 10, 1000000, ALL_CASES),
              (6, 10, 100000, ALL_CASES), (4, 1000, 10000, "ha-tf")]


def cleanup():
    for _, pid, started in reversed(STARTED):
        if started is not None and start_time(pid) == started:
            kill_pid(pid, signal.SIGKILL, 1.0)
    teardown_topology()


def clean_leftovers():
    """Daemons a previous, interrupted run of this benchmark left behind
    (their pid files are under our own run folder) and its namespaces."""
    for root, _, files in os.walk(RUN):
        for name in files:
            pid = read_pid(os.path.join(root, name)) if name.endswith(".pid") else None
            if pid and ours(pid):
                kill_pid(pid, signal.SIGKILL, 1.0)
    for ns in (NS_R1, NS_FEED, NS_PEERS):
        for pid in sh(f"ip netns pids {ns}", check=False).split():
            kill_pid(int(pid), signal.SIGKILL, 1.0)
        sh(f"ip netns del {ns}", check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="the big sizes (takes hours)")
    ap.add_argument("--size", action="append", default=[],
                    help="AF:PEERS:PREFIXES, e.g. 4:10:10000 (repeatable; replaces the list)")
    ap.add_argument("--repeats", type=int, default=None, help="switchovers per case")
    ap.add_argument("--conv-repeats", type=int, default=2,
                    help="table loads with and without standby (each)")
    ap.add_argument("--cases", default=None,
                    help="comma-separated subset of " + ALL_CASES)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: sudo /usr/bin/python3 bench/run.py")
    for tool in ("gobgpd", "gobgp", "bird", "birdc", "dumpcap", f"{FRR}/bgpd"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: scripts/setup-host.sh installs it")
    sizes = [tuple(int(x) for x in s.split(":")) + (ALL_CASES,) for s in args.size] or \
        (FULL_SIZES if args.full else DEFAULT_SIZES)
    repeats = args.repeats or (10 if args.full else 5)
    os.makedirs(STATE, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    clean_leftovers()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(130))
    t0 = time.time()
    results = []
    try:
        for af, peers, prefixes, cases, *conv in sizes:
            cases = (args.cases or cases).split(",")
            results.append(run_size(af, peers, prefixes, repeats,
                                    conv[0] if conv else args.conv_repeats, cases))
            with open(f"{args.out}/results.json", "w") as f:
                json.dump(results, f, indent=1)
    finally:
        cleanup()
    text = tables(results)
    wall = time.time() - t0
    header = (f"frr-ha benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
              f"wall time {wall / 60:.1f} min, {repeats} switchovers per case\n\n")
    print("\n" + header + text)
    with open(f"{args.out}/results.md", "w") as f:
        f.write(header + text)
    for p in plots(results, args.out):
        log(f"plot: {p}")
    log(f"results: {args.out}/results.md, results.json")


if __name__ == "__main__":
    main()
