#!/usr/bin/env python3
"""
The active never waits for its standby. Router r1 runs zebra and an HA pair
of bgpd RPs (a active, b standby). Peers, on one LAN: `feed`, a BIRD speaker
that announces FEED prefixes once told to, and PEERS sessions from one GoBGP
process (no GR, keepalive 1 s, hold time 3 s, as data centres run; it keeps
nothing it receives). Every session is transparent failover.

The standby is stopped (SIGSTOP) while the feed's table arrives and r1 sends
it on to every GoBGP session. On the wire each session's gaps between r1's
messages stay within the keepalive interval plus 1 s, no session drops, no
hold timer fires, vtysh on the active answers, and the sessions that had to
wait for the standby show `unprotected: standby lagging`. Once the standby
runs again they are protected again, and a kill -9 of the active is then
transparent.
"""
import os
import sys
import time

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import Topogen, get_topogen  # noqa: E402

from ha_lib.frr_ha import (  # noqa: E402
    install_bgpd_conf,
    kill_rp,
    load_pair_router,
    rp_json,
    rp_pid,
    start_rp,
    wait_for,
    wait_pair,
)
from ha_lib.speakers import (  # noqa: E402
    gobgp_session,
    start_bird,
    stop_bird,
    stop_pair_router,
    write_conf as write,
)
from ha_lib.wire import Capture, tshark  # noqa: E402
from ha_lib.yang_model import show_json_to_instance, validate_instance  # noqa: E402

pytestmark = [pytest.mark.bgpd]

FEED = 60000
PEERS = 6
KEY = "frr-ha-topotest-key-0123"
R1 = "10.0.12.1"
FEED_ADDR, FEED_AS = "10.0.12.5", 65005
GOBGP_AS = 65020
KEEPALIVE, HOLD = 1, 3


def peer_addr(i):
    return f"10.0.12.{20 + i}"


R1_ADDRS = [R1]


def r1_conf():
    c = ["debug bgp neighbor-events", "log timestamp precision 3",
         "router bgp 65001", " bgp router-id 10.0.0.1", " no bgp ebgp-requires-policy",
         " no bgp network import-check",
         f" neighbor {FEED_ADDR} remote-as {FEED_AS}", f" neighbor {FEED_ADDR} timers 3 10",
         f" neighbor {FEED_ADDR} timers connect 1"]
    for i in range(PEERS):
        a = peer_addr(i)
        c += [f" neighbor {a} remote-as {GOBGP_AS}", f" neighbor {a} timers {KEEPALIVE} {HOLD}",
              f" neighbor {a} timers connect 1"]
    c += [" bgp ha rp a address unix /var/run/frr/bgpd-ha-a.sock priority 200",
          " bgp ha rp b address unix /var/run/frr/bgpd-ha-b.sock",
          f" bgp ha key {KEY}", " bgp ha heartbeat interval 300 multiplier 5",
          # A stopped standby is not a hung active: never fenced here.
          " bgp ha hang-detection off"]
    return c


def bird_conf(confdir):
    c = [f'log "{confdir}/feed/bird.log" all;', f"router id {FEED_ADDR};",
         "protocol device { }", "protocol static { ipv4;"]
    # Each route with its own community: one UPDATE per route, some 3 MB
    # per session, more than the links to the standby hold.
    c += [f"  route 172.{16 + i // 65536}.{(i // 256) % 256}.{i % 256}/32 blackhole "
          f"{{ bgp_community.add(({FEED_AS}, {i})); }};" for i in range(FEED)]
    c += ["}", "protocol bgp r1 {", f"  local {FEED_ADDR} as {FEED_AS};",
          f"  neighbor {R1} as 65001;",
          "  hold time 10; keepalive time 3; connect retry time 1; error wait time 1, 5;",
          "  ipv4 { import none; export none; };", "}"]
    return c


def gobgp_conf(i):
    """One GoBGP process per session (GoBGP tells sessions apart by the
    remote address, and r1 has one)."""
    return ["[global.config]", f"  as = {GOBGP_AS}", f'  router-id = "{peer_addr(i)}"',
            "  port = -1",
            # Keep nothing received: the load measures r1, not GoBGP.
            "[global.apply-policy.config]", '  default-import-policy = "reject-route"',
            "[[neighbors]]", "  [neighbors.config]", f'    neighbor-address = "{R1}"',
            "    peer-as = 65001", "  [neighbors.transport.config]",
            f'    local-address = "{peer_addr(i)}"', "  [neighbors.timers.config]",
            "    connect-retry = 1", f"    hold-time = {HOLD}",
            f"    keepalive-interval = {KEEPALIVE}",
            "  [[neighbors.afi-safis]]", "    [neighbors.afi-safis.config]",
            '      afi-safi-name = "ipv4-unicast"']


