#!/usr/bin/env python3
"""
A hung active in local mode. Router r1 runs zebra and an HA pair of bgpd RPs
(a, b) with the default heartbeat and hang-detection times; r2 is a stock FRR
eBGP peer without graceful restart (transparent failover) that announces
PREFIXES prefixes; p3 runs BIRD and feeds LOAD_PREFIXES prefixes on demand.

- Under a full-table load from p3 (twice: the table, its withdrawal and the
  table again) the active is busy, not hung: it is never fenced. The
  longest heartbeat gap and I/O stall the standby saw are printed (the
  figures behind the defaults, docs/ha-pair.md).
- A standby stopped for longer than the hold time (and less than the
  hang-detection time) keeps its shadows: none ends, none is handed over
  again, the channel stays up, r2 sees nothing.
- An active stopped (SIGSTOP) for less than the hang-detection time is not
  fenced either, and the pair carries on.
- An active stopped for good is fenced by the standby (its process is
  killed), the standby takes over, and r2's session carries on: no
  NOTIFICATION either way, the same established-since time and connection
  counters, the same routes; `show bgp ha` on the new active reports the
  fencing, its reason and its durations.
- An active whose main thread alone hangs (ptrace stops it; its I/O pthread
  and the module's thread run on, as in a deadlock) is fenced and replaced
  the same way, and r2 sees nothing.
"""
import json
import os
import sys
import time

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import Topogen, get_topogen  # noqa: E402

from ha_lib.frr_ha import (  # noqa: E402
    install_bgpd_conf,
    load_pair_router,
    load_plain_router,
    rp_json,
    rp_log,
    rp_pid,
    rp_vty_dir,
    rp_vtysh,
    start_rp,
    wait_for,
    wait_pair,
)
from ha_lib.speakers import (  # noqa: E402
    frr_session,
    start_bird,
    stop_bird,
    stop_pair_router,
    write_conf as write,
)
from ha_lib.thread_hang import hang_main_thread  # noqa: E402
from ha_lib.yang_model import show_json_to_instance, validate_instance  # noqa: E402

pytestmark = [pytest.mark.bgpd]

PREFIXES = 3000
LOAD_PREFIXES = int(os.environ.get("HA_HUNG_LOAD_PREFIXES", "100000"))
KEY = "frr-ha-topotest-key-0123"
R1 = "10.0.12.1"
R2 = ("10.0.12.2", 65002)
P3 = ("10.0.12.3", 65003)
HANG_MS = 3000  # the default


def r1_conf():
    c = ["debug bgp neighbor-events", "log timestamp precision 3",
         "router bgp 65001", " bgp router-id 10.0.0.1", " no bgp ebgp-requires-policy",
         " no bgp network import-check"]
    for addr, asn in (R2, P3):
        c += [f" neighbor {addr} remote-as {asn}", f" neighbor {addr} timers 3 10",
              f" neighbor {addr} timers connect 1"]
    c += [" address-family ipv4 unicast", "  network 10.1.0.0/24",
          # p3's table stays on r1 (to zebra, not to r2): the load is r1's.
          f"  neighbor {R2[0]} prefix-list only-r1 out",
          " exit-address-family",
          " bgp ha rp a address unix /var/run/frr/bgpd-ha-a.sock priority 200",
          " bgp ha rp b address unix /var/run/frr/bgpd-ha-b.sock",
          f" bgp ha key {KEY}",
          f" neighbor {R2[0]} ha failover-mode transparent",
          "ip prefix-list only-r1 seq 5 permit 10.1.0.0/24"]
    return c


def r2_conf():
    c = ["debug bgp neighbor-events", f"router bgp {R2[1]}", f" bgp router-id {R2[0]}",
         " no bgp ebgp-requires-policy", " no bgp network import-check",
         " bgp graceful-restart-disable",
         # Shut until the pair has formed: the session must be handed over.
         f" neighbor {R1} remote-as 65001", f" neighbor {R1} timers 3 10",
         f" neighbor {R1} timers connect 1", f" neighbor {R1} shutdown",
         " address-family ipv4 unicast"]
    c += [f"  network 172.16.{i // 256}.{i % 256}/32" for i in range(PREFIXES)]
    c += [" exit-address-family"]
    return c


