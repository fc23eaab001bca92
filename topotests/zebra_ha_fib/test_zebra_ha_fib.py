#!/usr/bin/env python3
"""
Forwarding while route processors come and go (zebra -M ha). Router r1 runs
zebra and an HA pair of bgpd RPs; r2 announces 10 000 prefixes that r1
installs in its kernel.

Checked: restarting the standby several times (kill -9, then start again)
while the active runs never touches a route of the active: `ip monitor route`
in r1 records no change at all, and the kernel's table never shrinks.
"""
import os
import sys
import time

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import get_topogen  # noqa: E402

from ha_lib.frr_ha import (  # noqa: E402
    kill_rp,
    start_local_pair,
    start_rp,
    stop_pairs,
    wait_for,
    wait_pair,
)

pytestmark = [pytest.mark.bgpd]

PREFIXES = 10000
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
    start_local_pair(mod.__name__, confdir)


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


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))