def gobgp_api(i):
    return f"127.0.0.1:{50100 + i}"


def build_topo(tgen):
    tgen.add_router("r1")
    sw = tgen.add_switch("s1")
    sw.add_link(tgen.gears["r1"])
    tgen.add_host("feed", f"{FEED_ADDR}/24", f"via {R1}")
    sw.add_link(tgen.gears["feed"])
    tgen.add_host("peers", f"{peer_addr(0)}/24", f"via {R1}")
    sw.add_link(tgen.gears["peers"])


def confdir_of(mod_name):
    return f"/tmp/{mod_name}.conf"


def setup_module(mod):
    confdir = confdir_of(mod.__name__)
    for r in ("r1", "feed", "peers"):
        os.makedirs(f"{confdir}/{r}", exist_ok=True)
    write(f"{confdir}/r1/bgpd.conf", r1_conf())
    write(f"{confdir}/r1/zebra.conf", ["interface r1-eth0", f" ip address {R1}/24"])
    write(f"{confdir}/feed/bird.conf", bird_conf(confdir))
    for i in range(PEERS):
        write(f"{confdir}/peers/gobgpd-{i}.toml", gobgp_conf(i))
    tgen = Topogen(build_topo, mod.__name__)
    tgen.start_topology()
    load_pair_router(tgen.gears["r1"], f"{confdir}/r1")
    tgen.start_router()
    install_bgpd_conf(tgen.gears["r1"], f"{confdir}/r1/bgpd.conf")
    start_rp(tgen.gears["r1"], "a")
    start_rp(tgen.gears["r1"], "b")
    peers = tgen.gears["peers"]
    for i in range(1, PEERS):
        peers.cmd(f"ip addr add {peer_addr(i)}/24 dev peers-eth0")


def teardown_module(mod):
    confdir = confdir_of(mod.__name__)
    tgen = get_topogen()
    stop_bird(tgen.gears["feed"], f"{confdir}/feed")
    tgen.gears["peers"].cmd(f"kill $(cat {confdir}/peers/gobgpd-*.pid) 2>/dev/null")
    stop_pair_router(tgen)


def gear(name):
    return get_topogen().gears[name]


def gobgp_sessions():
    """Each GoBGP process's view of its session, by its local address."""
    view = {}
    for i in range(PEERS):
        v = gobgp_session(gear("peers"), gobgp_api(i))
        if v:
            view[peer_addr(i)] = {"established": v["state"] == "Established",
                                  "flops": v["flops"], "notifications": v["notificationsRecv"]}
    return view


def streams(rp):
    return {a: v.get("session", {}).get("stream") for a, v in rp_json(gear("r1"), rp)["neighbors"].items()}


def wait_protected(count=120):
    def protected():
        a, b = streams("a"), streams("b")
        if set(a.values()) != {"mirroring"}:
            return f"rp a: {a}"
        if set(b.values()) != {"shadow"}:
            return f"rp b: {b}"
        return None

    wait_for("every session is protected by the standby", protected, count=count, wait=0.5)


def in_step():
    lagging = {a: (v["session"]["shadowSentPrefixes"], v["session"]["peerHoldsPrefixes"])
               for a, v in rp_json(gear("r1"), "b")["neighbors"].items()
               if v["session"]["shadowSentPrefixes"] != v["session"]["peerHoldsPrefixes"]}
    return f"(shadow sent, peer holds): {lagging}" if lagging else None


def r1_gaps(capture, name, since):
    """The longest time between two segments carrying r1's BGP bytes, per
    TCP stream, from the mark on."""
    out = tshark("-r", capture.files[name], "-Y",
                 f"({' || '.join(f'ip.src == {a}' for a in R1_ADDRS)}) && tcp.len > 0 "
                 f"&& frame.time_epoch >= {capture.marks[since]}",
                 "-T", "fields", "-e", "tcp.stream", "-e", "frame.time_epoch")
    times = {}
    for line in out.splitlines():
        sid, when = line.split("\t")
        times.setdefault(sid, []).append(float(when))
    return {sid: round(max(b - a for a, b in zip(t, t[1:])), 3) if len(t) > 1 else None
            for sid, t in times.items()}


def test_sessions_come_up_and_are_protected():
    wait_pair(gear("r1"), "a", "b", epoch=1)
    confdir = confdir_of(__name__)
    for i in range(PEERS):
        gear("peers").cmd(f"gobgpd -f {confdir}/peers/gobgpd-{i}.toml -l warn -p --pprof-disable "
                          f"--api-hosts {gobgp_api(i)} > {confdir}/peers/gobgpd-{i}.log 2>&1 & "
                          f"echo $! > {confdir}/peers/gobgpd-{i}.pid")
    start_bird(gear("feed"), f"{confdir}/feed")
    wait_for("GoBGP's sessions are up", lambda: None if len(gobgp_sessions()) == PEERS and all(
        v["established"] for v in gobgp_sessions().values()) else str(gobgp_sessions()),
        count=60, wait=1)
    wait_protected()
    wait_for("rp b is in step", in_step, count=60, wait=0.5)


