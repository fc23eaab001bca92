#!/usr/bin/env python3
"""
Bad input to the HA pair, on the local-mode router of ha_pair_local (r1: zebra
and rp a + rp b; r2: stock FRR peer). Each case must give a clear log line and
a counter, leave the router routing (r2's session never flaps, r1's kernel
keeps its routes) and the pair must recover by itself once the cause is gone:

garbage (not TLS), plaintext frames of the channel before TLS (oversized,
other-version and truncated: refused before any frame is read, as an older
frr-ha), a partner that connects and says nothing, a standby with the wrong
key (the TLS handshake fails: error shown, counted), a standby with no
key, a standby whose file lacks the active's neighbor (it adopts the active's
configuration before it is ready), a standby short of file descriptors (it
refuses the hand-over, nothing aborts), a second process claiming rp b, and
a standby killed with SIGKILL.
"""
import os
import sys

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import get_topogen  # noqa: E402

from ha_lib.frr_ha import (  # noqa: E402
    BGPD,
    install_bgpd_conf,
    kill_rp,
    rp_json,
    rp_log,
    rp_pid,
    rp_vty_dir,
    rp_vtysh,
    start_local_pair,
    start_rp,
    stop_pairs,
    vtysh_json,
    wait_for,
    wait_pair,
)

pytestmark = [pytest.mark.bgpd]

CONF = os.path.join(CWD, "..", "ha_pair_local")
CLIENT = os.path.join(CWD, "..", "ha_lib", "channel_client.py")
A_SOCKET = "/var/run/frr/bgpd-ha-a.sock"
R2_PREFIXES = [f"10.2.{i}.0/24" for i in range(10)]


def setup_module(mod):
    start_local_pair(mod.__name__, CONF)


def teardown_module(mod):
    stop_pairs({"r1": ("a", "b", "b2")})


def r1():
    return get_topogen().gears["r1"]


def r2():
    return get_topogen().gears["r2"]


def session_facts():
    """What r2 would notice of a disturbance at r1."""
    s = vtysh_json(r2(), "show bgp neighbors 10.0.12.1 json")["10.0.12.1"]
    return s["bgpState"], s["connectionsEstablished"], s["connectionsDropped"]


def assert_still_routing(before):
    assert session_facts() == before, "r2's session to r1 changed"
    kernel = r1().run("ip -4 route show proto bgp")
    missing = [p for p in R2_PREFIXES if p.split("/")[0] not in kernel]
    assert not missing, f"r1's kernel lost {missing}"


def counter(rp, name):
    return rp_json(r1(), rp)["counters"][name]


@pytest.fixture(scope="module")
def routing_baseline():
    wait_pair(r1(), "a", "b", epoch=1)

    def established():
        kernel = r1().run("ip -4 route show proto bgp")
        if session_facts()[0] != "Established":
            return "r2 not established"
        missing = [p for p in R2_PREFIXES if p.split("/")[0] not in kernel]
        return f"kernel lacks {missing}" if missing else None

    wait_for("r1 routes", established)
    return session_facts()


@pytest.mark.parametrize(
    "case,counter_name,log_line",
    [
        # Every channel is TLS 1.3: what is not TLS is refused at once.
        ("garbage", "tlsHandshakeFailures", "TLS handshake refused: not a TLS 1.3 handshake"),
        # Plaintext frames: the HA channel before TLS (an older frr-ha).
        ("oversized", "versionMismatches", "speaks the HA channel without TLS"),
        ("version", "versionMismatches", "speaks the HA channel without TLS"),
        ("truncated", "versionMismatches", "speaks the HA channel without TLS"),
        ("silent", "handshakeTimeouts", "did not complete the handshake within 300 ms"),
    ],
)
def test_bad_frames_refused(routing_baseline, case, counter_name, log_line):
    before = counter("a", counter_name)
    channels_up = counter("a", "channelsUp")
    out = r1().cmd(f"/usr/bin/python3 {CLIENT} {A_SOCKET} {case}").strip()
    assert out.startswith("closed after"), f"rp a left a bad connection open: {out}"
    wait_for(f"rp a counts the {case} input",
             lambda: None if counter("a", counter_name) == before + 1 else "not counted",
             count=20, wait=0.25)
    assert log_line in rp_log(r1(), "a")
    # The real channel was never touched, and the standby is still ready.
    assert counter("a", "channelsUp") == channels_up
    wait_pair(r1(), "a", "b", epoch=1)
    assert_still_routing(routing_baseline)