def load_prefix(i):
    return f"{20 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}.0/24"


def bird_conf(confdir):
    addr, asn = P3
    c = [f'log "{confdir}/p3/bird.log" {{ warning, error, fatal }};', f"router id {addr};",
         "protocol device { }", "protocol static { ipv4;"]
    c += [f"  route {load_prefix(i)} blackhole;" for i in range(LOAD_PREFIXES)]
    c += ["}",
          "protocol bgp r1 {", f"  local {addr} as {asn};", f"  neighbor {R1} as 65001;",
          "  hold time 10; keepalive time 3; connect retry time 1; error wait time 1, 5;",
          "  disabled yes;",
          "  ipv4 { import none; export where source = RTS_STATIC; };", "}"]
    return c


def build_topo(tgen):
    tgen.add_router("r1")
    tgen.add_router("r2")
    sw = tgen.add_switch("s1")
    sw.add_link(tgen.gears["r1"])
    sw.add_link(tgen.gears["r2"])
    tgen.add_host("p3", f"{P3[0]}/24", f"via {R1}")
    sw.add_link(tgen.gears["p3"])


def confdir_of(mod_name):
    return f"/tmp/{mod_name}.conf"


def setup_module(mod):
    confdir = confdir_of(mod.__name__)
    for r in ("r1", "r2", "p3"):
        os.makedirs(f"{confdir}/{r}", exist_ok=True)
    write(f"{confdir}/r1/bgpd.conf", r1_conf())
    write(f"{confdir}/r1/zebra.conf", ["interface r1-eth0", f" ip address {R1}/24"])
    write(f"{confdir}/r2/bgpd.conf", r2_conf())
    write(f"{confdir}/r2/zebra.conf", ["interface r2-eth0", f" ip address {R2[0]}/24"])
    write(f"{confdir}/p3/bird.conf", bird_conf(confdir))
    tgen = Topogen(build_topo, mod.__name__)
    tgen.start_topology()
    load_pair_router(tgen.gears["r1"], f"{confdir}/r1")
    load_plain_router(tgen.gears["r2"], f"{confdir}/r2")
    tgen.start_router()
    start_bird(tgen.gears["p3"], f"{confdir}/p3")
    install_bgpd_conf(tgen.gears["r1"], f"{confdir}/r1/bgpd.conf")
    start_rp(tgen.gears["r1"], "a")
    start_rp(tgen.gears["r1"], "b")


def teardown_module(mod):
    confdir = confdir_of(mod.__name__)
    tgen = get_topogen()
    stop_bird(tgen.gears["p3"], f"{confdir}/p3")
    stop_pair_router(tgen)


def gear(name):
    return get_topogen().gears[name]


def birdc(command):
    return gear("p3").cmd(f"birdc -s {confdir_of(__name__)}/p3/bird.ctl {command}")


def r2_view():
    """What r2 knows of its session to r1."""
    return frr_session(gear("r2"), R1)


def same_session(before, after):
    """The established-since time comes from an uptime in seconds: it may
    read one second apart for the same session."""
    a = dict(after)
    if a["establishedEpoch"] is not None and before["establishedEpoch"] is not None \
            and abs(a["establishedEpoch"] - before["establishedEpoch"]) <= 1:
        a["establishedEpoch"] = before["establishedEpoch"]
    return a == before


def streams(rp):
    return {n: v.get("session", {}).get("stream")
            for n, v in rp_json(gear("r1"), rp)["neighbors"].items() if n == R2[0]}


def wait_protected(active, standby):
    wait_for(f"rp {active} mirrors r2's session",
             lambda: None if streams(active) == {R2[0]: "mirroring"} else str(streams(active)),
             count=60, wait=0.5)
    wait_for(f"rp {standby} shadows r2's session",
             lambda: None if streams(standby) == {R2[0]: "shadow"} else str(streams(standby)),
             count=60, wait=0.5)


