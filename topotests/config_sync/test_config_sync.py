#!/usr/bin/env python3
"""
One configuration for the pair. Router r1 runs zebra and an HA pair of bgpd
RPs in local mode (a active, loaded with the BMP module as well; b standby,
without it). r2 and r3 are stock FRR eBGP peers without graceful restart
(transparent failover); r3 is not in r1's configuration at start.

Through a plain vtysh on r1 (it reaches the active): a neighbor (r3) with
its prefix-list and route-map is added (vtysh -f), its policy changed
(vtysh -c), lines added with frr-reload.py and `copy FILE running-config`,
another neighbor added and removed (vtysh reading stdin), and one on an
address r1's kernel has and its stopped zebra has told neither bgpd of
(each RP finds its interface through the kernel). After
each, the two RPs' running configurations are equal the moment vtysh
returns: the standby runs each line before the active does. A line the
standby cannot run (a BMP command: b lacks the module) is refused on the
active with the standby's error and changes neither. Configuration typed on
the standby is refused, naming the active. A stopped standby costs a line
one bounded wait; it catches up when it runs again. A standby restarted
with an outdated file adopts the active's configuration and becomes ready;
one that cannot adopt a line (BMP) shows it, is not ready, and a planned
switchover to it is refused.
Then kill -9 of the active: r3's session, configured at run time, is
continued with its policy in force (r3's table before and after equal, no
new connection, no NOTIFICATION).
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
    load_plain_router,
    rp_json,
    rp_log,
    rp_pid,
    rp_shared_config,
    start_rp,
    vtysh_json,
    wait_for,
    wait_pair,
)
from ha_lib.speakers import frr_session, stop_pair_router  # noqa: E402
from ha_lib.yang_model import show_json_to_instance, validate_instance  # noqa: E402

pytestmark = [pytest.mark.bgpd]

R1 = "10.0.12.1"
R3 = "10.0.12.3"
SPARE = "10.0.12.99"
# r2 announces 10.2.0.0/24 .. 10.2.7.0/24; r1 its own 10.1.0.0/24.
R3_POLICY = [
    "ip prefix-list R3-OUT seq 5 permit 10.2.0.0/22 le 24",
    "route-map R3-OUT permit 10",
    " match ip address prefix-list R3-OUT",
    "exit",
]
R3_NEIGHBOR = [
    "router bgp 65001",
    f" neighbor {R3} remote-as 65003",
    f" neighbor {R3} timers 3 10",
    f" neighbor {R3} timers connect 1",
    " address-family ipv4 unicast",
    f"  neighbor {R3} route-map R3-OUT out",
    " exit-address-family",
    "exit",
]


def build_topo(tgen):
    for name in ("r1", "r2", "r3"):
        tgen.add_router(name)
    switch = tgen.add_switch("s1")
    for name in ("r1", "r2", "r3"):
        switch.add_link(tgen.gears[name])


def setup_module(mod):
    tgen = Topogen(build_topo, mod.__name__)
    tgen.start_topology()
    load_pair_router(tgen.gears["r1"], f"{CWD}/r1")
    load_plain_router(tgen.gears["r2"], f"{CWD}/r2")
    load_plain_router(tgen.gears["r3"], f"{CWD}/r3")
    tgen.start_router()
    install_bgpd_conf(tgen.gears["r1"], f"{CWD}/r1/bgpd.conf")
    start_rp(tgen.gears["r1"], "a", extra_args="-M bmp")
    start_rp(tgen.gears["r1"], "b")


def teardown_module(mod):
    stop_pair_router(get_topogen())


def r1():
    return get_topogen().gears["r1"]


def r3():
    return get_topogen().gears["r3"]


def shared_config(rp):
    return rp_shared_config(r1(), rp)


def assert_same_config():
    a, b = shared_config("a"), shared_config("b")
    only_a = [line for line in a if line not in b]
    only_b = [line for line in b if line not in a]
    assert a == b, f"only on a: {only_a}, only on b: {only_b}"
    return a


def wait_in_step(count=40):
    def in_step():
        for rp in ("a", "b"):
            c = rp_json(r1(), rp)["configuration"]
            if not c["inStep"]:
                return f"rp {rp}: {c['state']} ({c['lastProblem']})"
        return None

    wait_for("both RPs in step", in_step, count=count, wait=0.25)


def r3_routes():
    return sorted(vtysh_json(r3(), "show ip bgp json")["routes"])


def wait_protected(active, neighbor):
    def protected():
        n = rp_json(r1(), active)["neighbors"].get(neighbor, {})
        stream = n.get("session", {}).get("stream")
        return None if stream == "mirroring" else f"{neighbor}: {stream}"

    wait_for(f"rp {active}'s session to {neighbor} is protected", protected, count=60, wait=0.5)


def test_pair_forms_in_step():
    wait_pair(r1(), "a", "b", epoch=1)
    wait_in_step()
    config = assert_same_config()
    assert " bgp ha key frr-ha-topotest-key-0123" in config
    a = rp_json(r1(), "a")["configuration"]
    b = rp_json(r1(), "b")["configuration"]
    assert a["digest"] == b["digest"] and len(a["digest"]) == 64
    # The digest covers the configuration: not that of an empty one.
    assert a["digest"] != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_neighbor_and_policy_added_with_vtysh_f():
    # vtysh -f: the file holds configuration lines only.
    out = r1().vtysh_multicmd("\n".join([*R3_POLICY, *R3_NEIGHBOR]), pretty_output=False)
    assert "%" not in out, out
    config = assert_same_config()
    assert f" neighbor {R3} remote-as 65003" in config
    assert "route-map R3-OUT permit 10" in config
    a = rp_json(r1(), "a")["configuration"]
    assert a["linesForwarded"] >= len(R3_POLICY) + len(R3_NEIGHBOR), a
    assert rp_json(r1(), "b")["configuration"]["linesMirrored"] >= a["linesForwarded"]

    def r3_up():
        s = frr_session(r3(), R1)
        if s["state"] != "Established":
            return f"r3: {s['state']}"
        routes = r3_routes()
        want = [f"10.2.{i}.0/24" for i in range(4)]
        return None if routes == want else f"r3 holds {routes}"

    wait_for("r3's session up, with the policy in force", r3_up)
    wait_protected("a", R3)
    wait_in_step()


def test_policy_changed_with_vtysh_c():
    out = r1().cmd(
        "vtysh -c 'configure terminal' "
        "-c 'no ip prefix-list R3-OUT seq 5 permit 10.2.0.0/22 le 24' "
        "-c 'ip prefix-list R3-OUT seq 5 permit 10.2.0.0/23 le 24' 2>&1")
    assert "%" not in out, out
    config = assert_same_config()
    assert "ip prefix-list R3-OUT seq 5 permit 10.2.0.0/23 le 24" in config
    wait_for("r3 gets what the changed policy allows",
             lambda: None if r3_routes() == ["10.2.0.0/24", "10.2.1.0/24"] else r3_routes())


def test_frr_reload_and_copy_reach_both():
    """frr-reload.py (it diffs the running configuration against a file and
    applies the difference with vtysh) and `copy FILE running-config`."""
    running = "\n".join(
        line for line in r1().vtysh_cmd("show running-config", daemon="bgpd").splitlines()
        if not line.startswith(("Building configuration", "Current configuration")))
    target = running.replace("\nend", "\nip prefix-list RELOADED seq 5 permit 10.5.0.0/16\nend")
    assert target != running
    r1().cmd(f"cat > /tmp/config_sync-target.conf << 'EOF'\n{target}\nEOF")
    out = r1().cmd("/usr/bin/python3 /usr/lib/frr/frr-reload.py --reload --daemon bgpd "
                   "--stdout /tmp/config_sync-target.conf 2>&1")
    config = assert_same_config()
    assert "ip prefix-list RELOADED seq 5 permit 10.5.0.0/16" in config, out
    r1().cmd("printf 'ip prefix-list COPIED seq 5 permit 10.6.0.0/16\\n' > /tmp/config_sync-copy.conf")
    out = r1().cmd("vtysh -c 'copy /tmp/config_sync-copy.conf running-config' 2>&1")
    config = assert_same_config()
    assert "ip prefix-list COPIED seq 5 permit 10.6.0.0/16" in config, out


def test_neighbor_added_and_removed_from_stdin():
    r1().vtysh_cmd(f"configure terminal\nrouter bgp 65001\nneighbor {SPARE} remote-as 65099")
    assert f" neighbor {SPARE} remote-as 65099" in assert_same_config()
    r1().vtysh_cmd(f"configure terminal\nrouter bgp 65001\nno neighbor {SPARE}")
    assert f" neighbor {SPARE} remote-as 65099" not in assert_same_config()


def r2():
    return get_topogen().gears["r2"]


def test_a_neighbor_on_an_address_zebra_has_not_told_of_comes_up_protected():
    """An address given to r1 while its zebra is stopped (SIGSTOP): the
    kernel has it, neither bgpd has heard of it (as a standby started next
    to a busy active hears of a thousand addresses minutes late). A neighbor
    added at run time on it comes up, and is handed to the standby, whose
    shadow takes the session: each RP finds the address's interface through
    the kernel, where stock bgpd says "nexthop_set failed, resetting
    connection" and tries again until zebra answers."""
    r1_address, r2_address = "10.0.12.98", "10.0.12.22"
    zebra = r1().cmd("cat /var/run/frr/zebra.pid").strip()
    assert zebra.isdigit(), zebra
    logs_before = {rp: rp_log(r1(), rp).count("nexthop_set failed") for rp in ("a", "b")}
    r2().cmd(f"ip addr add {r2_address}/24 dev r2-eth0")
    r2().vtysh_cmd(f"configure terminal\nrouter bgp 65002\n"
                   f"neighbor {r1_address} remote-as 65001\n"
                   f"neighbor {r1_address} update-source {r2_address}\n"
                   f"neighbor {r1_address} timers 3 10\nneighbor {r1_address} timers connect 1")
    r1().cmd(f"kill -STOP {zebra}")
    try:
        r1().cmd(f"ip addr add {r1_address}/24 dev r1-eth0")
        # vtysh -d bgpd: a plain vtysh would wait for the stopped zebra.
        out = r1().cmd(
            "vtysh -d bgpd -c 'configure terminal' -c 'router bgp 65001' "
            f"-c 'neighbor {r2_address} remote-as 65002' "
            f"-c 'neighbor {r2_address} update-source {r1_address}' "
            f"-c 'neighbor {r2_address} timers 3 10' "
            f"-c 'neighbor {r2_address} timers connect 1' 2>&1")
        assert "%" not in out, out

        def up():
            s = frr_session(r2(), r1_address)
            # r1's own 10.1.0.0/24: r2's prefixes are not sent back to it.
            return None if (s["state"], s["prefixes"]) == ("Established", 1) else f"r2: {s}"

        wait_for("r2's session to the new address is up, r1's route in", up, count=40, wait=0.5)
        wait_protected("a", r2_address)

        def shadowed():
            n = rp_json(r1(), "b")["neighbors"].get(r2_address, {})
            stream = n.get("session", {}).get("stream")
            return None if stream == "shadow" else f"rp b: {stream}"

        wait_for("rp b shadows it", shadowed, count=40, wait=0.5)
        session = frr_session(r2(), r1_address)
        time.sleep(4)  # beyond the keepalive interval: the session stays as it was
        assert frr_session(r2(), r1_address) == session
        assert session["established"] == 1 and session["dropped"] == 0, session
        for rp in ("a", "b"):
            assert rp_log(r1(), rp).count("nexthop_set failed") == logs_before[rp], rp
    finally:
        r1().cmd(f"kill -CONT {zebra}")
    r1().cmd(f"vtysh -d bgpd -c 'configure terminal' -c 'router bgp 65001' "
             f"-c 'no neighbor {r2_address}'")
    r2().vtysh_cmd(f"configure terminal\nrouter bgp 65002\nno neighbor {r1_address}")
    r1().cmd(f"ip addr del {r1_address}/24 dev r1-eth0")
    r2().cmd(f"ip addr del {r2_address}/24 dev r2-eth0")
    assert f"neighbor {r2_address}" not in "\n".join(assert_same_config())
    wait_in_step()


