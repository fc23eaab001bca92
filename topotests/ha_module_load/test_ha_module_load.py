#!/usr/bin/env python3
"""
The whole chain, patch -> build -> load -> CLI: r1 runs zebra and bgpd with
the frr-ha modules (-M ha) and peers over eBGP with two stock FRR routers.
r2 does not restart gracefully towards r1; r3 and r1 both configure graceful
restart for their session (r1 with its forwarding state preserved).

Checked: routes flow both ways and reach r1's kernel, and the modules answer
through vtysh (text and json) with what bgpd and zebra really negotiated and
installed: r2's session would get a transparent failover, r3's a graceful
restart, and zebra sees one BGP route processor with the routes it installed.
A router without the modules refuses the commands.
"""
import os
import sys

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib import topotest  # noqa: E402
from lib.topogen import Topogen, get_topogen  # noqa: E402

from ha_lib.frr_ha import load_ha_router, load_plain_router, vtysh_json, wait_for  # noqa: E402

pytestmark = [pytest.mark.bgpd]

R2_PREFIXES = [f"10.2.{i}.0/24" for i in range(10)]
R3_PREFIXES = ["10.3.0.0/24"]
R1_PREFIX = "10.1.0.0/24"


def build_topo(tgen):
    for name in ("r1", "r2", "r3"):
        tgen.add_router(name)
    tgen.add_switch("s1").add_link(tgen.gears["r1"])
    tgen.gears["s1"].add_link(tgen.gears["r2"])
    tgen.add_switch("s2").add_link(tgen.gears["r1"])
    tgen.gears["s2"].add_link(tgen.gears["r3"])


def setup_module(mod):
    tgen = Topogen(build_topo, mod.__name__)
    tgen.start_topology()
    routers = tgen.routers()
    load_ha_router(routers["r1"], os.path.join(CWD, "r1"))
    load_plain_router(routers["r2"], os.path.join(CWD, "r2"))
    load_plain_router(routers["r3"], os.path.join(CWD, "r3"))
    tgen.start_router()


def teardown_module(mod):
    get_topogen().stop_topology()


def _tgen():
    tgen = get_topogen()
    if tgen.routers_have_failure():
        pytest.skip(tgen.errors)
    return tgen


def test_sessions_established_and_routes_exchanged():
    r1 = _tgen().gears["r1"]
    r2 = _tgen().gears["r2"]

    def r1_has_all_routes():
        table = vtysh_json(r1, "show ip bgp json")["routes"]
        missing = [p for p in R2_PREFIXES + R3_PREFIXES if p not in table]
        return None if not missing else f"r1 lacks {missing}"

    wait_for("r1 learns r2's and r3's prefixes", r1_has_all_routes)

    def r2_has_r1_prefix():
        table = vtysh_json(r2, "show ip bgp json")["routes"]
        return None if R1_PREFIX in table else f"r2 lacks {R1_PREFIX}"

    wait_for("r2 learns r1's prefix", r2_has_r1_prefix)

    def kernel_has_routes():
        out = r1.run("ip -4 route show proto bgp")
        missing = [p for p in R2_PREFIXES + R3_PREFIXES if p.split("/")[0] not in out]
        return None if not missing else f"kernel of r1 lacks {missing}: {out}"

    wait_for("zebra installs the BGP routes in r1's kernel", kernel_has_routes)


def test_show_bgp_ha_json():
    r1 = _tgen().gears["r1"]

    def modes_as_negotiated():
        ha = vtysh_json(r1, "show bgp ha json")
        expected = {
            "role": "standalone",
            "neighbors": {
                "10.0.12.2": {
                    "state": "Established",
                    "configuredMode": "auto",
                    "switchoverMode": "transparent",
                },
                "10.0.13.3": {
                    "state": "Established",
                    "configuredMode": "auto",
                    "switchoverMode": "graceful-restart",
                },
            },
        }
        return topotest.json_cmp(ha, expected)

    wait_for("show bgp ha json reflects what each session negotiated", modes_as_negotiated)
    ha = vtysh_json(r1, "show bgp ha json")
    assert ha["version"], "the module reports its version"
    assert "did not negotiate GR" in ha["neighbors"]["10.0.12.2"]["reason"] or \
        "not enabled" in ha["neighbors"]["10.0.12.2"]["reason"]
    # Not an RP of a pair: nobody will take the sessions, so the module
    # keeps no history of them and follows none of their streams.
    for n in ("10.0.12.2", "10.0.13.3"):
        session = ha["neighbors"][n]["session"]
        assert session["stream"] == "unprotected", session
        assert session["notProtectedReason"] == "this bgpd is not an RP of an HA pair", session
        assert session["receivedPrefixes"] == 0, session


def test_show_bgp_ha_text():
    r1 = _tgen().gears["r1"]
    out = r1.vtysh_cmd("show bgp ha")
    assert "Role: standalone" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  10.")}
    assert lines["10.0.12.2"][1:4] == ["Established", "auto", "transparent"], out
    assert lines["10.0.13.3"][1:4] == ["Established", "auto", "graceful-restart"], out


def test_show_zebra_ha_json():
    r1 = _tgen().gears["r1"]
    expected_routes = len(R2_PREFIXES) + len(R3_PREFIXES)

    def zebra_sees_bgp():
        clients = vtysh_json(r1, "show zebra ha json")["bgpClients"]
        if len(clients) != 1:
            return f"expected one BGP client of zebra, got {clients}"
        if clients[0]["routesAdded"] < expected_routes:
            return f"expected >= {expected_routes} routes added, got {clients[0]}"
        return None

    wait_for("zebra reports the BGP route processor and its routes", zebra_sees_bgp)
    assert "BGP route processors connected" in r1.vtysh_cmd("show zebra ha")


def test_router_without_module_refuses_commands():
    r2 = _tgen().gears["r2"]
    out = r2.vtysh_cmd("show bgp ha json")
    assert "Unknown command" in out or "unknown command" in out.lower(), out


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))
