"""
Starting routers with the frr-ha modules, and reading their state.
"""
import json
import os
import time

from lib import topotest
from lib.topogen import Topogen, TopoRouter, get_topogen

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


# --- HA pairs: two bgpd route processors on one router ------------------------

RUN_DIR = "/var/run/frr"
BGPD = "/usr/lib/frr/bgpd"


def rp_vty_dir(rp):
    """Each RP has its own vty socket folder; /var/run/frr/bgpd.vty follows the active."""
    return f"{RUN_DIR}/ha-{rp}"


def load_pair_router(router, confdir, zebra_module_arg=HA_MODULE_ARG):
    """A router whose zebra loads the module; its bgpd RPs start with start_rp()."""
    router.load_config(TopoRouter.RD_ZEBRA, f"{confdir}/zebra.conf", zebra_module_arg)


def install_bgpd_conf(router, source, dest="/etc/frr/bgpd.conf"):
    """Copies a bgpd configuration into the router's private /etc/frr."""
    router.cmd(f"cp {source} {dest} && chown frr:frr {dest} && chmod 640 {dest}")
    return dest


def rp_log_path(router, rp="*"):
    """Where start_rp() has RP `rp` log (the router's own folder)."""
    return f"{router.cmd('pwd').strip()}/bgpd-{rp}.log"


def start_rp(router, rp, config="/etc/frr/bgpd.conf", extra_args="", prefix=""):
    """Starts bgpd as route processor `rp` of the router's HA pair
    (extra_args: more bgpd options, e.g. another module; prefix: a command
    bgpd runs under, e.g. prlimit)."""
    vty = rp_vty_dir(rp)
    router.cmd(f"mkdir -p {vty} && chown frr:frr {vty} && rm -f {vty}/bgpd.pid")
    out = router.cmd(
        f"{prefix} {BGPD} -d -M ha:{rp} --vty_socket {vty} -i {vty}/bgpd.pid -P 0 "
        f"-f {config} --log file:{rp_log_path(router, rp)} --log-level debug {extra_args}"
    )
    wait_for(f"{router.name}: rp {rp} starts ({out.strip()})",
             lambda: None if rp_pid(router, rp) else "no pid file", count=20, wait=0.5)


def rp_pid(router, rp):
    out = router.cmd(f"cat {rp_vty_dir(rp)}/bgpd.pid 2>/dev/null").strip()
    if not out.isdigit():
        return None
    alive = router.cmd(f"kill -0 {out} 2>/dev/null && echo yes").strip()
    return int(out) if alive == "yes" else None


def rp_thread_ticks(router, rp):
    """{thread id: (name, CPU clock ticks used so far)} of RP `rp`'s bgpd."""
    pid = rp_pid(router, rp)
    out = router.cmd(f"for t in /proc/{pid}/task/*; do echo \"${{t##*/}} $(cat $t/stat)\"; done")
    ticks = {}
    for line in out.splitlines():
        if "(" not in line or ")" not in line:
            continue
        tid = line.split(" ", 1)[0]
        name = line[line.index("(") + 1:line.rindex(")")]
        fields = line[line.rindex(")") + 2:].split()
        ticks[tid] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
    return ticks


def rp_thread_cpu(router, rp, seconds):
    """Each thread of RP `rp`'s bgpd: its share of one CPU over `seconds`
    ({"name/tid": fraction})."""
    hz = os.sysconf("SC_CLK_TCK")
    before = rp_thread_ticks(router, rp)
    time.sleep(seconds)
    after = rp_thread_ticks(router, rp)
    return {f"{name}/{tid}": (used - before[tid][1]) / hz / seconds
            for tid, (name, used) in after.items() if tid in before}


def kill_rp(router, rp, signal="KILL"):
    pid = rp_pid(router, rp)
    if pid:
        router.cmd(f"kill -{signal} {pid}")
        # bgpd frees its whole RIB on SIGTERM: tens of seconds with a full
        # table in several sessions' records.
        wait_for(f"{router.name}: rp {rp} exits", lambda: None if not rp_pid(router, rp) else "alive",
                 count=40 if signal == "KILL" else 480, wait=0.25)


def rp_vtysh(router, rp, command):
    """Runs a command on one RP, whatever its role."""
    return router.cmd(f"vtysh -d bgpd --vty_socket {rp_vty_dir(rp)} -c '{command}' 2>&1")


def rp_json(router, rp, command="show bgp ha json"):
    out = rp_vtysh(router, rp, command)
    try:
        return json.loads(out)
    except ValueError as err:
        raise AssertionError(f"{router.name} rp {rp}: '{command}' gave no json: {out!r}"
                             f"{rp_crash_report(router, rp)}") from err


