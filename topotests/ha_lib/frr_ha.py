"""
Starting routers with the frr-ha modules, and reading their state.
"""
import json

from lib import topotest
from lib.topogen import TopoRouter

# "-M ha" makes bgpd load bgpd_ha.so and zebra load zebra_ha.so.
HA_MODULE_ARG = "-M ha"


def load_ha_router(router, confdir):
    """Configure a router whose zebra and bgpd load our modules."""
    router.load_config(TopoRouter.RD_ZEBRA, f"{confdir}/zebra.conf", HA_MODULE_ARG)
    router.load_config(TopoRouter.RD_BGP, f"{confdir}/bgpd.conf", HA_MODULE_ARG)


def load_plain_router(router, confdir):
    """Configure a stock FRR router (zebra + bgpd, no module)."""
    router.load_config(TopoRouter.RD_ZEBRA, f"{confdir}/zebra.conf")
    router.load_config(TopoRouter.RD_BGP, f"{confdir}/bgpd.conf")


def vtysh_json(router, command):
    """Runs a `... json` command through vtysh and parses it; fails loudly."""
    output = router.vtysh_cmd(command)
    try:
        return json.loads(output)
    except ValueError as err:
        raise AssertionError(f"{router.name}: '{command}' gave no json: {output!r}") from err


def wait_for(description, check, count=60, wait=1):
    """Polls check() until it returns None (success) or time runs out."""
    ok, result = topotest.run_and_expect(check, None, count=count, wait=wait)
    assert ok, f"{description}: {result}"