@pytest.mark.parametrize(
    "command,error",
    [
        ("bgp ha key short", "% The HA key must have 16 to 128 characters (got 5)"),
        ("bgp ha rp c address unix /var/run/frr/bgpd-ha-c.sock",
         "% The pair has two RPs already: remove one first (no bgp ha rp NAME)"),
        ("bgp ha rp a/b address unix /x.sock", "% RP name: 1 to 32 letters, digits"),
        ("bgp ha rp a address unix relative.sock", "% The socket path must be absolute"),
        ("bgp ha heartbeat interval 5 multiplier 3", "% Unknown command"),
        ("neighbor 192.0.2.99 ha failover-mode transparent", "Specify remote-as or peer-group commands first"),
        ("bgp ha service-address 192.0.2.50/33", "% Unknown command"),
        ("no bgp ha service-address 192.0.2.50/24", "% 192.0.2.50/24 is not a service address"),
    ],
)
def test_config_typos_refused(routing_baseline, command, error):
    out = r1().cmd(f"vtysh -c 'configure terminal' -c 'router bgp 65001' -c '{command}' 2>&1")
    assert error in out, out
    # Nothing changed: the pair and the routing are as they were.
    config = r1().vtysh_cmd("show running-config")
    assert "bgp ha key frr-ha-topotest-key-0123" in config
    assert "bgp-ha-c" not in config and "relative.sock" not in config
    assert "service-address" not in config
    wait_pair(r1(), "a", "b", epoch=1)
    assert_still_routing(routing_baseline)


def restart_b_with(config_edit):
    """Restarts rp b on an edited copy of the pair's configuration."""
    kill_rp(r1(), "b")
    source = os.path.join(CONF, "r1/bgpd.conf")
    edited = r1().cmd(f"cat {source}")
    path = install_bgpd_conf(r1(), source, "/etc/frr/bgpd-b.conf")
    r1().cmd(f"cat > {path} << 'EOF'\n{config_edit(edited)}EOF\n")
    start_rp(r1(), "b", config=path)


def test_wrong_key_refused_then_recovers(routing_baseline):
    before = counter("a", "authFailures")
    handshakes = counter("a", "tlsHandshakeFailures")
    restart_b_with(lambda c: c.replace("frr-ha-topotest-key-0123", "a-wrong-key-0123456789"))
    wait_for("rp a counts failed authentications",
             lambda: None if counter("a", "authFailures") > before else "no failure counted",
             count=20, wait=0.25)
    assert counter("a", "tlsHandshakeFailures") > handshakes
    assert "authentication failed: rp b does not hold this RP's key" in rp_log(r1(), "a")
    # The error is shown, on both RPs (b, the accepting side, saw the PSK
    # binder fail), and a frame never got through.
    a = rp_json(r1(), "a")
    assert a["partner"]["lastRefusal"].startswith(
        "authentication failed: rp b does not hold this RP's key"), a["partner"]
    assert "Last channel refused: authentication failed" in rp_vtysh(r1(), "a", "show bgp ha")
    b = rp_json(r1(), "b")
    assert "PSK binder does not verify" in b["partner"]["lastRefusal"], b["partner"]
    assert b["counters"]["authFailures"] >= 1 and b["counters"]["framesReceived"] == 0
    assert b["role"] == "init" and not b["ready"], b
    assert rp_json(r1(), "a")["role"] == "active"
    assert_still_routing(routing_baseline)
    kill_rp(r1(), "b")
    start_rp(r1(), "b")
    wait_pair(r1(), "a", "b", epoch=1)
    a = rp_json(r1(), "a")
    assert a["partner"]["tlsVersion"] == "TLSv1.3", a["partner"]
    assert a["partner"]["cipher"] == "TLS_AES_256_GCM_SHA384", a["partner"]


def test_no_key_named_then_recovers(routing_baseline):
    restart_b_with(lambda c: "\n".join(l for l in c.splitlines() if "bgp ha key" not in l) + "\n")
    wait_for("rp b names its problem",
             lambda: None if rp_json(r1(), "b").get("configProblem") == "no key configured (bgp ha key)"
             else rp_json(r1(), "b"), count=20, wait=0.25)
    assert "HA pair not formed: no key configured (bgp ha key)" in rp_log(r1(), "b")
    assert rp_json(r1(), "b")["role"] == "init"  # the lock keeps it from running alone
    assert rp_json(r1(), "a")["role"] == "active"
    assert_still_routing(routing_baseline)
    kill_rp(r1(), "b")
    start_rp(r1(), "b")
    wait_pair(r1(), "a", "b", epoch=1)


def test_standby_lacking_a_neighbor_adopts_it_before_it_is_ready(routing_baseline):
    # rp b starts with a file that lacks the active's neighbor: it adopts the
    # active's configuration (one configuration for the pair) and only then
    # says it is ready; nothing of it reaches the routing.
    restart_b_with(lambda c: "\n".join(l for l in c.splitlines() if "10.0.12.2" not in l) + "\n")
    wait_pair(r1(), "a", "b", epoch=1)
    b = rp_json(r1(), "b")
    assert b["configuration"]["adoptions"] >= 1, b["configuration"]
    assert b["configuration"]["differences"] == []
    assert " neighbor 10.0.12.2 remote-as 65002" in rp_vtysh(r1(), "b", "show running-config")
    assert_still_routing(routing_baseline)
    kill_rp(r1(), "b")
    start_rp(r1(), "b")
    wait_pair(r1(), "a", "b", epoch=1)


