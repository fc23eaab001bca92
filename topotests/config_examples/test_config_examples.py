#!/usr/bin/env python3
"""
The documented configurations load and form a pair: every bgpd configuration
example of docs/ha-pair.md, README.md and debian/examples/ (a fenced block
of a .md file, or a whole example file, that holds a `bgp ha rp` line) is
read from those files when the test runs and loaded, as written, into a
local-mode pair on router r1 (zebra with -M ha, bgpd RPs started with -f on
the example). Checked for each: no line of the pair is refused at load, and
the pair forms (one RP active, the other a ready standby, the channel up on
both), each RP with the priority the example gives it.

What the test adapts: nothing in the examples. /etc/frr and /var/run/frr are
the router's own (topotest mounts private copies), so the socket paths of the
examples are used as they are. Peers the examples name do not exist here: the
pair forms without them. Lines of a packaged frr.conf that only vtysh knows
(`service integrated-vtysh-config`; the package sends frr.conf through
`vtysh -b`) are refused by a bgpd reading the file itself; only refusals of
the pair's own lines fail the test.

Also checked: the `bgp ha` lines at the top level with no default
`router bgp` (the pair forms; show running-config writes them at the top
level; a plain vtysh takes one more there; the written configuration loads
back to the same pair), and in a `router bgp ... vrf NAME` instance, where
they are refused at load with the line number in the log, the key not shown,
and `show bgp ha` says what was refused where.
"""
import glob
import os
import re
import sys

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import Topogen, get_topogen  # noqa: E402

from ha_lib.frr_ha import (  # noqa: E402
    install_bgpd_conf,
    kill_rp,
    load_pair_router,
    rp_json,
    rp_log,
    rp_vtysh,
    start_rp,
    wait_for,
)

pytestmark = [pytest.mark.bgpd]

REPO = os.path.dirname(os.path.dirname(CWD))
DOCUMENTS = ["docs/ha-pair.md", "README.md"]
PACKAGED_EXAMPLES = "debian/examples/*"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
RP_LINE = re.compile(r"^\s*bgp ha rp (\S+) .*?(?:priority (\d+))?\s*$", re.M)
LOAD_ERROR = re.compile(r"on config line (\d+): (.*)")
PAIR_LINE = re.compile(r"^\s*(no )?bgp ha |\bha failover-mode\b")
KEY = "frr-ha-config-examples-key"


def find_examples():
    """(id, text) of each bgpd configuration example, read from the sources."""
    found = []
    sources = [os.path.join(REPO, d) for d in DOCUMENTS]
    sources += sorted(glob.glob(os.path.join(REPO, PACKAGED_EXAMPLES)))
    for path in sources:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        name = os.path.relpath(path, REPO)
        if path.endswith(".md"):
            blocks = [b for b in FENCE.findall(text) if "bgp ha rp" in b]
            found += [(f"{name}#{i + 1}", b) for i, b in enumerate(blocks)]
        elif "bgp ha rp" in text:
            found.append((name, text))
    return found


EXAMPLES = find_examples()


def build_topo(tgen):
    tgen.add_router("r1")


def setup_module(mod):
    tgen = Topogen(build_topo, mod.__name__)
    tgen.start_topology()
    load_pair_router(tgen.gears["r1"], os.path.join(CWD, "r1"))
    tgen.start_router()


def teardown_module(mod):
    stop_rps()
    get_topogen().stop_topology()


def r1():
    return get_topogen().gears["r1"]


def stop_rps():
    for rp in ("a", "b"):
        kill_rp(r1(), rp, "TERM")


def rp_names(config):
    """{name: priority} of the example's `bgp ha rp` lines."""
    return {m.group(1): int(m.group(2) or 100) for m in RP_LINE.finditer(config)}


def load(config, tmp_path, name="example.conf"):
    """Starts both RPs of the configuration from one file, as written;
    returns the log offsets from which each RP's lines of this start begin."""
    stop_rps()
    src = tmp_path / name
    src.write_text(config)
    dest = install_bgpd_conf(r1(), str(src), f"/etc/frr/{name}")
    names = sorted(rp_names(config)) or ["a", "b"]
    offsets = {rp: len(rp_log(r1(), rp)) for rp in names}
    for rp in names:
        start_rp(r1(), rp, config=dest)
    return offsets


def new_log(rp, offsets):
    return rp_log(r1(), rp)[offsets[rp]:]


def load_errors(rp, offsets):
    """(line number, text) of each line this RP refused while loading."""
    return [(int(n), t.strip()) for n, t in LOAD_ERROR.findall(new_log(rp, offsets))]


def wait_formed(names):
    """One RP active, the other a ready standby, the channel up on both."""

    def formed():
        js = {rp: rp_json(r1(), rp) for rp in names}
        roles = sorted(j.get("role") for j in js.values())
        if roles != ["active", "standby"]:
            return f"roles {roles}: " + "; ".join(
                f"{rp}: {j.get('configProblem') or j.get('notReadyReason')}"
                for rp, j in js.items())
        for rp, j in js.items():
            if j["partner"].get("channel") != "up":
                return f"rp {rp}: channel {j['partner'].get('channel')}"
            if j["role"] == "standby" and not j.get("ready"):
                return f"standby {rp} not ready: {j.get('notReadyReason')}"
        return None

    wait_for("the pair forms", formed, count=40, wait=0.5)
    return {rp: rp_json(r1(), rp) for rp in names}


def test_examples_found():
    sources = {ident.split("#")[0] for ident, _ in EXAMPLES}
    assert "docs/ha-pair.md" in sources, "no configuration example in docs/ha-pair.md"
    assert any(s.startswith("debian/examples/") for s in sources), \
        "no packaged configuration example"