def test_a_line_the_standby_cannot_run_is_refused_on_both():
    before = assert_same_config()
    out = r1().cmd("vtysh -c 'configure terminal' -c 'router bgp 65001' "
                   "-c 'bmp targets T1' 2>&1")
    assert "The standby (rp b) refused this line" in out, out
    assert "applied on neither" in out, out
    assert assert_same_config() == before
    assert not any("bmp" in line for line in before)
    assert rp_json(r1(), "a")["configuration"]["linesRefusedByStandby"] >= 1
    wait_in_step()


def test_configuration_typed_on_the_standby_is_refused():
    before = assert_same_config()
    out = r1().cmd("vtysh -d bgpd --vty_socket /var/run/frr/ha-b -c 'configure terminal' "
                   "-c 'router bgp 65001' -c 'neighbor 10.0.12.50 remote-as 65050' 2>&1")
    assert "is the standby: its configuration follows the active's" in out, out
    assert "rp a" in out, out
    assert assert_same_config() == before
    # What concerns the standby alone is allowed there.
    out = r1().cmd("vtysh -d bgpd --vty_socket /var/run/frr/ha-b -c 'configure terminal' "
                   "-c 'debug bgp updates' -c 'no debug bgp updates' 2>&1")
    assert "%" not in out, out


def test_a_stopped_standby_catches_up():
    pid = rp_pid(r1(), "b")
    r1().cmd(f"kill -STOP {pid}")
    try:
        out = r1().cmd("vtysh -c 'configure terminal' "
                       "-c 'ip prefix-list SLOW seq 5 permit 10.9.0.0/16' 2>&1")
        assert "%" not in out, out
        a = rp_json(r1(), "a")["configuration"]
        assert a["linesRunAlone"] >= 1 and not a["inStep"], a
        assert "did not answer" in a["lastProblem"], a
        # Further lines run at once: the standby no longer follows.
        out = r1().cmd("vtysh -c 'configure terminal' "
                       "-c 'ip prefix-list SLOW seq 10 permit 10.8.0.0/16' 2>&1")
        assert "%" not in out, out
    finally:
        r1().cmd(f"kill -CONT {pid}")
    wait_pair(r1(), "a", "b")
    wait_in_step()
    assert "ip prefix-list SLOW seq 10 permit 10.8.0.0/16" in assert_same_config()


