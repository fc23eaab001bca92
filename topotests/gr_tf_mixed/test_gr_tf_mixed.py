#!/usr/bin/env python3
"""
Graceful restart and transparent failover on one switchover. Router r1 runs
zebra and an HA pair of bgpd RPs (a, b) with FRR's graceful restart enabled
(restart mode, preserve-fw-state). Its eBGP peers, on one LAN:

  p1  FRR with graceful restart          -> auto: graceful restart
  p2  FRR without graceful restart       -> auto: transparent failover
  p3  BIRD, "graceful restart on"        -> auto: graceful restart
  p4  FRR with graceful restart, r1 sets "failover-mode transparent"
  p5  FRR without graceful restart, r1 sets "failover-mode none"

p1, p2 and p3 announce PREFIXES prefixes each, p4 SMALL and p5 TINY; r1
passes every route to every peer. Then the active is killed with kill -9,
while samplers watch r1's kernel table, the GR peers' view of r1 and their
kernel tables, and packet captures record the wire.
"""
import os
import sys
import threading
import time

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import Topogen, get_topogen  # noqa: E402

from ha_lib.frr_ha import (  # noqa: E402
    install_bgpd_conf,
    kill_rp,
    load_pair_router,
    load_plain_router,
    rp_json,
    rp_log,
    rp_vtysh,
    start_rp,
    stop_pairs,
    vtysh_json,
    wait_for,
    wait_pair,
)
from ha_lib.speakers import (  # noqa: E402
    bird_session as bird_view,
    frr_session as frr_view,
    start_bird,
    stop_bird,
    write_conf as write,
)
from ha_lib.wire import Capture, tshark  # noqa: E402
from ha_lib.yang_model import show_json_to_instance, validate_instance  # noqa: E402

pytestmark = [pytest.mark.bgpd]

PREFIXES = 5000
SMALL = 100
TINY = 10
KEY = "frr-ha-topotest-key-0123"
R1 = "10.0.12.1"
# name: (AS, address, first octet of its prefixes, prefix count, kind)
PEERS = {
    "p1": (65011, "10.0.12.11", 171, PREFIXES, "frr-gr"),
    "p2": (65012, "10.0.12.12", 172, PREFIXES, "frr-plain"),
    "p3": (65013, "10.0.12.13", 173, PREFIXES, "bird-gr"),
    "p4": (65014, "10.0.12.14", 174, SMALL, "frr-gr"),
    "p5": (65015, "10.0.12.15", 175, TINY, "frr-plain"),
}
R1_MODES = {"p4": "transparent", "p5": "none"}  # the others: auto
EXPECTED_SWITCHOVER = {"p1": "graceful-restart", "p2": "transparent",
                       "p3": "graceful-restart", "p4": "transparent", "p5": "restart"}
FRR_PEERS = [n for n, p in PEERS.items() if p[4].startswith("frr")]
GR_PEERS = ["p1", "p3"]
TF_PEERS = ["p2", "p4"]
TOTAL = sum(p[3] for p in PEERS.values())
R1_NETWORK = "10.1.0.0/24"


def prefixes(name):
    _, _, octet, count, _ = PEERS[name]
    return [f"{octet}.16.{i // 256}.{i % 256}/32" for i in range(count)]


def r1_conf():
    c = ["debug bgp neighbor-events", "debug bgp graceful-restart", "log timestamp precision 3",
         "router bgp 65001", " bgp router-id 10.0.0.1", " no bgp ebgp-requires-policy",
         " no bgp network import-check", " bgp graceful-restart",
         " bgp graceful-restart preserve-fw-state"]
    for name, (asn, addr, _, _, _) in PEERS.items():
        c += [f" neighbor {addr} remote-as {asn}", f" neighbor {addr} timers 3 10",
              f" neighbor {addr} timers connect 1"]
    c += [" address-family ipv4 unicast", f"  network {R1_NETWORK}", " exit-address-family",
          " bgp ha rp a address unix /var/run/frr/bgpd-ha-a.sock priority 200",
          " bgp ha rp b address unix /var/run/frr/bgpd-ha-b.sock",
          f" bgp ha key {KEY}", " bgp ha heartbeat interval 300 multiplier 5"]
    c += [f" neighbor {PEERS[n][1]} ha failover-mode {m}" for n, m in R1_MODES.items()]
    return c


