#!/usr/bin/env python3
"""
The HA pair in local mode: router r1 runs zebra and two bgpd route
processors, rp a (priority 200) and rp b, paired over unix sockets; r2 is a
stock FRR eBGP peer.

Checked: the pair forms (a active, b a ready standby after bulk sync), a
plain vtysh reaches the active, the configuration is written back, the key is
never shown; a planned switchover moves the role and the epoch (sessions may
reset: transparency is not part of the pair itself) and routing resumes; a
switchover is refused while the standby is not ready; kill -9 of the active
makes the standby take over; a cut channel never makes two actives. The
active's listener, made when it took the role, holds its neighbors'
TCP-MD5 keys (at the first role and after a takeover).
"""
import os
import sys
import time

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import get_topogen  # noqa: E402

from ha_lib.yang_model import show_json_to_instance, validate_instance  # noqa: E402
from ha_lib.frr_ha import (  # noqa: E402
    kill_rp,
    rp_json,
    rp_log,
    rp_pid,
    rp_vtysh,
    start_local_pair,
    start_rp,
    stop_pairs,
    vtysh_json,
    wait_for,
    wait_pair,
)

pytestmark = [pytest.mark.bgpd]

KEY = "frr-ha-topotest-key-0123"
R2_PREFIXES = [f"10.2.{i}.0/24" for i in range(10)]


def setup_module(mod):
    start_local_pair(mod.__name__, CWD)


def teardown_module(mod):
    stop_pairs({"r1": ("a", "b")})


def r1():
    return get_topogen().gears["r1"]


def r2():
    return get_topogen().gears["r2"]


def r2_session():
    return vtysh_json(r2(), "show bgp neighbors 10.0.12.1 json")["10.0.12.1"]


def wait_routing():
    """r2's session to the router is up and routes flow both ways, into r1's kernel."""

    def routing():
        if r2_session().get("bgpState") != "Established":
            return "r2's session to r1 is not Established"
        if "10.1.0.0/24" not in vtysh_json(r2(), "show ip bgp json")["routes"]:
            return "r2 lacks r1's prefix"
        kernel = r1().run("ip -4 route show proto bgp")
        missing = [p for p in R2_PREFIXES if p.split("/")[0] not in kernel]
        return f"r1's kernel lacks {missing}" if missing else None

    wait_for("routing through r1", routing)


def assert_listener_has_md5_keys():
    """The active's listener holds its neighbors' TCP-MD5 keys (the RP made
    it when it became active): a SYN signed with the key of 10.0.12.98, a
    passive neighbor never up, is answered. Without the key the kernel drops
    it, and answers no signed segment of a connection it does not have."""
    r2().cmd("ip addr add 10.0.12.98/24 dev r2-eth0 2>/dev/null")
    probe = os.path.join(CWD, "..", "ha_lib", "md5_probe.py")
    out = r2().cmd(f"/usr/bin/python3 {probe} 10.0.12.98 10.0.12.1 frr-ha-probe-md5 2>&1")
    assert out.strip() == "accepted", out


def actives():
    """The RPs that say they are active (a dead RP says nothing)."""
    return [rp for rp in ("a", "b")
            if rp_pid(r1(), rp) and rp_json(r1(), rp).get("role") == "active"]


def test_pair_forms_and_standby_syncs():
    wait_pair(r1(), "a", "b", epoch=1)
    a, b = rp_json(r1(), "a"), rp_json(r1(), "b")
    assert a["rp"] == "a" and a["mode"] == "local" and a["priority"] == 200
    assert a["partner"]["name"] == "b" and a["partner"]["channel"] == "up"
    assert b["sync"] == {"state": "done", "itemsReceived": 2, "itemsTotal": 2}
    assert b["partner"]["role"] == "active"
    assert a["counters"]["authFailures"] == 0 and a["counters"]["channelsUp"] == 1
    assert a["heartbeat"] == {"intervalMs": 100, "multiplier": 3, "detectionMs": 300}
    # The standby holds its session, or runs a shadow of the active's (if it
    # was standby when the session came up): r2 sees one session, a's.
    n = b["neighbors"]["10.0.12.2"]
    assert n["state"] != "Established" or n["session"]["stream"] == "shadow", n
    assert r2().vtysh_cmd("show bgp neighbors 10.0.12.1 json").count('"bgpState"') == 1
    assert_listener_has_md5_keys()
    wait_routing()


def test_plain_vtysh_reaches_the_active():
    assert vtysh_json(r1(), "show bgp ha json")["rp"] == "a"


def test_configuration_written_back_and_key_never_shown():
    config = rp_vtysh(r1(), "a", "show running-config")
    assert " bgp ha rp a address unix /var/run/frr/bgpd-ha-a.sock priority 200" in config
    assert " bgp ha rp b address unix /var/run/frr/bgpd-ha-b.sock\n" in config
    assert f" bgp ha key {KEY}" in config
    assert " neighbor 10.0.12.2 ha failover-mode transparent" in config
    for rp in ("a", "b"):
        assert KEY not in rp_vtysh(r1(), rp, "show bgp ha")
        assert KEY not in rp_vtysh(r1(), rp, "show bgp ha json")
        assert KEY not in rp_log(r1(), rp)
    assert rp_json(r1(), "a")["neighbors"]["10.0.12.2"]["configuredMode"] == "transparent"