def test_standby_restarted_with_an_outdated_file_adopts():
    old = "/etc/frr/bgpd-outdated.conf"
    with open(f"{CWD}/r1/bgpd.conf") as f:
        text = f.read()
    # What the file lacks (r3, the policy) and what it has too many.
    text = text.replace(" neighbor 10.0.12.2 timers connect 1\n",
                        " neighbor 10.0.12.2 timers connect 1\n"
                        " neighbor 10.0.12.77 remote-as 65077\n")
    text += "ip prefix-list STALE seq 5 permit 10.7.0.0/16\n"
    r1().cmd(f"cat > {old} << 'EOF'\n{text}EOF\nchown frr:frr {old}")
    kill_rp(r1(), "b", "TERM")
    start_rp(r1(), "b", config=old)
    wait_pair(r1(), "a", "b")
    config = assert_same_config()
    assert " neighbor 10.0.12.77 remote-as 65077" not in config
    assert f" neighbor {R3} remote-as 65003" in config
    b = rp_json(r1(), "b")["configuration"]
    assert b["adoptions"] >= 1 and b["differences"] == [], b


def test_a_difference_the_standby_cannot_adopt_is_shown_and_blocks_a_switchover():
    """A line only the active can run (BMP: b lacks the module), made while
    no standby follows: the standby that joins adopts what it can, shows
    what it cannot, is not ready, and no planned switchover goes to it."""
    kill_rp(r1(), "b", "TERM")
    out = r1().cmd("vtysh -c 'configure terminal' -c 'router bgp 65001' "
                   "-c 'bmp targets T1' 2>&1")
    assert "%" not in out, out
    start_rp(r1(), "b")

    def differs():
        c = rp_json(r1(), "b")["configuration"]
        return None if c["state"] == "differs" else f"{c['state']}: {c['differences']}"

    wait_for("rp b shows what it could not adopt", differs, count=60, wait=0.5)
    b = rp_json(r1(), "b")
    assert any("bmp targets T1" in line for line in b["configuration"]["differences"]), b
    assert not b["ready"] and "configuration differs" in b["notReadyReason"], b
    out = r1().vtysh_cmd("bgp ha switchover")
    assert "Switchover refused" in out and "bmp targets T1" in out, out
    assert rp_json(r1(), "a")["role"] == "active"
    # Once the active no longer has it, the standby follows again.
    out = r1().cmd("vtysh -c 'configure terminal' -c 'router bgp 65001' "
                   "-c 'no bmp targets T1' 2>&1")
    assert "%" not in out, out
    wait_pair(r1(), "a", "b")
    wait_in_step()
    assert_same_config()