@pytest.mark.parametrize("ident,config", EXAMPLES, ids=[i for i, _ in EXAMPLES])
def test_example_forms_a_pair(ident, config, tmp_path):
    names = rp_names(config)
    assert len(names) == 2, f"{ident}: names {sorted(names)}, not two RPs"
    offsets = load(config, tmp_path)
    js = wait_formed(sorted(names))
    for rp in names:
        refused = [(n, t) for n, t in load_errors(rp, offsets) if PAIR_LINE.search(t)]
        assert not refused, f"{ident}: rp {rp} refused lines of the pair: {refused}"
        assert js[rp]["priority"] == names[rp], (ident, rp, js[rp]["priority"])


TOP_LEVEL = f"""\
hostname r1
bgp ha rp a address unix /var/run/frr/bgpd-ha-a.sock priority 200
bgp ha rp b address unix /var/run/frr/bgpd-ha-b.sock
bgp ha key {KEY}
bgp ha heartbeat interval 200 multiplier 4
bgp ha hang-detection 5000
no bgp ha switchover-on-link-loss
bgp ha standby-lag-limit 700
"""


def running_config(rp):
    """The RP's configuration as vtysh shows it, ready to be loaded again."""
    out = rp_vtysh(r1(), rp, "show running-config")
    skip = ("Building configuration", "Current configuration", "end")
    return "".join(f"{line}\n" for line in out.splitlines()
                   if line.strip() and not line.startswith(skip))


def active_of(js):
    return next(rp for rp, j in js.items() if j["role"] == "active")


def test_top_level_lines_without_default_instance(tmp_path):
    offsets = load(TOP_LEVEL, tmp_path, "top-level.conf")
    js = wait_formed(["a", "b"])
    for rp in ("a", "b"):
        assert load_errors(rp, offsets) == [], load_errors(rp, offsets)
        assert js[rp]["heartbeat"] == {"intervalMs": 200, "multiplier": 4, "detectionMs": 800}
        assert js[rp]["fencing"]["hangDetectionMs"] == 5000

    # A plain vtysh (it reaches the active) takes a top-level line too.
    out = r1().cmd("vtysh -c 'configure terminal' -c 'bgp ha standby-lag-limit 800' 2>&1")
    assert "%" not in out, out
    active = active_of(js)
    config = running_config(active)
    for line in ("bgp ha rp a address unix /var/run/frr/bgpd-ha-a.sock priority 200",
                 "bgp ha rp b address unix /var/run/frr/bgpd-ha-b.sock",
                 f"bgp ha key {KEY}", "bgp ha heartbeat interval 200 multiplier 4",
                 "bgp ha hang-detection 5000", "no bgp ha switchover-on-link-loss",
                 "bgp ha standby-lag-limit 800"):
        assert f"\n{line}\n" in config, f"'{line}' not at the top level:\n{config}"
    assert "router bgp" not in config, config

    # What was written loads back to the same pair (vtysh adds its own
    # `no service integrated-vtysh-config`, which bgpd does not know).
    offsets = load(config, tmp_path, "written.conf")
    js = wait_formed(["a", "b"])
    for rp in ("a", "b"):
        refused = [(n, t) for n, t in load_errors(rp, offsets) if PAIR_LINE.search(t)]
        assert not refused, f"rp {rp} refused lines of the pair: {refused}\n{config}"
        assert js[rp]["heartbeat"]["intervalMs"] == 200
        assert js[rp]["fencing"]["hangDetectionMs"] == 5000
    assert "\nbgp ha standby-lag-limit 800\n" in running_config(active_of(js))


IN_VRF = f"""\
router bgp 65001
 bgp router-id 10.0.0.1
exit
!
router bgp 65001 vrf red
 bgp ha rp a address unix /var/run/frr/bgpd-ha-a.sock priority 200
 bgp ha rp b address unix /var/run/frr/bgpd-ha-b.sock
 bgp ha key {KEY}
exit
"""


def test_lines_in_a_vrf_instance_refused(tmp_path):
    offsets = load(IN_VRF, tmp_path, "in-vrf.conf")
    lines = IN_VRF.splitlines()
    expected = [(i + 1, line.strip()) for i, line in enumerate(lines) if "bgp ha rp" in line]
    key_line = next(i + 1 for i, line in enumerate(lines) if "bgp ha key" in line)
    expected.append((key_line, "bgp ha key (not shown)"))

    def refused():
        for rp in ("a", "b"):
            errors = load_errors(rp, offsets)
            if sorted(errors) != sorted(expected):
                return f"rp {rp}: load errors {errors}, expected {expected}"
        return None

    wait_for("both RPs refuse the lines, naming them", refused, count=10, wait=0.5)
    for rp in ("a", "b"):
        log = new_log(rp, offsets)
        assert "'bgp ha rp' refused in 'router bgp 65001 vrf red'" in log, log
        assert KEY not in log, "the key reached the log"
        j = rp_json(r1(), rp)
        problem = j.get("configProblem", "")
        assert "exactly two 'bgp ha rp' entries, found 0" in problem, problem
        assert "'bgp ha rp' was refused in 'router bgp 65001 vrf red'" in problem, problem
        assert "top level or in the default 'router bgp'" in problem, problem
        assert problem in j["notReadyReason"], j["notReadyReason"]
        assert j["partner"]["channel"] == "down", j["partner"]
        assert "Configuration problem: " + problem in rp_vtysh(r1(), rp, "show bgp ha")


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))