def test_live_state_fits_the_yang_model(tmp_path):
    # What the running RPs report must be valid against yang/frr-ha.yang.
    for rp in ("a", "b"):
        validate_instance(show_json_to_instance(rp_json(r1(), rp)), str(tmp_path))


def test_records_shared_are_shown():
    # Both RPs record r2's session (the active its streams, the standby its
    # shadow's): the attribute sets and prefix chunks they hold are counted.
    for rp in ("a", "b"):
        records = rp_json(r1(), rp)["records"]
        assert records["internedPaths"] >= 1 and records["internedChunks"] >= 1, (rp, records)
        assert "Stream records: " in rp_vtysh(r1(), rp, "show bgp ha")


def test_life_pages_held_and_watched():
    # Each RP holds its own life page and watches its partner's (docs/
    # ha-pair.md, "The ownership lock's life pages").
    for rp in ("a", "b"):
        wait_for(f"rp {rp} holds its life page",
                 lambda rp=rp: None if rp_json(r1(), rp)["lifePage"]["held"]
                 else str(rp_json(r1(), rp)["lifePage"]), count=20, wait=0.5)
        page = rp_json(r1(), rp)["lifePage"]
        assert page["partnerWatched"] and page["partnerDeathsHeard"] == 0, (rp, page)
        assert "Life page: held" in rp_vtysh(r1(), rp, "show bgp ha")
        assert r1().cmd(f"stat -c '%a' /var/run/frr/bgpd-ha-{rp}.life").strip() == "600"


def test_unix_socket_keeps_other_users_out():
    mode = r1().cmd("stat -c '%a %U' /var/run/frr/bgpd-ha-b.sock").strip()
    assert mode == "600 frr", mode


def wait_protected(active):
    """r2's transparent session is held by the standby too (else a planned
    switchover is refused: it would restart the session)."""
    def protected():
        stream = rp_json(r1(), active)["neighbors"]["10.0.12.2"].get("session", {}).get("stream")
        return None if stream == "mirroring" else f"stream {stream}"

    wait_for(f"rp {active}'s session to r2 is protected", protected, count=30, wait=0.5)


def test_planned_switchover_moves_role_and_epoch():
    wait_protected("a")
    out = r1().vtysh_cmd("bgp ha switchover")
    assert "Switchover started" in out, out
    wait_pair(r1(), "b", "a", epoch=2)
    b = rp_json(r1(), "b")
    assert [s["reason"] for s in b["switchovers"]] == ["planned"]
    assert b["counters"]["switchovers"] == 1
    assert vtysh_json(r1(), "show bgp ha json")["rp"] == "b", "plain vtysh follows the active"
    wait_routing()


def test_switchover_refused_while_standby_not_ready():
    kill_rp(r1(), "a")
    out = r1().vtysh_cmd("bgp ha switchover")
    assert "% Switchover refused: no standby connected" in out, out
    assert rp_json(r1(), "b")["role"] == "active"
    start_rp(r1(), "a")
    wait_pair(r1(), "b", "a", epoch=2)


def test_kill9_of_active_standby_takes_over():
    kill_rp(r1(), "b")
    wait_for("rp a takes over", lambda: None if actives() == ["a"] else f"actives {actives()}",
             count=20, wait=0.25)
    a = rp_json(r1(), "a")
    assert a["epoch"] == 3
    assert a["switchovers"][-1]["reason"] == "partner-lost"
    # Heard on b's life page, before b's exit was over.
    assert a["lifePage"]["partnerDeathsHeard"] == 1, a["lifePage"]
    assert "partner-lost" in rp_vtysh(r1(), "a", "show bgp ha")
    assert vtysh_json(r1(), "show bgp ha json")["rp"] == "a"
    wait_routing()
    assert_listener_has_md5_keys()
    start_rp(r1(), "b")
    wait_pair(r1(), "a", "b", epoch=3)


def test_cut_channel_never_makes_two_actives():
    drops = rp_json(r1(), "a")["counters"]["channelDrops"]
    rp_vtysh(r1(), "b", "clear bgp ha channel")
    seen = set()
    deadline = time.time() + 3
    while time.time() < deadline:
        now = actives()
        seen.add(tuple(now))
        assert len(now) <= 1, f"two actives: {now}"
    assert seen == {("a",)}, seen
    # Same epoch: nobody took over (b either found the lock held, or the
    # channel was back before it looked).
    wait_pair(r1(), "a", "b", epoch=3)
    assert rp_json(r1(), "a")["counters"]["channelDrops"] == drops + 1
    assert rp_json(r1(), "b")["switchovers"] == []


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))