def frr_peer_conf(name):
    asn, addr, _, _, kind = PEERS[name]
    gr = " bgp graceful-restart" if kind == "frr-gr" else " bgp graceful-restart-disable"
    c = ["debug bgp neighbor-events", "router bgp %d" % asn, f" bgp router-id {addr}",
         " no bgp ebgp-requires-policy", " no bgp network import-check", gr,
         # Shut until the pair has formed: the sessions must be handed over.
         f" neighbor {R1} remote-as 65001", f" neighbor {R1} timers 3 10",
         f" neighbor {R1} timers connect 1", f" neighbor {R1} shutdown",
         " address-family ipv4 unicast"]
    c += [f"  network {p}" for p in prefixes(name)]
    c += [" exit-address-family"]
    return c


def bird_conf(confdir):
    asn, addr, _, _, _ = PEERS["p3"]
    c = [f'log "{confdir}/p3/bird.log" all;', f"router id {addr};",
         "protocol device { }",
         # BGP routes go to p3's kernel: a flap at p3 shows in its FIB.
         "protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }",
         "protocol static { ipv4;"]
    c += [f"  route {p} blackhole;" for p in prefixes("p3")]
    c += ["}",
          "protocol bgp r1 {", f"  local {addr} as {asn};", f"  neighbor {R1} as 65001;",
          "  hold time 10; keepalive time 3; connect retry time 1; error wait time 1, 5;",
          "  graceful restart on;", "  disabled yes;",
          "  ipv4 { import all; export where source = RTS_STATIC; };", "}"]
    return c


def build_topo(tgen):
    tgen.add_router("r1")
    sw = tgen.add_switch("s1")
    sw.add_link(tgen.gears["r1"])
    for name in FRR_PEERS:
        tgen.add_router(name)
        sw.add_link(tgen.gears[name])
    # p3 runs BIRD; its default route points at r1 (nothing is routed there).
    tgen.add_host("p3", f"{PEERS['p3'][1]}/24", f"via {R1}")
    sw.add_link(tgen.gears["p3"])


def confdir_of(mod_name):
    return f"/tmp/{mod_name}.conf"


def setup_module(mod):
    confdir = confdir_of(mod.__name__)
    for r in ["r1", *PEERS]:
        os.makedirs(f"{confdir}/{r}", exist_ok=True)
    write(f"{confdir}/r1/bgpd.conf", r1_conf())
    write(f"{confdir}/r1/zebra.conf", ["interface r1-eth0", f" ip address {R1}/24"])
    for name in FRR_PEERS:
        write(f"{confdir}/{name}/bgpd.conf", frr_peer_conf(name))
        write(f"{confdir}/{name}/zebra.conf",
              [f"interface {name}-eth0", f" ip address {PEERS[name][1]}/24"])
    write(f"{confdir}/p3/bird.conf", bird_conf(confdir))
    tgen = Topogen(build_topo, mod.__name__)
    tgen.start_topology()
    load_pair_router(tgen.gears["r1"], f"{confdir}/r1")
    for name in FRR_PEERS:
        load_plain_router(tgen.gears[name], f"{confdir}/{name}")
    tgen.start_router()
    start_bird(tgen.gears["p3"], f"{confdir}/p3")
    install_bgpd_conf(tgen.gears["r1"], f"{confdir}/r1/bgpd.conf")
    start_rp(tgen.gears["r1"], "a")
    start_rp(tgen.gears["r1"], "b")


def teardown_module(mod):
    confdir = confdir_of(mod.__name__)
    tgen = get_topogen()
    stop_bird(tgen.gears["p3"], f"{confdir}/p3")
    stop_pairs({"r1": ("a", "b")})


def gear(name):
    return get_topogen().gears[name]


def birdc(command):
    confdir = confdir_of(__name__)
    return gear("p3").cmd(f"birdc -s {confdir}/p3/bird.ctl {command}")


def bird_session():
    """p3's view of its session to r1: state and how many routes it imported."""
    v = bird_view(gear("p3"), confdir_of(__name__) + "/p3")
    return {"state": v["state"], "imported": v["prefixes"], "text": v["text"]}


def frr_session(name):
    return frr_view(gear(name), R1)


def expected_from_r1(name):
    return TOTAL - PEERS[name][3] + 1  # everyone else's, and r1's own network


def wait_full_tables():
    def full():
        for name in FRR_PEERS:
            v = frr_session(name)
            if v["state"] != "Established" or v["prefixes"] != expected_from_r1(name):
                return f"{name}: {v['state']}, {v['prefixes']} prefixes"
        b = bird_session()
        if b["state"] != "Established" or b["imported"] != expected_from_r1("p3"):
            return f"p3: {b['state']}, {b['imported']} routes"
        return None

    wait_for("every peer has r1's full table", full, count=240, wait=1)


