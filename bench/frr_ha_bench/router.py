"""r1: zebra and either the frr-ha pair or one stock bgpd; its processes' costs."""
import json
import os
import re
import time

from .common import (
    CHANNEL_A,
    CHANNEL_B,
    FEED_AS,
    FRR,
    HOLD,
    KEEPALIVE,
    KEY,
    NS_R1,
    NS_R1B,
    LAN_PLEN,
    PEER_AS,
    R1_AS,
    RUN,
    SERVICE,
    STATE,
    alive,
    feed_addrs,
    kill_pid,
    ours,
    peer_addr,
    r1_side,
    read_pid,
    sh,
    track,
    wait,
    write,
)
from .topology import HOST_LINKS, host_links

# --------------------------------------------------------------------------- r1 (FRR)

# `bgp ha hang-detection` of the pair (None: the module's default, 3000 ms)
# `bgp ha heartbeat interval I multiplier M`: the detection time is I x M
# `bgp ha standby-lag-limit` (None: the module's default, 500 ms)
# standby_after_load: rp b starts once rp a alone has loaded every peer
HA_OPTIONS = {"hang_detection": None, "heartbeat": (300, 5), "lag_limit": None,
              "standby_after_load": False}


def r1_conf(af, peers, case, logfile, peer_timers=(KEEPALIVE, HOLD)):
    """ha-dual: the pair in dual-RP mode, rp b on a host of its own (its
    namespace); its sessions' streams go over the data channel."""
    ha = case.startswith("ha")
    dual = case == "ha-dual"
    gr = case in ("ha-tf", "ha-tf-planned", "ha-gr", "stock-gr")
    _, feed, _ = feed_addrs(af, dual)
    fam = "ipv4" if af == 4 else "ipv6"
    c = [f"log file {logfile}", "log timestamp precision 3", f"router bgp {R1_AS}", " bgp router-id 192.0.2.1",
         " no bgp ebgp-requires-policy", " no bgp network import-check",
         " no bgp default ipv4-unicast"]
    c += [" bgp graceful-restart", " bgp graceful-restart preserve-fw-state"] if gr else \
         [" bgp graceful-restart-disable"]
    c += [f" neighbor {feed} remote-as {FEED_AS}", f" neighbor {feed} passive",
          f" neighbor {feed} timers {KEEPALIVE} {HOLD}"]
    if dual:
        c += [f" neighbor {feed} update-source {SERVICE}"]
    c += [" neighbor PEERS peer-group", f" neighbor PEERS remote-as {PEER_AS}",
          f" neighbor PEERS timers {peer_timers[0]} {peer_timers[1]}",
          " neighbor PEERS timers connect 1"]
    for i in range(peers):
        c += [f" neighbor {peer_addr(af, i)} peer-group PEERS",
              f" neighbor {peer_addr(af, i)} update-source {r1_side(af, i, dual)}"]
    c += [f" address-family {fam} unicast", f"  neighbor {feed} activate",
          f"  neighbor {feed} route-map BENCH-NONE out", "  neighbor PEERS activate",
          " exit-address-family"]
    if ha:
        mode = "transparent" if case.startswith("ha-tf") or dual else "graceful-restart"
        c += [f" bgp ha rp a address tcp {CHANNEL_A} priority 200",
              f" bgp ha rp b address tcp {CHANNEL_B} port 5180",
              f" bgp ha service-address {SERVICE}/{LAN_PLEN}"] if dual else \
             [f" bgp ha rp a address unix {RUN}/bgpd-ha-a.sock priority 200",
              f" bgp ha rp b address unix {RUN}/bgpd-ha-b.sock"]
        interval, multiplier = HA_OPTIONS["heartbeat"]
        c += [f" bgp ha key {KEY}",
              f" bgp ha heartbeat interval {interval} multiplier {multiplier}",
              f" neighbor {feed} ha failover-mode transparent"]
        if HA_OPTIONS["lag_limit"]:
            c += [f" bgp ha standby-lag-limit {HA_OPTIONS['lag_limit']}"]
        if HA_OPTIONS["hang_detection"]:
            c += [f" bgp ha hang-detection {HA_OPTIONS['hang_detection']}"]
        c += [f" neighbor {peer_addr(af, i)} ha failover-mode {mode}" for i in range(peers)]
    c += ["exit", "route-map BENCH-NONE deny 10", ""]
    return "\n".join(c)