def role_of(rp):
    """The RP's role; None while it does not answer (stopped, killed)."""
    out = rp_vtysh(gear("r1"), rp, "show bgp ha json")
    try:
        return json.loads(out).get("role")
    except ValueError:
        return None


def p3_prefixes(rp):
    n = rp_json(gear("r1"), rp, f"show bgp neighbors {P3[0]} json").get(P3[0], {})
    return n.get("addressFamilyInfo", {}).get("ipv4Unicast", {}).get("acceptedPrefixCounter", 0)


def test_pair_forms_and_r2_is_protected():
    wait_pair(gear("r1"), "a", "b", epoch=1)
    gear("r2").vtysh_cmd(f"configure\nrouter bgp {R2[1]}\nno neighbor {R1} shutdown")
    wait_for("r2's session is up with r1's route",
             lambda: None if r2_view()["state"] == "Established" and r2_view()["prefixes"] == 1
             else str(r2_view()), count=60, wait=1)
    wait_protected("a", "b")
    b = rp_json(gear("r1"), "b")
    assert b["fencing"]["state"] == "watching", b["fencing"]
    assert b["fencing"]["hangDetectionMs"] == HANG_MS
    assert b["fencing"]["partnerPid"] == rp_pid(gear("r1"), "a"), b["fencing"]
    assert b["partnerProgress"]["ioReported"], b["partnerProgress"]
    assert rp_json(gear("r1"), "a")["fencing"]["state"] == "inactive"


def test_show_fits_the_yang_model(tmp_path):
    for rp in ("a", "b"):
        validate_instance(show_json_to_instance(rp_json(gear("r1"), rp)), str(tmp_path))


def hold_time_ms(rp):
    """The hold time rp's session to r2 runs with."""
    return rp_json(gear("r1"), rp, f"show bgp neighbors {R2[0]} json")[R2[0]]["bgpTimerHoldTimeMsecs"]


def set_hang_detection(ms):
    """Typed on the active; the standby follows (configuration sync)."""
    gear("r1").cmd(f"vtysh -d bgpd --vty_socket {rp_vty_dir('a')} -c 'configure terminal' "
                   f"-c 'router bgp 65001' -c 'bgp ha hang-detection {ms}'")
    wait_for(f"both RPs have hang detection {ms} ms",
             lambda: None if all(rp_json(gear("r1"), rp)["fencing"]["hangDetectionMs"] == ms
                                 for rp in ("a", "b")) else "not yet", count=20, wait=0.5)


def test_standby_stopped_past_its_shadows_hold_time_keeps_them():
    """A standby that cannot run for longer than the hold time (stopped
    here; in production busy with a load) keeps its shadows when it runs
    again: they run no hold timer of their own (their sessions live as long
    as the active's), and the active keeps a silent standby's channel for
    the hang-detection time (raised above the stop for this case)."""
    wait_pair(gear("r1"), "a", "b", epoch=1)
    wait_protected("a", "b")
    set_hang_detection(15000)
    try:
        before = r2_view()
        drops = rp_json(gear("r1"), "a")["counters"]["channelDrops"]
        seen = len(rp_log(gear("r1"), "b"))
        pid = rp_pid(gear("r1"), "b")
        gear("r1").cmd(f"kill -STOP {pid}")
        try:
            time.sleep(13)  # the hold time is 10 s
        finally:
            gear("r1").cmd(f"kill -CONT {pid}")
        time.sleep(3)
        wait_protected("a", "b")
        after = rp_log(gear("r1"), "b")[seen:]
        assert "Hold Timer Expired" not in after, after
        assert "shadow session ends" not in after and "here only" not in after, after
        assert f"{R2[0]}: shadowing the active's session" not in after, after
        # The hold time standing in while the shadow runs (docs).
        assert hold_time_ms("b") == 65535000
        assert rp_json(gear("r1"), "a")["counters"]["channelDrops"] == drops
        assert same_session(before, r2_view())
    finally:
        set_hang_detection(HANG_MS)


def progress(rp):
    p = rp_json(gear("r1"), rp)["partnerProgress"]
    return p["maxHeartbeatGapMs"], p["maxIoStallMs"]