def r1_kernel_routes():
    return int(gear("r1").cmd("ip -4 route show proto bgp | wc -l").strip())


def neighbors(rp):
    return rp_json(gear("r1"), rp)["neighbors"]


def addr_to_name(addr):
    return next(n for n, p in PEERS.items() if p[1] == addr)


def streams(rp):
    return {addr_to_name(a): v.get("session", {}).get("stream") for a, v in neighbors(rp).items()}


def wait_shadowed(active, standby):
    """The standby shadows the TF sessions (to continue them) and the GR
    ones (so that their routes are in its RIB: only what they receive is
    mirrored), not the plain one; and for each TF session its FSM has sent
    (to nowhere) what the peer holds, but for the plain-restart peer's
    routes, which it never learns (they restart with that peer)."""
    shadowed = {n for n in PEERS if n != "p5"}
    wait_for(f"rp {active} mirrors every TF and GR session",
             lambda: None if {n for n, s in streams(active).items() if s == "mirroring"} == shadowed
             else str(streams(active)), count=60, wait=1)
    wait_for(f"rp {standby} shadows them",
             lambda: None if {n for n, s in streams(standby).items() if s == "shadow"} == shadowed
             else str(streams(standby)), count=60, wait=1)

    receive_only = {addr_to_name(a): v["session"]["receivedStreamOnly"]
                    for a, v in neighbors(active).items() if addr_to_name(a) in shadowed}
    assert receive_only == {n: EXPECTED_SWITCHOVER[n] == "graceful-restart" for n in shadowed}, \
        receive_only

    def in_step():
        lagging = {addr_to_name(a): (v["session"]["shadowSentPrefixes"],
                                     v["session"]["peerHoldsPrefixes"])
                   for a, v in neighbors(standby).items()
                   if addr_to_name(a) in TF_PEERS
                   and v["session"]["shadowSentPrefixes"] + TINY
                   != v["session"]["peerHoldsPrefixes"]}
        return f"(shadow sent, peer holds): {lagging}" if lagging else None

    wait_for(f"rp {standby} is in step with every TF session", in_step, count=90, wait=1)


def test_sessions_come_up_and_each_gets_its_switchover():
    wait_pair(gear("r1"), "a", "b", epoch=1)
    for name in FRR_PEERS:
        gear(name).vtysh_cmd(f"configure\nrouter bgp {PEERS[name][0]}\nno neighbor {R1} shutdown")
    birdc("enable r1")
    wait_full_tables()
    decided = {addr_to_name(a): v["switchoverMode"] for a, v in neighbors("a").items()}
    assert decided == EXPECTED_SWITCHOVER, decided
    wait_shadowed("a", "b")
    assert r1_kernel_routes() == TOTAL


def test_state_fits_the_yang_model(tmp_path):
    for rp in ("a", "b"):
        validate_instance(show_json_to_instance(rp_json(gear("r1"), rp)), str(tmp_path))


class Sampler:
    """Runs probes every `interval` seconds in a thread until stop()."""

    def __init__(self, probes, interval=0.2):
        self.probes, self.interval = probes, interval
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            sample = {"t": time.time()}
            for name, probe in self.probes.items():
                try:
                    sample[name] = probe()
                except Exception as err:  # noqa: BLE001 - a probe may race a daemon's restart
                    sample[name] = f"error: {err}"
            self.samples.append(sample)
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.samples


def route_monitor(name):
    """`ip monitor route` in a node's namespace, into a file; returns its path."""
    path = f"/tmp/gr_tf_mixed-{name}.monitor"
    gear(name).cmd(f"rm -f {path}; ip monitor route > {path} 2>&1 & echo $! > {path}.pid")
    return path


def stop_monitor(name, path):
    gear(name).cmd(f"kill $(cat {path}.pid) 2>/dev/null; sleep 0.2")
    with open(path) as f:
        return [line for line in f.read().splitlines() if line.startswith("Deleted")]


def p1_stale_of_r1():
    """Whether p1 holds r1's own network, and whether as stale."""
    j = vtysh_json(gear("p1"), f"show bgp ipv4 unicast {R1_NETWORK} json")
    paths = j.get("paths", [])
    return {"paths": len(paths), "stale": any(p.get("stale") for p in paths),
            "state": vtysh_json(gear("p1"), f"show bgp neighbors {R1} json")[R1].get("bgpState")}


