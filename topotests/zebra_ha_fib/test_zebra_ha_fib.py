#!/usr/bin/env python3
"""
Forwarding while route processors come and go (zebra -M ha). Router r1 runs
zebra and an HA pair of bgpd RPs; r2 announces 10 000 prefixes that r1
installs in its kernel.

Checked:
- restarting the standby several times (kill -9, then start again) while the
  active runs never touches a route of the active: `ip monitor route` in r1
  records no change at all, and the kernel's table never shrinks;
- kill -9 of the active: the standby takes over and the sessions start anew
  (transparent failover is not part of this test); zebra keeps every route,
  lets the new active's identical routes take over without reprogramming the
  kernel, adds the prefix r2 added meanwhile, and removes the one r2 withdrew
  meanwhile as soon as the new active says it has sent everything (well
  before the sweep timer). `ip monitor route` shows exactly those two
  changes; the sampled table never loses another route;
- a planned switchover back, with a neighbor that never comes up (so the new
  active never says it is done): `ip monitor route` records no change at
  all, and the resync window is closed by the sweep timer.
"""
import json
import os
import sys
import time

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import get_topogen  # noqa: E402

from ha_lib.frr_ha import (  # noqa: E402
    kill_rp,
    rp_json,
    rp_pid,
    rp_vty_dir,
    start_local_pair,
    start_rp,
    stop_pairs,
    wait_for,
    wait_pair,
)

pytestmark = [pytest.mark.bgpd]

PREFIXES = 10000
SWEEP_SECONDS = 20
WITHDRAWN = "172.16.0.5"  # r2 withdraws it while r1 changes RP
ADDED = "192.0.2.77"  # r2 adds it while r1 changes RP
CONF = os.path.join(CWD, "..", "ha_pair_local")