def own_tick_gaps():
    return {rp: rp_json(gear("r1"), rp)["partnerProgress"]["maxOwnTickGapMs"] for rp in ("a", "b")}


def test_busy_active_under_a_full_table_load_is_not_fenced():
    """Not a timing assertion: the load must not look like a hang. The
    figures are printed for the record."""
    before = r2_view()
    start = time.monotonic()
    birdc("enable r1")
    wait_for(f"the active has p3's {LOAD_PREFIXES} prefixes",
             lambda: None if p3_prefixes("a") == LOAD_PREFIXES else f"{p3_prefixes('a')}",
             count=600, wait=1)
    loaded = time.monotonic() - start
    wait_for(f"the standby has p3's {LOAD_PREFIXES} prefixes",
             lambda: None if p3_prefixes("b") == LOAD_PREFIXES else f"{p3_prefixes('b')}",
             count=600, wait=1)
    first = progress("b")
    first_own = own_tick_gaps()
    # The table withdrawn, then announced again.
    birdc("disable r1")
    wait_for("the active dropped p3's table",
             lambda: None if p3_prefixes("a") == 0 else f"{p3_prefixes('a')}", count=600, wait=1)
    birdc("enable r1")
    wait_for(f"the active has p3's {LOAD_PREFIXES} prefixes again",
             lambda: None if p3_prefixes("a") == LOAD_PREFIXES else f"{p3_prefixes('a')}",
             count=600, wait=1)
    wait_for(f"the standby has p3's {LOAD_PREFIXES} prefixes again",
             lambda: None if p3_prefixes("b") == LOAD_PREFIXES else f"{p3_prefixes('b')}",
             count=600, wait=1)
    b = rp_json(gear("r1"), "b")
    print(f"load of {LOAD_PREFIXES} prefixes: {loaded:.1f} s on the active; standby saw "
          f"longest heartbeat gap / I/O stall {first[0]}/{first[1]} ms after the first load, "
          f"{b['partnerProgress']['maxHeartbeatGapMs']}/{b['partnerProgress']['maxIoStallMs']}"
          f" ms after withdrawal and reload; channel drops: {b['counters']['channelDrops']}; "
          f"longest tick gap of each RP's own main thread {first_own} after the first load, "
          f"{own_tick_gaps()} at the end")
    assert b["fencing"]["fences"] == [], b["fencing"]
    assert b["role"] == "standby"
    assert rp_json(gear("r1"), "a")["role"] == "active"
    assert same_session(before, r2_view())
    birdc("disable r1")
    wait_for("the active dropped p3's table",
             lambda: None if p3_prefixes("a") == 0 else f"{p3_prefixes('a')}", count=600, wait=1)


def test_active_stopped_for_less_than_the_hang_detection_time_is_not_fenced():
    wait_pair(gear("r1"), "a", "b", epoch=1)
    wait_protected("a", "b")
    before = r2_view()
    pid = rp_pid(gear("r1"), "a")
    gear("r1").cmd(f"kill -STOP {pid}")
    time.sleep(HANG_MS / 1000 * 0.6)
    gear("r1").cmd(f"kill -CONT {pid}")
    wait_pair(gear("r1"), "a", "b", epoch=1)
    wait_protected("a", "b")
    b = rp_json(gear("r1"), "b")
    assert b["fencing"]["fences"] == [], b["fencing"]
    assert b["partnerProgress"]["maxHeartbeatGapMs"] >= HANG_MS * 0.6 - 100, b["partnerProgress"]
    assert rp_pid(gear("r1"), "a") == pid
    assert same_session(before, r2_view())