def p3_view_of_r1():
    """BIRD shows no per-route stale flag; while it helps a neighbor's
    graceful restart it says so, and keeps the routes (all stale)."""
    route = birdc(f"show route {R1_NETWORK} all")
    session = bird_session()
    return {"present": R1_NETWORK in route, "state": session["state"],
            "imported": session["imported"],
            "helping": "Neighbor graceful restart active" in session["text"]}


def r1_stale_of_p1(rp):
    """p1's routes in the RIB of RP `rp` (the one that becomes active: its
    shadow holds them before the switchover, they are stale after), stale or
    not. Not a plain vtysh: for a moment it still reaches the old active,
    which drops every session it held when it steps down."""
    out = rp_vtysh(gear("r1"), rp, f"show bgp ipv4 unicast {prefixes('p1')[0]} json")
    try:
        import json
        paths = json.loads(out).get("paths", [])
    except ValueError:
        return "no answer"
    return {"paths": len(paths), "stale": any(p.get("stale") for p in paths)}


def switch_over_and_check(switch, new_active):
    """Runs `switch` (a kill -9 or a planned switchover) and checks what
    every peer and r1's FIB saw until the GR peers have r1's End-of-RIB."""
    before = {n: frr_session(n) for n in FRR_PEERS}
    tables_before = {n: frozenset(vtysh_json(gear(n), "show bgp ipv4 unicast json")["routes"])
                     for n in FRR_PEERS}
    monitors = {n: route_monitor(n) for n in ("r1", "p1", "p3", "p2")}
    capture = Capture(get_topogen(), list(PEERS), [R1])
    sampler = Sampler({"r1_kernel": r1_kernel_routes, "p1": p1_stale_of_r1,
                       "p3": p3_view_of_r1, "r1_p1_paths": lambda: r1_stale_of_p1(new_active)})
    time.sleep(1)
    capture.mark("switch")
    switch()
    wait_for(f"rp {new_active} is active",
             lambda: None if rp_json(gear("r1"), new_active)["role"] == "active" else "not yet",
             count=40, wait=0.25)
    wait_full_tables()

    def gr_done():
        for name in ("p1",):
            if not vtysh_json(gear(name), f"show bgp neighbors {R1} json")[R1] \
                    .get("gracefulRestartInfo", {}).get("ipv4Unicast", {}).get("endOfRibStatus", {}) \
                    .get("endOfRibRecv"):
                return f"{name}: no End-of-RIB from r1 yet"
        return None

    wait_for("p1 got r1's End-of-RIB", gr_done, count=60, wait=1)
    time.sleep(5)
    samples = sampler.stop()
    capture.stop()
    deleted = {n: stop_monitor(n, p) for n, p in monitors.items()}
    log = rp_log(gear("r1"), new_active)

    # r1's FIB kept every route throughout.
    kernel = [s["r1_kernel"] for s in samples if isinstance(s["r1_kernel"], int)]
    assert kernel and min(kernel) == TOTAL, f"r1's kernel BGP routes during the switchover: {kernel}"
    assert deleted["r1"] == [], f"r1's kernel lost routes: {deleted['r1'][:5]}"

    # The GR peers saw a graceful restart: down and up, r1's routes kept as
    # stale meanwhile, the OPEN with the Restart State bit, End-of-RIB.
    p1_down = [s["p1"] for s in samples if isinstance(s["p1"], dict) and s["p1"]["state"] != "Established"]
    assert p1_down, "p1's session never went down: no graceful restart seen"
    assert all(s["paths"] == 1 for s in p1_down), f"p1 lost r1's routes mid-restart: {p1_down}"
    assert any(s["stale"] for s in p1_down), f"p1 never marked r1's routes stale: {p1_down}"
    p3_down = [s["p3"] for s in samples if isinstance(s["p3"], dict) and s["p3"]["state"] != "Established"]
    assert p3_down, "p3's session never went down: no graceful restart seen"
    assert all(s["present"] and s["imported"] == expected_from_r1("p3") for s in p3_down), \
        f"p3 lost r1's routes mid-restart: {p3_down}"
    assert any(s["helping"] for s in p3_down), f"p3 never helped a graceful restart: {p3_down}"
    after = {n: frr_session(n) for n in FRR_PEERS}
    assert after["p1"]["established"] == before["p1"]["established"] + 1, (before["p1"], after["p1"])
    assert after["p1"]["notificationsRecv"] == before["p1"]["notificationsRecv"], after["p1"]
    gr = vtysh_json(gear("p1"), f"show bgp ipv4 neighbor {R1} graceful-restart json")[R1]
    assert gr.get("rBit") is True, gr
    for name in GR_PEERS:
        path = capture.files[name]
        opens = tshark("-r", path, "-Y", f"ip.src == {R1} && bgp.type == 1 && "
                       f"frame.time_epoch >= {capture.marks['switch']}",
                       "-T", "fields", "-e", "bgp.cap.gr.timers.restart_flag",
                       "-e", "bgp.cap.gr.flag.pfs").split()
        assert opens and opens[0] in ("1", "True"), f"{name}: r1's OPENs after the kill: {opens}"
        # The session r1 had with the peer ends without a NOTIFICATION (one
        # would defeat the graceful restart). On the new connections, the
        # only one allowed is BGP's connection collision resolution (Cease,
        # subcode 7), when both sides connect at the same moment.
        mark = capture.marks["switch"]
        old_streams = set(tshark("-r", path, "-Y", f"frame.time_epoch < {mark}",
                                 "-T", "fields", "-e", "tcp.stream").split())
        notifications = [line.split("\t") for line in tshark(
            "-r", path, "-Y", f"bgp.type == 3 && frame.time_epoch >= {mark}",
            "-T", "fields", "-e", "tcp.stream", "-e", "bgp.notify.major_error",
            "-e", "bgp.notify.minor_error_cease").splitlines()]
        assert all(n[0] not in old_streams and n[1:] == ["6", "7"] for n in notifications), \
            f"{name}: NOTIFICATIONs after the switch (stream, code, subcode): {notifications}"

    # The restarting router's RIB kept p1's routes, as stale, until p1's
    # End-of-RIB (FRR's own GR marking and sweeping).
    r1_p1 = [s["r1_p1_paths"] for s in samples if isinstance(s["r1_p1_paths"], dict)]
    assert r1_p1 and all(s["paths"] == 1 for s in r1_p1), f"r1's RIB lost p1's routes: {r1_p1}"
    assert any(s["stale"] for s in r1_p1), "r1 never held p1's routes as stale"

    # No best path flapped at the GR peers: nothing left their kernels, but
    # the routes of the plain-restart peer p5 (which restart with it).
    p5 = tuple(p.split("/")[0] for p in prefixes("p5"))
    for name in ("p1", "p3"):
        flapped = [line for line in deleted[name] if not line.split()[1].startswith(p5)]
        assert flapped == [], f"{name}'s kernel lost routes: {flapped[:5]}"

    # The TF peers saw nothing.
    for name in TF_PEERS:
        b, a = dict(before[name]), dict(after[name])
        if abs(a["establishedEpoch"] - b["establishedEpoch"]) <= 1:
            a["establishedEpoch"] = b["establishedEpoch"]
        assert a == b, f"{name} saw the switchover: {b} -> {a}"
        wire = capture.summary(name)
        assert wire["fin_or_rst_from_r1"] == 0, wire
        assert wire["notifications"] == 0, wire
        assert wire["framing_problems"] == [], wire
        now = frozenset(vtysh_json(gear(name), "show bgp ipv4 unicast json")["routes"])
        assert now == tables_before[name], f"{name}'s table changed"
    assert [line for line in deleted["p2"] if not line.split()[1].startswith(p5)] == [], \
        deleted["p2"][:5]

    # The `none` peer restarted plainly.
    assert after["p5"]["established"] == before["p5"]["established"] + 1, after["p5"]
    assert "restart gracefully" in log, log[-2000:]
    print("kernel BGP routes on r1 during the switchover (min/max/samples):",
          min(kernel), max(kernel), len(kernel))
    print("p1 samples while down:", len(p1_down), "p3 samples while down:", len(p3_down))


def test_kill9_gives_gr_peers_a_graceful_restart_and_tf_peers_nothing():
    switch_over_and_check(lambda: kill_rp(gear("r1"), "a"), "b")


def test_planned_switchover_does_the_same():
    """The killed RP comes back as standby, takes the sessions, and a
    planned switchover hands everything back: GR peers restart gracefully
    again (the old active closes their connections without a NOTIFICATION),
    TF peers see nothing."""
    start_rp(gear("r1"), "a")
    wait_pair(gear("r1"), "b", "a", epoch=2)
    wait_shadowed("b", "a")

    def switch():
        out = gear("r1").vtysh_cmd("bgp ha switchover")
        assert "Switchover started" in out, out

    switch_over_and_check(switch, "a")
