#!/usr/bin/env python3
"""
Forwarding while route processors come and go (zebra -M ha). Router r1 runs
zebra and an HA pair of bgpd RPs; r2 announces 10 000 IPv4 and 2 000 IPv6
prefixes that r1 installs in its kernel.

Checked:
- restarting the standby several times (kill -9, then start again) while the
  active runs never touches a route of the active: `ip monitor route` in r1
  records no change at all, and the kernel's table never shrinks;
- kill -9 of the active: the standby takes over and the sessions start anew
  (failover mode none: transparent failover is tf_local's); zebra keeps every route,
  lets the new active's identical routes take over without reprogramming the
  kernel, adds the prefix r2 added meanwhile, replaces the one whose next hop
  r2 changed meanwhile, and removes the one r2 withdrew meanwhile as soon as
  the new active says it has sent everything (well before the sweep timer).
  `ip monitor route` shows exactly those three changes; the sampled table
  never loses another route;
- a planned switchover back, with a neighbor that never comes up (so the new
  active never says it is done): `ip monitor route` records no change at
  all, and the resync window is closed by the sweep timer;
- a route the active installs in the very second it dies (r2 announces it,
  the active installs it, r2 withdraws it while the active is frozen, the
  active is killed, all within one second of zebra's clock): the new active
  never sends it, and its "route update complete" removes it from zebra's
  RIB and from the kernel.
"""
import json
import os
import sys
import time

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import get_topogen  # noqa: E402
from lib.topolog import logger  # noqa: E402

from ha_lib.yang_model import show_zebra_json_to_instance, validate_instance  # noqa: E402
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
PREFIXES_V6 = 2000
SWEEP_SECONDS = 20
WITHDRAWN = "172.16.0.5"  # r2 withdraws it while r1 changes RP
ADDED = "192.0.2.77"  # r2 adds it while r1 changes RP
CHANGED = "172.16.0.7"  # r2 moves its next hop to 10.0.12.3 while r1 changes RP
LAST = "198.51.100.1"  # installed by the active in its last second
CONF = os.path.join(CWD, "..", "ha_pair_local")