def r2_config(path):
    lines = [
        "router bgp 65002",
        " bgp router-id 10.0.0.2",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " neighbor 10.0.12.1 remote-as 65001",
        " neighbor 10.0.12.1 timers 3 10",
        " neighbor 10.0.12.1 timers connect 1",
        " address-family ipv4 unicast",
    ]
    lines += [f"  network 172.{16 + i // 65536}.{(i // 256) % 256}.{i % 256}/32" for i in range(PREFIXES)]
    lines += [" exit-address-family", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def setup_module(mod):
    # The local pair of ha_pair_local, with r2 announcing PREFIXES routes.
    confdir = f"/tmp/{mod.__name__}.conf"
    os.makedirs(f"{confdir}/r1", exist_ok=True)
    os.makedirs(f"{confdir}/r2", exist_ok=True)
    for name in ("zebra.conf", "bgpd.conf"):
        with open(f"{CONF}/r1/{name}") as src, open(f"{confdir}/r1/{name}", "w") as dst:
            dst.write(src.read())
    with open(f"{CONF}/r2/zebra.conf") as src, open(f"{confdir}/r2/zebra.conf", "w") as dst:
        dst.write(src.read())
    r2_config(f"{confdir}/r2/bgpd.conf")
    start_local_pair(mod.__name__, confdir, f"-M ha:sweep={SWEEP_SECONDS}")


def teardown_module(mod):
    stop_pairs({"r1": ("a", "b")})


def r1():
    return get_topogen().gears["r1"]


def kernel_routes():
    return int(r1().cmd("ip -4 route show proto bgp | wc -l").strip())


def test_table_installed():
    wait_pair(r1(), "a", "b", epoch=1)
    wait_for(f"r1's kernel holds {PREFIXES} BGP routes",
             lambda: None if kernel_routes() >= PREFIXES else f"{kernel_routes()} routes",
             count=120, wait=1)


def test_standby_restarts_never_touch_the_fib():
    monitor = "/tmp/zebra_ha_fib.monitor"
    r1().cmd(f"rm -f {monitor}; (ip monitor route > {monitor} 2>&1 &) ; sleep 0.5")
    counts = []
    try:
        for _ in range(3):
            kill_rp(r1(), "b")
            counts.append(kernel_routes())
            time.sleep(1)
            counts.append(kernel_routes())
            start_rp(r1(), "b")
            wait_pair(r1(), "a", "b", epoch=1)
            counts.append(kernel_routes())
    finally:
        r1().cmd("pkill -f 'ip monitor route'")
    changes = r1().cmd(f"cat {monitor}").strip()
    assert changes == "", f"the FIB changed while the standby restarted:\n{changes[:2000]}"
    assert min(counts) >= PREFIXES, f"kernel route counts sampled: {counts}"


def r2():
    return get_topogen().gears["r2"]


def zebra_ha():
    return json.loads(r1().vtysh_cmd("show zebra ha json"))


def test_kill9_of_active_keeps_unchanged_routes_untouched():
    monitor = "/tmp/zebra_ha_fib.kill9.monitor"
    samples = "/tmp/zebra_ha_fib.kill9.samples"
    r1().cmd(f"rm -f {monitor} {samples}; (ip monitor route > {monitor} 2>&1 &) ; "
             f"(while true; do ip -4 route show proto bgp | wc -l; sleep 0.1; done > {samples} 2>&1 &); sleep 0.5")
    try:
        # Freeze the active so that r2's changes reach only its socket, then
        # kill it: the new active learns them from r2, as a peer's changes
        # during a switchover.
        r1().cmd(f"kill -STOP {rp_pid(r1(), 'a')}")
        r2().cmd(f"vtysh -c 'configure terminal' -c 'router bgp 65002' "
                 f"-c 'address-family ipv4 unicast' -c 'no network {WITHDRAWN}/32' "
                 f"-c 'network {ADDED}/32'")
        time.sleep(0.5)
        killed_at = time.time()
        kill_rp(r1(), "a")
        wait_for("rp b takes over",
                 lambda: None if rp_json(r1(), "b")["role"] == "active" else "not yet",
                 count=40, wait=0.25)

        def resynced():
            kernel = r1().cmd("ip -4 route show proto bgp")
            if f"{ADDED} " not in kernel:
                return "the added prefix is not installed yet"
            if f"{WITHDRAWN} " in kernel:
                return "the withdrawn prefix is still installed (sweep pending)"
            return None

        wait_for("the new active's table is in the kernel, swept", resynced,
                 count=4 * (SWEEP_SECONDS + 20), wait=0.25)
    finally:
        r1().cmd("pkill -f 'ip monitor route'; pkill -f 'ip -4 route show proto bgp'; "
                 "pkill -f 'while true; do ip -4 route'")
    events = [line for line in r1().cmd(f"cat {monitor}").splitlines() if line.strip()]
    changed = {(line.startswith("Deleted"), line.split()[1 if line.startswith("Deleted") else 0])
               for line in events}
    assert changed == {(True, WITHDRAWN), (False, ADDED)}, \
        f"FIB changes other than the real ones ({len(events)} events):\n" + "\n".join(events[:20])
    counts = [int(x) for x in r1().cmd(f"cat {samples}").split() if x.isdigit()]
    assert counts and min(counts) >= PREFIXES - 1, f"the table shrank: min {min(counts)}"
    ha = zebra_ha()
    assert ha["counters"]["fibUpdatesSkipped"] >= PREFIXES - 1, ha
    assert ha["counters"]["routesSwept"] == 1 and ha["counters"]["sweeps"] == 1, ha
    assert ha["counters"]["timerSweeps"] == 0, "the new active never said it was done"
    assert time.time() - killed_at < SWEEP_SECONDS, "swept by the timer, not on the new active's word"
    assert ha["resync"]["active"] is False
    start_rp(r1(), "a")
    wait_pair(r1(), "b", "a")


def test_planned_switchover_leaves_the_fib_alone():
    monitor = "/tmp/zebra_ha_fib.planned.monitor"
    for rp in ("a", "b"):  # a neighbor that never comes up
        r1().cmd(f"vtysh -d bgpd --vty_socket {rp_vty_dir(rp)} -c 'configure terminal' "
                 "-c 'router bgp 65001' -c 'neighbor 10.0.12.99 remote-as 65099'")
    wait_pair(r1(), "b", "a")
    before = zebra_ha()["counters"]
    r1().cmd(f"rm -f {monitor}; (ip monitor route > {monitor} 2>&1 &) ; sleep 0.5")
    try:
        out = r1().vtysh_cmd("bgp ha switchover")
        assert "Switchover started" in out, out
        wait_pair(r1(), "a", "b")
        assert zebra_ha()["resync"]["active"] is True

        def swept():
            ha = zebra_ha()
            return None if ha["counters"]["sweeps"] == before["sweeps"] + 1 else ha["resync"]

        wait_for("the resync window of the handover closes", swept,
                 count=4 * (SWEEP_SECONDS + 20), wait=0.25)
    finally:
        r1().cmd("pkill -f 'ip monitor route'")
    changes = r1().cmd(f"cat {monitor}").strip()
    assert changes == "", f"the FIB changed in a planned switchover:\n{changes[:2000]}"
    after = zebra_ha()["counters"]
    assert after["timerSweeps"] == before["timerSweeps"] + 1
    assert after["routesSwept"] == before["routesSwept"]
    assert after["fibUpdatesSkipped"] >= before["fibUpdatesSkipped"] + PREFIXES
    assert kernel_routes() == PREFIXES


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))