class R1:
    """zebra plus either the HA pair (rp a, rp b) or one stock bgpd."""

    def __init__(self, af, peers, prefixes, case, peer_timers=(KEEPALIVE, HOLD)):
        self.af, self.peers, self.prefixes, self.case = af, peers, prefixes, case
        self.ha = case.startswith("ha")
        self.dual = case == "ha-dual"
        # the namespace (host) of each bgpd: rp b has its own in ha-dual
        self.ns = {None: NS_R1, "a": NS_R1, "b": NS_R1B if self.dual else NS_R1}
        self.gr = case != "stock"  # the peers are graceful-restart helpers
        self.active_rp = "a" if self.ha else None
        os.makedirs(f"{STATE}/r1", exist_ok=True)
        for rp in (("a", "b") if self.ha else (None,)):
            write(self.conf(rp), r1_conf(af, peers, case, self.logfile(rp), peer_timers))
        write(f"{STATE}/r1/zebra.conf", "ip forwarding\nipv6 forwarding\n")
        sh(f"install -d -o frr -g frr {RUN}")
        sh(f"chown -R frr:frr {STATE}/r1")
        self.zebra_pid = None

    def start_zebra(self):
        self.zebra_b_pid = None
        self.start_zebra_on("a")
        if self.dual:
            self.start_zebra_on("b")
        time.sleep(0.3)

    def start_zebra_on(self, host):
        """zebra of rp a's host (every case's) or of rp b's (ha-dual)."""
        mod = "-M ha" if self.ha else ""
        ns = NS_R1 if host == "a" else NS_R1B
        pf = f"{RUN}/zebra.pid" if host == "a" else f"{RUN}/zebra-b.pid"
        if host == "b":
            sh(f"install -d -o frr -g frr /var/run/frr/{NS_R1B}")
        if os.path.exists(pf):
            os.unlink(pf)
        logfile = f"{STATE}/r1/zebra-{self.case}{'' if host == 'a' else '-b'}.log"
        sh(f"{FRR}/zebra -d -N {ns} {mod} -f {STATE}/r1/zebra.conf -i {pf} --log file:{logfile}",
           ns=ns)
        pid = wait(f"zebra {host} pid", lambda: read_pid(pf) if ours(read_pid(pf)) else None, 10)
        track("zebra", pid)
        if host == "a":
            self.zebra_pid = pid
        else:
            self.zebra_b_pid = pid

    # ha-dual: a host's death and return
    def kill_host(self, rp):
        """Every process of rp's host (its bgpd and zebra) stopped, its
        links down and the processes killed, in one shell command; returns
        the time just before it ran."""
        ns, devs = HOST_LINKS[rp]
        zebra = self.zebra_pid if rp == "a" else self.zebra_b_pid
        pids = " ".join(str(p) for p in (self.pid(rp), zebra) if p)
        # As a host that loses power: its processes stop first (a bgpd
        # that saw its LAN link go down would end its eBGP sessions itself
        # and tell the partner: a link's failure, not a host's), then the
        # links go, so nothing its kernel sends on the kill gets out.
        links = " && ".join(f"ip -n {ns} link set {d} down" for d in devs)
        t = time.time()
        sh(f"kill -STOP {pids} && {links} && kill -9 {pids}")
        return t

    def revive_host(self, rp):
        """The dead host comes back: links up, zebra, then its bgpd (which
        rejoins as standby)."""
        wait(f"rp {rp}'s host's processes gone",
             lambda: not self.pid(rp) and not alive(self.zebra_pid if rp == "a"
                                                    else self.zebra_b_pid), 30, 0.05)
        host_links(rp, up=True)
        self.start_zebra_on(rp)
        time.sleep(0.3)
        self.start_bgpd(rp)

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
        ns = self.ns[rp]
        sh(f"{FRR}/bgpd -d -N {ns} {args} -f {self.conf(rp)}", ns=ns)
        pid = wait(f"bgpd {rp} pid", lambda: self.pid(rp), 15)
        track("bgpd", pid)
        return pid

    def pid(self, rp=None):
        p = read_pid(self.pidfile(rp))
        return p if alive(p) and ours(p) else None

    def vty(self, cmd, rp=None):
        if rp:
            return sh(f"vtysh -d bgpd --vty_socket {RUN}/ha-{rp} -c '{cmd}'", ns=self.ns[rp],
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
        kill_pid(getattr(self, "zebra_b_pid", None))

    # the HA pair's state
    def relayed(self, active, standby):
        """ha-dual: every session's streams on the standby host, nothing
        unconfirmed on the data channel."""
        a, s = self.ha_json(active), self.ha_json(standby)
        if a.get("role") != "active" or s.get("role") != "standby":
            return False
        x, y = a.get("streamsAcrossHosts", {}), s.get("streamsAcrossHosts", {})
        return (x.get("toStandbyHost") == self.peers + 1 and
                y.get("fromActiveHost") == self.peers + 1 and x.get("bytesInFlight") == 0)

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
        for addr, n in ns.items():
            t = n.get("session", {})
            if t.get("stream") != "shadow":
                return False
            # the standby's shadow has the whole history and has read what
            # the active read from the peer (a shadow's FSM that has not
            # read the feed's table yet has sent the peers nothing either,
            # and 0 == 0 is no proof)
            mine = na.get(addr, {}).get("session", {})
            if not t.get("historyComplete") or t.get("receivedPrefixes") != \
               mine.get("receivedPrefixes"):
                return False
            # and knows what the peer holds as the active does (a shadow
            # that has not parsed its history yet says 0, and has sent 0)
            if t.get("peerHoldsPrefixes") != mine.get("peerHoldsPrefixes"):
                return False
            # a TF session is in step when the standby's FSM has sent (to
            # nowhere) what the peer holds; a GR session is not continued
            if n.get("switchoverMode") == "transparent" and \
               t.get("shadowSentPrefixes") != t.get("peerHoldsPrefixes"):
                return False
        return len(ns) == len(na)


def stat_cpu(path):
    """(comm, CPU seconds: utime + stime) of a /proc stat file."""
    with open(path) as f:
        head, rest = f.read().rsplit(")", 1)
    fields = rest.split()
    return head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    return stat_cpu(f"/proc/{pid}/stat")[1]


def proc_thread_cpu(pid, name):
    """CPU seconds of pid's threads called name (comm, as frr_pthread sets
    it), 0 when none is."""
    total = 0.0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return total
    for tid in tasks:
        try:
            comm, cpu = stat_cpu(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            continue
        if comm == name:
            total += cpu
    return total


def proc_fds(pid):
    """Open descriptors of pid."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, TypeError):
        return None


def proc_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def r1_bytes_from_feed(af, dual=False, ns=NS_R1):
    """tcpi_bytes_received of r1's connection to the feed (ss -ti) in
    namespace ns (the active's host)."""
    _, feed, _ = feed_addrs(af, dual)
    out = sh("ss -tin state established", ns=ns, check=False)
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if feed in line and i + 1 < len(lines):
            m = re.search(r"bytes_received:(\d+)", lines[i + 1])
            if m:
                return int(m.group(1))
    return 0