def test_state_fits_the_yang_model(tmp_path):
    for rp in ("a", "b"):
        validate_instance(show_json_to_instance(rp_json(r1(), rp)), str(tmp_path))


def test_kill9_continues_the_neighbor_added_at_run_time():
    wait_protected("a", R3)
    wait_protected("a", "10.0.12.2")
    before = frr_session(r3(), R1)
    routes = r3_routes()
    assert routes == ["10.2.0.0/24", "10.2.1.0/24"]
    kill_rp(r1(), "a", "KILL")

    def taken_over():
        b = rp_json(r1(), "b")
        return None if b["role"] == "active" else b["role"]

    wait_for("rp b takes over", taken_over, count=40, wait=0.25)
    time.sleep(5)  # longer than r3's keepalive interval
    after = frr_session(r3(), R1)
    assert after["state"] == "Established"
    for key in ("established", "dropped", "notificationsRecv"):
        assert after[key] == before[key], (key, before, after)
    # FRR derives the epoch from the uptime: it may move by a second.
    assert abs(after["establishedEpoch"] - before["establishedEpoch"]) <= 1, (before, after)
    assert r3_routes() == routes, "the policy is in force on the new active"
    t = rp_json(r1(), "b")["lastTakeover"]
    assert t["continued"] >= 2, t