def test_state_fits_the_yang_model(tmp_path):
    validate_instance(show_json_to_instance(rp_json(gear("r1"), "a")), str(tmp_path))


def test_a_stopped_standby_costs_protection_never_a_keepalive():
    before = gobgp_sessions()
    capture = Capture(get_topogen(), ["peers"], R1_ADDRS)
    capture.mark("stop")
    pid = rp_pid(gear("r1"), "b")
    gear("r1").cmd(f"kill -STOP {pid}")
    try:
        # The feed's table arrives; r1 sends it on to every GoBGP session.
        gear("feed").cmd(f"sed -i 's/export none/export where source = RTS_STATIC/' "
                         f"{confdir_of(__name__)}/feed/bird.conf && "
                         f"birdc -s {confdir_of(__name__)}/feed/bird.ctl configure")

        def loaded():
            r = rp_json(gear("r1"), "a")["neighbors"][FEED_ADDR]
            return None if r["session"]["receivedPrefixes"] == FEED else r["session"]["receivedPrefixes"]

        wait_for("r1 has the feed's table", loaded, count=120, wait=0.5)

        def lagging():
            ss = {a: v["session"] for a, v in rp_json(gear("r1"), "a")["neighbors"].items()}
            if any(v["stream"] == "unprotected" for v in ss.values()):
                return None
            return {a: (v["stream"], v["mirroredToStandby"], v["loggedToStandby"],
                        v["standbyLagBytes"], v["backpressureEvents"]) for a, v in ss.items()}

        wait_for("sessions the stopped standby held back go on unprotected", lagging,
                 count=240, wait=0.5)
        # vtysh on the active answers while the standby is stopped, and says
        # why sessions are no longer protected.
        t0 = time.time()
        show = rp_json(gear("r1"), "a")
        answered = time.time() - t0
        print(f"show bgp ha json on the active, standby stopped: {answered:.3f} s")
        reasons = {a: v["session"].get("notProtectedReason", "")
                   for a, v in show["neighbors"].items()
                   if v["session"]["stream"] == "unprotected"}
        assert reasons, streams("a")
        assert all("standby" in why for why in reasons.values()), reasons
        assert any("standby lagging" in why for why in reasons.values()), reasons
        time.sleep(HOLD + 2)
        after = gobgp_sessions()
        for a, v in before.items():
            assert after[a]["established"], (a, after[a])
            assert (after[a]["flops"], after[a]["notifications"]) == (v["flops"], v["notifications"]), \
                (a, v, after[a])
    finally:
        gear("r1").cmd(f"kill -CONT {pid}")
    capture.stop()
    gaps = r1_gaps(capture, "peers", "stop")
    print(f"longest gap between r1's messages per session while the standby was stopped: {gaps}")
    assert gaps and all(g is not None and g <= KEEPALIVE + 1 for g in gaps.values()), gaps
    wire = capture.summary("peers", since="stop")
    assert wire["fin_or_rst_from_r1"] == 0, wire
    assert wire["notifications"] == 0, wire


def test_protected_again_then_kill9_is_transparent():
    wait_pair(gear("r1"), "a", "b", epoch=1)
    wait_protected(count=180)
    wait_for("rp b is in step", in_step, count=120, wait=0.5)
    lag = {a: v["session"] for a, v in rp_json(gear("r1"), "a")["neighbors"].items()}
    assert any(s["backpressureEvents"] > 0 for s in lag.values()), lag
    before = gobgp_sessions()
    capture = Capture(get_topogen(), ["peers"], R1_ADDRS)
    capture.mark("kill")
    kill_rp(gear("r1"), "a")
    wait_for("rp b is active", lambda: None if rp_json(gear("r1"), "b")["role"] == "active"
             else "not yet", count=40, wait=0.25)
    time.sleep(HOLD + 3)
    after = gobgp_sessions()
    for a, v in before.items():
        assert after[a]["established"], (a, after[a])
        assert (after[a]["flops"], after[a]["notifications"]) == (v["flops"], v["notifications"]), \
            (a, v, after[a])
    capture.stop()
    wire = capture.summary("peers", since="kill")
    assert wire["fin_or_rst_from_r1"] == 0, wire
    assert wire["notifications"] == 0, wire
    assert wire["framing_problems"] == [], wire
    t = rp_json(gear("r1"), "b")["lastTakeover"]
    assert t["continued"] == PEERS + 1, t