def write(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def configs(confdir):
    """r1 (the pair, as in ha_pair_local) and r2 with an IPv4 and an IPv6
    session; r2 announces PREFIXES IPv4 and PREFIXES_V6 IPv6 prefixes."""
    with open(f"{CONF}/r1/bgpd.conf") as f:
        # Without ha_pair_local's passive neighbor that never comes up (its
        # listener probe): until every neighbor is up, the new active does
        # not tell zebra it is done, and the first tests here wait for that.
        r1_bgp = [line for line in f.read().splitlines() if "10.0.12.98" not in line]
    at = r1_bgp.index(" address-family ipv4 unicast")
    # This test is about zebra: the sessions restart at each switchover
    # (failover mode none) so that the new active sends every route again.
    r1_bgp = [line.replace("ha failover-mode transparent", "ha failover-mode none")
              for line in r1_bgp]
    r1_bgp.append(" neighbor fd00:12::2 ha failover-mode none")
    r1_bgp[at:at] = [" neighbor fd00:12::2 remote-as 65002",
                     " neighbor fd00:12::2 timers 3 10",
                     " neighbor fd00:12::2 timers connect 1"]
    at = r1_bgp.index(" exit-address-family") + 1
    r1_bgp[at:at] = [" address-family ipv4 unicast", "  no neighbor fd00:12::2 activate",
                     " exit-address-family", " address-family ipv6 unicast",
                     "  neighbor fd00:12::2 activate", " exit-address-family"]
    write(f"{confdir}/r1/bgpd.conf", r1_bgp)
    write(f"{confdir}/r1/zebra.conf", ["interface r1-eth0", " ip address 10.0.12.1/24",
                                       " ipv6 address fd00:12::1/64", "!", "ip forwarding",
                                       "ipv6 forwarding"])
    write(f"{confdir}/r2/zebra.conf", ["interface r2-eth0", " ip address 10.0.12.2/24",
                                       " ipv6 address fd00:12::2/64", "!", "ip forwarding",
                                       "ipv6 forwarding"])
    r2 = ["router bgp 65002", " bgp router-id 10.0.0.2", " no bgp ebgp-requires-policy",
          " no bgp network import-check"]
    for n in ("10.0.12.1", "fd00:12::1"):
        r2 += [f" neighbor {n} remote-as 65001", f" neighbor {n} timers 3 10",
               f" neighbor {n} timers connect 1"]
    r2 += [" address-family ipv4 unicast", "  no neighbor fd00:12::1 activate"]
    r2 += [f"  network 172.{16 + i // 65536}.{(i // 256) % 256}.{i % 256}/32"
           for i in range(PREFIXES)]
    r2 += [" exit-address-family", " address-family ipv6 unicast",
           "  neighbor fd00:12::1 activate"]
    r2 += [f"  network 2001:db8:{i:x}::/48" for i in range(PREFIXES_V6)]
    r2 += [" exit-address-family"]
    write(f"{confdir}/r2/bgpd.conf", r2)


def setup_module(mod):
    confdir = f"/tmp/{mod.__name__}.conf"
    for r in ("r1", "r2"):
        os.makedirs(f"{confdir}/{r}", exist_ok=True)
    configs(confdir)
    start_local_pair(mod.__name__, confdir, f"-M ha:sweep={SWEEP_SECONDS}")


def teardown_module(mod):
    stop_pairs({"r1": ("a", "b")})


def r1():
    return get_topogen().gears["r1"]


def kernel_routes(family="-4"):
    return int(r1().cmd(f"ip {family} route show proto bgp | wc -l").strip())


def test_table_installed():
    wait_pair(r1(), "a", "b", epoch=1)
    wait_for(f"r1's kernel holds {PREFIXES} + {PREFIXES_V6} BGP routes",
             lambda: None if (kernel_routes(), kernel_routes("-6")) == (PREFIXES, PREFIXES_V6)
             else f"{kernel_routes()} + {kernel_routes('-6')} routes",
             count=120, wait=1)


def test_standby_restarts_never_touch_the_fib():
    monitor = "/tmp/zebra_ha_fib.monitor"
    r1().cmd(f"rm -f {monitor}; (ip monitor route > {monitor} 2>&1 &) ; sleep 0.5")
    counts = []
    try:
        for _ in range(3):
            kill_rp(r1(), "b")
            counts.append((kernel_routes(), kernel_routes("-6")))
            time.sleep(1)
            counts.append((kernel_routes(), kernel_routes("-6")))
            start_rp(r1(), "b")
            wait_pair(r1(), "a", "b", epoch=1)
            counts.append((kernel_routes(), kernel_routes("-6")))
    finally:
        r1().cmd("pkill -f 'ip monitor route'")
    changes = r1().cmd(f"cat {monitor}").strip()
    assert changes == "", f"the FIB changed while the standby restarted:\n{changes[:2000]}"
    assert set(counts) == {(PREFIXES, PREFIXES_V6)}, f"kernel route counts sampled: {counts}"


def r2():
    return get_topogen().gears["r2"]


def zebra_ha():
    return json.loads(r1().vtysh_cmd("show zebra ha json"))


def test_kill9_of_active_keeps_unchanged_routes_untouched():
    monitor = "/tmp/zebra_ha_fib.kill9.monitor"
    samples = "/tmp/zebra_ha_fib.kill9.samples"
    r1().cmd(f"rm -f {monitor} {samples}; (ip monitor route > {monitor} 2>&1 &) ; "
             f"(while true; do echo $(ip -4 route show proto bgp | wc -l) $(ip -6 route show proto bgp | wc -l); "
             f"sleep 0.1; done > {samples} 2>&1 &); sleep 0.5")
    try:
        # Freeze the active so that r2's changes reach only its socket, then
        # kill it: the new active learns them from r2, as a peer's changes
        # during a switchover.
        r1().cmd(f"kill -STOP {rp_pid(r1(), 'a')}")
        r2().cmd(f"vtysh -c 'configure terminal' "
                 f"-c 'ip prefix-list MOVE seq 5 permit {CHANGED}/32' "
                 "-c 'route-map MOVE permit 10' -c 'match ip address prefix-list MOVE' "
                 "-c 'set ip next-hop 10.0.12.3' -c 'exit' -c 'route-map MOVE permit 20' -c 'exit' "
                 f"-c 'router bgp 65002' -c 'address-family ipv4 unicast' "
                 f"-c 'no network {WITHDRAWN}/32' -c 'network {ADDED}/32' "
                 "-c 'neighbor 10.0.12.1 route-map MOVE out'")
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
            if not any(line.startswith(f"{CHANGED} ") and "via 10.0.12.3" in line
                       for line in kernel.splitlines()):
                return "the changed prefix is not replaced yet"
            if f"{WITHDRAWN} " in kernel:
                return "the withdrawn prefix is still installed (sweep pending)"
            return None

        wait_for("the new active's table is in the kernel, swept", resynced,
                 count=4 * (SWEEP_SECONDS + 20), wait=0.25)
    finally:
        r1().cmd("pkill -f 'while true; do echo'; pkill -f 'ip monitor route'")
    events = [line for line in r1().cmd(f"cat {monitor}").splitlines() if line.strip()]
    touched = {}
    for line in events:
        deleted = line.startswith("Deleted")
        touched.setdefault(line.split()[1 if deleted else 0], []).append(line)
    report = f"FIB changes ({len(events)} events):\n" + "\n".join(events[:20])
    assert set(touched) == {WITHDRAWN, ADDED, CHANGED}, report
    assert all(line.startswith("Deleted") for line in touched[WITHDRAWN]), report
    assert not any(line.startswith("Deleted") for line in touched[ADDED]), report
    assert "via 10.0.12.3" in touched[CHANGED][-1] and not touched[CHANGED][-1].startswith("Deleted"), report
    counts = [tuple(int(x) for x in line.split()) for line in r1().cmd(f"cat {samples}").splitlines()
              if len(line.split()) == 2]
    assert counts, "no samples"
    assert min(c[0] for c in counts) >= PREFIXES - 1, f"the IPv4 table shrank: {min(counts)}"
    assert min(c[1] for c in counts) == PREFIXES_V6, f"the IPv6 table shrank: {min(counts)}"
    ha = zebra_ha()
    # Every route came back unchanged but the withdrawn and the moved one.
    assert ha["counters"]["fibUpdatesSkipped"] == PREFIXES - 2 + PREFIXES_V6, ha
    assert ha["counters"]["routesSwept"] == 1 and ha["counters"]["sweeps"] == 1, ha
    assert ha["counters"]["timerSweeps"] == 0, "the new active never said it was done"
    assert time.time() - killed_at < SWEEP_SECONDS, "swept by the timer, not on the new active's word"
    assert ha["resync"]["active"] is False
    start_rp(r1(), "a")
    wait_pair(r1(), "b", "a")


def test_zebra_state_fits_the_yang_model(tmp_path):
    ha = zebra_ha()
    owners = [c["socket"] for c in ha["bgpClients"] if c["routesAdded"] > 0]
    assert len(ha["bgpClients"]) == 2 and ha["ownerSocket"] == owners[0], ha
    validate_instance(show_zebra_json_to_instance(ha), str(tmp_path))
    assert "Counters:" in r1().vtysh_cmd("show zebra ha")


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
    assert after["fibUpdatesSkipped"] >= before["fibUpdatesSkipped"] + PREFIXES + PREFIXES_V6
    assert (kernel_routes(), kernel_routes("-6")) == (PREFIXES, PREFIXES_V6)


def r2_vtysh(*commands):
    args = " ".join(f"-c '{c}'" for c in commands)
    r2().cmd(f"vtysh -c 'configure terminal' -c 'router bgp 65002' "
             f"-c 'address-family ipv4 unicast' {args}")


def rib_has(prefix):
    out = r1().vtysh_cmd(f"show ip route {prefix}/32 json")
    return bool(json.loads(out or "{}").get(f"{prefix}/32"))


def install_and_drop(old, new):
    """r2 announces LAST at the start of a second of the monotonic clock
    (zebra's); as soon as r1's kernel holds it, a watcher in r1 freezes rp
    `old` (the active) so that it does not hear r2 withdraw LAST, then `old`
    is killed. Returns (t0, t1): zebra installed LAST after t0 and saw its
    client leave before t1."""
    mark = "/tmp/zebra_ha_fib.last.installed"
    pid = rp_pid(r1(), old)
    r1().cmd(f"rm -f {mark}; (timeout 30 stdbuf -oL ip monitor route | {{ grep -m1 -q '^{LAST} ' "
             f"&& kill -STOP {pid} && date +%s.%N > {mark}; }}) > /dev/null 2>&1 &")
    time.sleep(0.5)
    time.sleep(1 - time.monotonic() % 1 + 0.01)
    t0 = time.monotonic()
    w0 = time.time()
    r2_vtysh(f"network {LAST}/32")
    try:
        wait_for("r1's kernel installs the last route and the active is frozen",
                 lambda: None if r1().cmd(f"test -e {mark} && echo y").strip() == "y" else "not yet",
                 count=1000, wait=0.01)
        installed = float(r1().cmd(f"cat {mark}")) - w0
        r2_vtysh(f"no network {LAST}/32")  # what the new active will learn
    finally:
        r1().cmd(f"kill -KILL {pid}")
    wait_for("zebra sees the active leave",
             lambda: None if zebra_ha()["resync"]["active"] else "no resync window",
             count=200, wait=0.01)
    t1 = time.monotonic()
    logger.info(f"last route: in r1's kernel {installed:.3f} s after r2 announced it, "
                f"its client gone from zebra before {t1 - t0:.3f} s")
    wait_for(f"rp {old} exits", lambda: None if not rp_pid(r1(), old) else "alive",
             count=40, wait=0.25)
    wait_for(f"rp {new} takes over",
             lambda: None if rp_json(r1(), new)["role"] == "active" else "not yet",
             count=40, wait=0.25)
    return t0, t1


def test_route_installed_in_the_active_last_second_is_swept():
    # The new active must be able to say it has sent everything: the
    # neighbor that never comes up goes.
    for rp in ("a", "b"):
        r1().cmd(f"vtysh -d bgpd --vty_socket {rp_vty_dir(rp)} -c 'configure terminal' "
                 "-c 'router bgp 65001' -c 'no neighbor 10.0.12.99'")
    wait_pair(r1(), "a", "b")
    before = zebra_ha()
    assert before["resync"]["active"] is False, before
    before = before["counters"]
    assert not rib_has(LAST)

    t0, t1 = install_and_drop("a", "b")
    dropped_at = time.monotonic()
    same_second = int(t0) == int(t1)

    def swept():
        ha = zebra_ha()
        return None if ha["counters"]["sweeps"] == before["sweeps"] + 1 else ha["resync"]

    wait_for("the new active says it has sent all its routes", swept,
             count=4 * (SWEEP_SECONDS + 20), wait=0.25)
    took = time.monotonic() - dropped_at
    after = zebra_ha()["counters"]
    timing = (f"installed and dropped within [{t0:.3f}, {t1:.3f}] "
              f"({'one' if same_second else 'two'} second(s) of zebra's clock); "
              f"swept {took:.1f} s after the drop")
    logger.info(timing)
    assert not rib_has(LAST), f"the last route of the old active is still in zebra's RIB; {timing}"
    kernel = r1().cmd("ip -4 route show proto bgp")
    assert not any(line.startswith(f"{LAST} ") for line in kernel.splitlines()), \
        f"the last route of the old active is still in the kernel; {timing}"
    assert after["routesSwept"] == before["routesSwept"] + 1, (after, timing)
    assert after["timerSweeps"] == before["timerSweeps"], "swept by the timer, not on the new active's word"
    assert took < SWEEP_SECONDS, timing
    assert (kernel_routes(), kernel_routes("-6")) == (PREFIXES, PREFIXES_V6)
    # The scenario this test exists for: both within one second.
    assert same_second, f"the setup was too slow to install and drop within one second: {timing}"
    start_rp(r1(), "a")
    wait_pair(r1(), "b", "a")


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))