def test_stopped_active_is_fenced_and_replaced():
    wait_pair(gear("r1"), "a", "b", epoch=1)
    wait_protected("a", "b")
    before = r2_view()
    pid = rp_pid(gear("r1"), "a")
    stopped_at = time.monotonic()
    gear("r1").cmd(f"kill -STOP {pid}")
    wait_for("rp b takes over", lambda: None if role_of("b") == "active" else "not yet",
             count=60, wait=0.25)
    took = time.monotonic() - stopped_at
    wait_for("the stopped process is gone",
             lambda: None if gear("r1").cmd(f"kill -0 {pid} 2>/dev/null && echo alive").strip() == ""
             else "alive", count=20, wait=0.25)
    assert rp_pid(gear("r1"), "a") is None
    b = rp_json(gear("r1"), "b")
    print(f"stopped -> rp b active: {took:.2f} s (seen by polling); fencing: {b['fencing']}")
    assert b["role"] == "active" and b["epoch"] == 2
    fences = b["fencing"]["fences"]
    assert len(fences) == 1, fences
    fence = fences[0]
    assert fence["pid"] == pid
    assert fence["reason"].startswith("no heartbeat for "), fence
    assert int(fence["reason"].split()[3]) > HANG_MS
    assert fence["partnerDied"] and fence["tookOver"], fence
    assert fence["diedAfterMs"] <= fence["activeAfterMs"] < 2000, fence
    assert b["switchovers"][-1]["reason"] == "partner-hung", b["switchovers"]
    text = rp_vtysh(gear("r1"), "b", "show bgp ha")
    assert f"killed process {pid}" in text and "no heartbeat for" in text, text
    log = rp_log(gear("r1"), "b")
    assert "rp a is hung (no heartbeat for" in log
    # r2 saw nothing, also for longer than its hold time.
    wait_for("r2's session continues on rp b",
             lambda: None if streams("b") == {R2[0]: "live"} else str(streams("b")),
             count=40, wait=0.5)
    # The shadow ran without a hold timer; the takeover put the negotiated
    # one back.
    assert hold_time_ms("b") == 10000
    time.sleep(12)
    after = r2_view()
    assert same_session(before, after), f"r2 saw the switchover:\n{before}\n{after}"


def test_the_new_active_has_a_standby_again(tmp_path):
    start_rp(gear("r1"), "a")
    wait_pair(gear("r1"), "b", "a", epoch=2)
    wait_protected("b", "a")
    a = rp_json(gear("r1"), "a")
    assert a["fencing"]["state"] == "watching"
    assert a["fencing"]["partnerPid"] == rp_pid(gear("r1"), "b")
    for rp in ("a", "b"):
        validate_instance(show_json_to_instance(rp_json(gear("r1"), rp)), str(tmp_path))


def test_active_whose_main_thread_hangs_is_fenced_and_replaced():
    """A hang as a deadlock leaves it: rp b's main thread stops while its
    I/O pthread and the module's own thread run on (SIGSTOP would stop them
    all). The standby hears no heartbeat for the hang-detection time, kills
    the process and takes over; r2's session carries on."""
    wait_pair(gear("r1"), "b", "a", epoch=2)
    wait_protected("b", "a")
    before = r2_view()
    pid = rp_pid(gear("r1"), "b")
    # Longer than the hang-detection time: only the fence ends it.
    hang_main_thread(gear("r1"), pid, HANG_MS / 1000 + 15, "/tmp/ha_hung_active.hang-ready")
    wait_for("rp a takes over", lambda: None if role_of("a") == "active" else "not yet",
             count=60, wait=0.25)
    wait_for("the hung process is gone",
             lambda: None if gear("r1").cmd(f"kill -0 {pid} 2>/dev/null && echo alive").strip() == ""
             else "alive", count=20, wait=0.25)
    a = rp_json(gear("r1"), "a")
    assert a["role"] == "active" and a["epoch"] == 3
    fence = a["fencing"]["fences"][-1]
    assert fence["pid"] == pid and fence["reason"].startswith("no heartbeat for "), fence
    assert fence["partnerDied"] and fence["tookOver"], fence
    assert a["switchovers"][-1]["reason"] == "partner-hung", a["switchovers"]
    wait_for("r2's session continues on rp a",
             lambda: None if streams("a") == {R2[0]: "live"} else str(streams("a")),
             count=40, wait=0.5)
    time.sleep(12)  # beyond r2's hold time
    after = r2_view()
    assert same_session(before, after), f"r2 saw the switchover:\n{before}\n{after}"