def rp_crash_report(router, rp):
    """What bgpd's log says of its end when the RP is gone (FRR logs the
    signal, an assertion and a backtrace there), else nothing: a failed
    CI run then names the crash site."""
    if rp_pid(router, rp):
        return ""
    log = rp_log_path(router, rp)
    tail = router.cmd(f"grep -n -A 40 -E 'Received signal|Assertion|Backtrace|aborting' {log} | head -60")
    tail = tail or router.cmd(f"tail -n 20 {log}")
    # Or its partner fenced it (local mode: a hung active is killed).
    fenced = router.cmd(f"grep -H -E 'SIGKILL sent|is hung \\(' {rp_log_path(router)} | tail -n 5")
    return f"\nrp {rp} is not running; its log's end:\n{tail}\nfencing:\n{fenced}"


# What `show running-config` holds that concerns one RP alone (the pair
# compares the rest; the tests count it with this filter of their own).
RP_OWN_LINES = ("frr version", "frr defaults", "hostname", "log ", "service ", "no service ",
                "debug ", "!", "end", "Building configuration", "Current configuration",
                "bgp no-rib")


def rp_shared_config(router, rp):
    """The RP's running configuration without what concerns it alone."""
    text = rp_vtysh(router, rp, "show running-config")
    return [line for line in text.splitlines()
            if line.strip() and not line.startswith(RP_OWN_LINES)]


def rp_log(router, rp):
    return router.cmd(f"cat {rp_log_path(router, rp)}")


def wait_pair(router, active, standby, epoch=None, count=60):
    """Waits until `active` is active and `standby` is a ready standby."""

    def formed():
        a = rp_json(router, active)
        s = rp_json(router, standby)
        if a.get("role") != "active":
            return f"rp {active} is {a.get('role')}"
        if s.get("role") != "standby" or not s.get("ready"):
            return f"rp {standby} is {s.get('role')}, ready={s.get('ready')}: {s.get('notReadyReason')}"
        if not a["partner"].get("ready"):
            return f"rp {active} does not see its partner ready yet"
        if epoch is not None and (a["epoch"], s["epoch"]) != (epoch, epoch):
            return f"epochs {a['epoch']}/{s['epoch']}, expected {epoch}"
        return None

    wait_for(f"{router.name}: rp {active} active, rp {standby} ready standby", formed,
             count=count, wait=0.5)


# --- the local-mode pair topology shared by several tests -----------------------


def build_local_pair_topo(tgen):
    """r1 (zebra + rp a + rp b) and r2 (stock FRR) on one LAN, s1."""
    tgen.add_router("r1")
    tgen.add_router("r2")
    tgen.add_switch("s1").add_link(tgen.gears["r1"])
    tgen.gears["s1"].add_link(tgen.gears["r2"])


def start_local_pair(module_name, confdir, zebra_module_arg=HA_MODULE_ARG):
    """Starts build_local_pair_topo with confdir/r1 and confdir/r2, and both RPs."""
    tgen = Topogen(build_local_pair_topo, module_name)
    tgen.start_topology()
    r1, r2 = tgen.gears["r1"], tgen.gears["r2"]
    load_pair_router(r1, f"{confdir}/r1", zebra_module_arg)
    load_plain_router(r2, f"{confdir}/r2")
    tgen.start_router()
    install_bgpd_conf(r1, f"{confdir}/r1/bgpd.conf")
    start_rp(r1, "a")
    start_rp(r1, "b")
    return tgen


def wait_bgp_routes_gone(router, count=150, wait=2):
    """Waits until zebra has deleted the BGP routes of RPs that left from the
    kernel: a full table takes zebra tens of seconds, and the topotest
    library takes a zebra that does not exit within about 25 s of its
    SIGTERM for a hung one."""
    def gone():
        first = router.cmd("ip -4 route show proto bgp 2>/dev/null | head -n 1").strip()
        return None if not first else f"still in the kernel, e.g. {first}"

    wait_for(f"{router.name}: zebra deletes the BGP routes", gone, count=count, wait=wait)


def stop_pairs(rps_by_router):
    """Stops the RPs we started ({router name: [rp, ...]}), then the topology."""
    tgen = get_topogen()
    for name, rps in rps_by_router.items():
        for rp in rps:
            kill_rp(tgen.gears[name], rp, "TERM")
    try:
        for name in rps_by_router:
            wait_bgp_routes_gone(tgen.gears[name])
    finally:
        tgen.stop_topology()