def open_files_limit(pid):
    """The soft and hard RLIMIT_NOFILE of a process."""
    line = next(l for l in r1().cmd(f"cat /proc/{pid}/limits").splitlines()
                if l.startswith("Max open files"))
    return int(line.split()[3]), int(line.split()[4])


def active_session():
    return rp_json(r1(), "a")["neighbors"]["10.0.12.2"]["session"]


def test_standby_short_of_descriptors_refuses_sessions_and_keeps_running(routing_baseline):
    # rp b may open 80 descriptors, the last 64 of them kept for bgpd's own
    # sessions: every descriptor a hand-over brings lands there. It must say
    # so, refuse the session (never abort bgpd, which libfrr's event loop
    # does for a descriptor beyond its table), and the router keep routing.
    kill_rp(r1(), "b")
    start_rp(r1(), "b", prefix="prlimit --nofile=80:80")
    wait_for("rp b refuses the hand-over for want of descriptors",
             lambda: None if "refused the hand-over of 10.0.12.2: descriptor limit: descriptor"
             in rp_log(r1(), "b") else "not refused yet", count=40, wait=0.5)
    b = rp_json(r1(), "b")["descriptors"]
    assert (b["limit"], b["limitAtStart"], b["keptForBgpd"]) == (80, 80, 64), b
    assert 0 < b["inUse"] < 80 and not b["limitFromOperator"], b
    assert "descriptor limit 80: about 4 sessions can be protected" in rp_log(r1(), "b")
    wait_for("rp a shows why the session is not protected",
             lambda: None if "descriptor limit" in active_session().get("notProtectedReason", "")
             else active_session(), count=20, wait=0.5)
    assert rp_pid(r1(), "b"), "rp b died"
    assert rp_json(r1(), "b")["role"] == "standby"
    assert_still_routing(routing_baseline)

    # Started with a soft limit below its hard one, an RP raises it before
    # bgpd's event loop sizes its tables, and takes the session again.
    kill_rp(r1(), "b")
    start_rp(r1(), "b", prefix="prlimit --nofile=1024:4096")
    wait_pair(r1(), "a", "b", epoch=1)
    b = rp_json(r1(), "b")["descriptors"]
    assert (b["limit"], b["limitAtStart"], b["keptForBgpd"]) == (4096, 1024, 409), b
    assert open_files_limit(rp_pid(r1(), "b")) == (4096, 4096)
    assert "descriptor limit raised from 1024 to 4096 (hard limit 4096)" in rp_log(r1(), "b")
    # Handed over again once the active's back-off (at most 16 s) is over.
    wait_for("the session protected again",
             lambda: None if active_session()["stream"] == "mirroring" else active_session(),
             count=50, wait=0.5)
    assert "Descriptors: " in rp_vtysh(r1(), "b", "show bgp ha")
    assert_still_routing(routing_baseline)
    kill_rp(r1(), "b")
    start_rp(r1(), "b")
    wait_pair(r1(), "a", "b", epoch=1)


def test_second_rp_b_refused(routing_baseline):
    # Another process started as rp b while rp b runs: it must not steal the
    # channel socket nor the role, and its death must not touch the FIB.
    vty = rp_vty_dir("b2")
    logdir = r1().cmd("pwd").strip()
    r1().cmd(f"mkdir -p {vty} && chown frr:frr {vty}")
    r1().cmd(f"{BGPD} -d -M ha:b --vty_socket {vty} -i {vty}/bgpd.pid -P 0 "
             f"-f /etc/frr/bgpd.conf --log file:{logdir}/bgpd-b2.log --log-level debug")
    wait_for("the second rp b starts", lambda: None if rp_pid(r1(), "b2") else "not yet",
             count=20, wait=0.25)
    wait_for("the second rp b says it is refused",
             lambda: None if "another process listens on /var/run/frr/bgpd-ha-b.sock"
             in rp_log(r1(), "b2") else "no refusal logged", count=20, wait=0.25)
    assert rp_json(r1(), "b2")["role"] == "init"
    wait_pair(r1(), "a", "b", epoch=1)
    kill_rp(r1(), "b2")
    wait_pair(r1(), "a", "b", epoch=1)
    assert_still_routing(routing_baseline)


def test_standby_killed_leaves_routing_alone(routing_baseline):
    kill_rp(r1(), "b")
    assert rp_json(r1(), "a")["role"] == "active"
    assert "its bgp routes are kept" in r1().cmd("cat zebra.log") or \
        "routes stay installed" in r1().cmd("cat zebra.log")
    assert_still_routing(routing_baseline)
    start_rp(r1(), "b")
    wait_pair(r1(), "a", "b", epoch=1)
    assert_still_routing(routing_baseline)


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))
