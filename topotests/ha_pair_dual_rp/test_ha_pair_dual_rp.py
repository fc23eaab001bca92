#!/usr/bin/env python3
"""
The HA pair in dual-RP mode: rp a and rp b run in two namespaces (two hosts,
each with its own zebra), paired over TCP on link s0; r2 is a stock FRR peer
configured with both RP addresses on s1 (only the active's session comes up).

Checked: the pair forms over TCP; a configuration change made on the active
host reaches the standby host, and `write memory` saves both hosts' files; a
planned switchover moves the session to
rp b; when the channel link is cut, rp b (which cannot tell a cut from a
death) takes over after the detection time, and when the link heals the RP
with the older epoch steps down at once: one active, one ready standby.
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
    rp_vtysh,
    start_rp,
    vtysh_json,
    wait_for,
)

pytestmark = [pytest.mark.bgpd]

HOSTS = {"a": "rpa", "b": "rpb"}
ADDRESS = {"a": "10.0.12.1", "b": "10.0.12.2"}


def build_topo(tgen):
    for name in ("rpa", "rpb", "r2"):
        tgen.add_router(name)
    s0 = tgen.add_switch("s0")  # the HA channel
    s0.add_link(tgen.gears["rpa"])
    s0.add_link(tgen.gears["rpb"])
    s1 = tgen.add_switch("s1")  # the peering LAN
    s1.add_link(tgen.gears["rpa"])
    s1.add_link(tgen.gears["rpb"])
    s1.add_link(tgen.gears["r2"])


def setup_module(mod):
    tgen = Topogen(build_topo, mod.__name__)
    tgen.start_topology()
    for rp, host in HOSTS.items():
        load_pair_router(tgen.gears[host], os.path.join(CWD, host))
    load_plain_router(tgen.gears["r2"], os.path.join(CWD, "r2"))
    tgen.start_router()
    for rp, host in HOSTS.items():
        install_bgpd_conf(tgen.gears[host], os.path.join(CWD, "bgpd.conf"))
        start_rp(tgen.gears[host], rp)


def teardown_module(mod):
    tgen = get_topogen()
    for rp, host in HOSTS.items():
        kill_rp(tgen.gears[host], rp, "TERM")
    tgen.stop_topology()


def show(rp):
    return rp_json(get_topogen().gears[HOSTS[rp]], rp)


def wait_roles(active, standby, epoch):
    def roles():
        a, s = show(active), show(standby)
        got = (a["role"], s["role"], s.get("ready"), a["epoch"], s["epoch"])
        return None if got == ("active", "standby", True, epoch, epoch) else f"got {got}"

    wait_for(f"rp {active} active, rp {standby} ready standby at epoch {epoch}", roles)


def wait_session_with(rp):
    r2 = get_topogen().gears["r2"]

    def established():
        state = vtysh_json(r2, f"show bgp neighbors {ADDRESS[rp]} json")[ADDRESS[rp]]["bgpState"]
        if state != "Established":
            return f"r2's session to rp {rp} is {state}"
        if "10.1.0.0/24" not in vtysh_json(r2, "show ip bgp json")["routes"]:
            return "r2 lacks the pair's prefix"
        return None

    wait_for(f"r2 peers with rp {rp}", established)


def test_pair_forms_over_tcp():
    wait_roles("a", "b", 1)
    a = show("a")
    assert a["mode"] == "dual-rp"
    assert a["partner"]["address"] == "tcp:10.0.0.2:5180"
    assert a["heartbeat"]["detectionMs"] == 500
    wait_session_with("a")


def test_configuration_follows_and_is_saved_on_both_hosts():
    """A change made on the active host reaches the standby host before it
    counts; `write memory` on the active saves each host's own file."""
    tgen = get_topogen()
    rpa, rpb = tgen.gears["rpa"], tgen.gears["rpb"]
    line = "neighbor 10.0.12.77 remote-as 65077"
    out = rpa.cmd(f"vtysh -c 'configure terminal' -c 'router bgp 65001' -c '{line}' 2>&1")
    assert "%" not in out, out
    assert f" {line}" in rp_vtysh(rpb, "b", "show running-config")
    out = rpa.cmd("vtysh -c 'write memory' 2>&1")
    assert "did not save" not in out and "not written" not in out, out
    for host in (rpa, rpb):
        assert f" {line}" in host.cmd("cat /etc/frr/bgpd.conf"), host.name
    rpa.cmd(f"vtysh -c 'configure terminal' -c 'router bgp 65001' -c 'no {line}' "
            "-c 'do write memory' 2>&1")
    for host in (rpa, rpb):
        assert line not in host.cmd("cat /etc/frr/bgpd.conf"), host.name
    wait_roles("a", "b", 1)
    for rp in ("a", "b"):
        assert show(rp)["configuration"]["inStep"], show(rp)["configuration"]


def test_planned_switchover_over_tcp():
    out = get_topogen().gears["rpa"].vtysh_cmd("bgp ha switchover")
    assert "Switchover started" in out, out
    wait_roles("b", "a", 2)
    wait_session_with("b")


def test_cut_channel_then_heal_leaves_one_active():
    rpb = get_topogen().gears["rpb"]
    # rp b is active (epoch 2). Cut the channel link at rp b's side.
    rpb.cmd("ip link set rpb-eth0 down")
    # rp a cannot tell a cut from a death: after the detection time it takes
    # over. Two actives while the link is down is the price of dual-RP mode
    # without a third party; the heal below must end it.
    wait_for("rp a takes over the silent partner's role",
             lambda: None if show("a")["role"] == "active" else show("a")["role"], count=20, wait=0.25)
    assert show("a")["epoch"] == 3
    assert show("a")["switchovers"][-1]["reason"] == "partner-lost"
    rpb.cmd("ip link set rpb-eth0 up")
    wait_roles("a", "b", 3)
    assert "stepping down" in rp_log(rpb, "b")
    # Stays settled.
    time.sleep(1)
    assert (show("a")["role"], show("b")["role"]) == ("active", "standby")
    wait_session_with("a")


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))
