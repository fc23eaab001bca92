#!/usr/bin/env python3
"""
Peer-transparent failover in local mode. Router r1 runs zebra and an HA pair
of bgpd RPs (a, b); r2 is a stock FRR eBGP peer without graceful restart,
r3 a stock FRR iBGP peer. Each peer has an IPv4 and an IPv6 session to r1
and announces PREFIXES IPv4 and PREFIXES_V6 IPv6 prefixes, which r1 passes
on to the other peer. The sessions come up once the pair has formed, so the
active hands each one to the standby.

Checked on every peer session after each switchover: the established-since
time and the connection counters did not move, no NOTIFICATION went either
way, the received-prefix counts are what they were; a packet capture on each
peer's link shows no FIN or RST from r1 and decodes every BGP message with
no malformed one; and a change made after the switchover reaches the peers.
"""
import os
import random
import sys
import time
from contextlib import contextmanager

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
    start_rp,
    stop_pairs,
    vtysh_json,
    wait_for,
    wait_pair,
)
from ha_lib.route_churn import CHURN_WINDOW, route_churn as churn_from  # noqa: E402
from ha_lib.wire import Capture  # noqa: E402
from ha_lib.yang_model import show_json_to_instance, validate_instance  # noqa: E402

pytestmark = [pytest.mark.bgpd]

PREFIXES = 10000
PREFIXES_V6 = 10000
KEY = "frr-ha-topotest-key-0123"
PEERS = {  # router: (AS, IPv4 address, IPv6 address, first octet of its prefixes)
    "r2": (65002, "10.0.12.2", "fd00:12::2", 172),
    "r3": (65001, "10.0.12.3", "fd00:12::3", 173),
}
R1 = ("10.0.12.1", "fd00:12::1")


def write(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def zebra_conf(name, v4, v6):
    return [f"interface {name}-eth0", f" ip address {v4}/24", f" ipv6 address {v6}/64",
            "!", "ip forwarding", "ipv6 forwarding"]


def r1_conf():
    c = ["debug bgp neighbor-events", "log timestamp precision 3",
         "router bgp 65001", " bgp router-id 10.0.0.1", " no bgp ebgp-requires-policy",
         " no bgp network import-check", " no bgp default ipv4-unicast"]
    for asn, v4, v6, _ in PEERS.values():
        for n in (v4, v6):
            c += [f" neighbor {n} remote-as {asn}", f" neighbor {n} timers 3 10",
                  f" neighbor {n} timers connect 1"]
    c += [" address-family ipv4 unicast"]
    c += [f"  neighbor {v4} activate" for _, v4, _, _ in PEERS.values()]
    c += ["  neighbor 10.0.12.3 next-hop-self", "  network 10.1.0.0/24",
          " exit-address-family", " address-family ipv6 unicast"]
    c += [f"  neighbor {v6} activate" for _, _, v6, _ in PEERS.values()]
    c += ["  neighbor fd00:12::3 next-hop-self", " exit-address-family",
          " bgp ha rp a address unix /var/run/frr/bgpd-ha-a.sock priority 200",
          " bgp ha rp b address unix /var/run/frr/bgpd-ha-b.sock",
          f" bgp ha key {KEY}",
          # A standby busy with full tables on this small, shared machine
          # can miss a 300 ms detection; local mode takes over on the lock.
          " bgp ha heartbeat interval 300 multiplier 5"]
    c += [f" neighbor {n} ha failover-mode transparent"
          for _, v4, v6, _ in PEERS.values() for n in (v4, v6)]
    return c


def peer_conf(name):
    asn, v4, v6, octet = PEERS[name]
    c = ["debug bgp neighbor-events", "router bgp %d" % asn, f" bgp router-id 10.0.0.{name[1]}",
         " no bgp ebgp-requires-policy", " no bgp network import-check",
         " no bgp default ipv4-unicast", " bgp graceful-restart-disable"]
    for n in R1:
        # Shut until the pair has formed: the sessions must be handed over.
        c += [f" neighbor {n} remote-as 65001", f" neighbor {n} timers 3 10",
              f" neighbor {n} timers connect 1", f" neighbor {n} shutdown"]
    c += [" address-family ipv4 unicast", f"  neighbor {R1[0]} activate"]
    c += [f"  network {octet}.{16 + i // 65536}.{(i // 256) % 256}.{i % 256}/32"
          for i in range(PREFIXES)]
    c += [" exit-address-family", " address-family ipv6 unicast",
          f"  neighbor {R1[1]} activate"]
    c += [f"  network 2001:db8:{octet:x}:{i:x}::/64" for i in range(PREFIXES_V6)]
    c += [" exit-address-family"]
    return c


def build_topo(tgen):
    for r in ("r1", "r2", "r3"):
        tgen.add_router(r)
    sw = tgen.add_switch("s1")
    for r in ("r1", "r2", "r3"):
        sw.add_link(tgen.gears[r])


def setup_module(mod):
    confdir = f"/tmp/{mod.__name__}.conf"
    for r in ("r1", "r2", "r3"):
        os.makedirs(f"{confdir}/{r}", exist_ok=True)
    write(f"{confdir}/r1/bgpd.conf", r1_conf())
    write(f"{confdir}/r1/zebra.conf", zebra_conf("r1", *R1))
    for name, (_, v4, v6, _) in PEERS.items():
        write(f"{confdir}/{name}/bgpd.conf", peer_conf(name))
        write(f"{confdir}/{name}/zebra.conf", zebra_conf(name, v4, v6))
    tgen = Topogen(build_topo, mod.__name__)
    tgen.start_topology()
    load_pair_router(tgen.gears["r1"], f"{confdir}/r1")
    for name in PEERS:
        load_plain_router(tgen.gears[name], f"{confdir}/{name}")
    tgen.start_router()
    install_bgpd_conf(tgen.gears["r1"], f"{confdir}/r1/bgpd.conf")
    start_rp(tgen.gears["r1"], "a")
    start_rp(tgen.gears["r1"], "b")


def teardown_module(mod):
    stop_pairs({"r1": ("a", "b")})


def gear(name):
    return get_topogen().gears[name]


def session(peer, r1_address):
    return vtysh_json(gear(peer), f"show bgp neighbors {r1_address} json")[r1_address]


def peer_view():
    """What each peer knows of its sessions to r1, and the prefixes it got;
    and how many BGP routes r1's kernel holds."""
    view = {("r1", "kernel"): {"routes": r1_kernel_routes()}}
    for name in PEERS:
        for afi, addr in (("ipv4", R1[0]), ("ipv6", R1[1])):
            s = session(name, addr)
            view[(name, afi)] = {
                "state": s.get("bgpState"),
                "establishedEpoch": s.get("bgpTimerUpEstablishedEpoch"),
                "established": s.get("connectionsEstablished"),
                "dropped": s.get("connectionsDropped"),
                "notificationsSent": s["messageStats"]["notificationsSent"],
                "notificationsRecv": s["messageStats"]["notificationsRecv"],
                "prefixes": s.get("addressFamilyInfo", {})
                .get(f"{afi}Unicast", {}).get("acceptedPrefixCounter"),
            }
    return view


ADDED_BY_R2 = []  # IPv4 prefixes r2 announced during the test


def peer_tables():
    """Each peer's routes from r1: prefix -> (next hop, AS path) of the best path."""
    tables = {}
    for name in PEERS:
        for afi in ("ipv4", "ipv6"):
            routes = vtysh_json(gear(name), f"show bgp {afi} unicast json")["routes"]
            tables[(name, afi)] = {
                prefix: next(((p["nexthops"][0]["ip"], p.get("path", ""))
                              for p in paths if p.get("bestpath")), None)
                for prefix, paths in routes.items()}
    return tables


def expected_prefixes(name, afi):
    """r1 passes each peer the other peer's table (plus its own 10.1.0.0/24)."""
    if afi == "ipv6":
        return PREFIXES_V6
    return PREFIXES + 1 + (len(ADDED_BY_R2) if name == "r3" else 0)


def wait_full_tables():
    def full():
        for (name, afi), v in peer_view().items():
            if name == "r1":
                continue
            if v["state"] != "Established":
                return f"{name} {afi}: {v['state']}"
            if v["prefixes"] != expected_prefixes(name, afi):
                return f"{name} {afi}: {v['prefixes']} prefixes"
        return None

    wait_for("every peer has r1's full table", full, count=180, wait=1)


def protected_sessions(rp):
    return {n: v.get("session", {}).get("stream")
            for n, v in rp_json(gear("r1"), rp)["neighbors"].items()}


def test_sessions_come_up_handed_to_the_standby():
    wait_pair(gear("r1"), "a", "b", epoch=1)
    for name in PEERS:
        for n in R1:
            gear(name).vtysh_cmd(f"configure\nrouter bgp {PEERS[name][0]}\nno neighbor {n} shutdown")
    wait_full_tables()
    streams = protected_sessions("a")
    assert set(streams.values()) == {"mirroring"}, streams
    wait_for("rp b shadows every session",
             lambda: None if set(protected_sessions("b").values()) == {"shadow"}
             else str(protected_sessions("b")), count=60, wait=1)


def test_session_state_fits_the_yang_model(tmp_path):
    for rp in ("a", "b"):
        validate_instance(show_json_to_instance(rp_json(gear("r1"), rp)), str(tmp_path))


def r1_kernel_routes():
    return tuple(int(gear("r1").cmd(f"ip {f} route show proto bgp | wc -l").strip())
                 for f in ("-4", "-6"))


def same_session(before, after):
    """Equal views; the established-since time is derived from an uptime in
    seconds, so it may read one second apart for the same session."""
    for key, b in before.items():
        a = dict(after[key])
        if "establishedEpoch" in a and abs(a["establishedEpoch"] - b["establishedEpoch"]) <= 1:
            a["establishedEpoch"] = b["establishedEpoch"]
        if a != b:
            return False
    return True


@contextmanager
def captures_kept_on_failure(capture, label):
    """A wire check that fails keeps the captures in the test's log folder."""
    try:
        yield
    except AssertionError as err:
        kept = capture.keep(get_topogen().logdir, label)
        raise AssertionError(f"{err}\ncaptures kept: {kept}") from None


def check_transparent(before, capture, tables=None, label="switchover"):
    after = peer_view()
    assert same_session(before, after), f"peers saw the switchover:\n{before}\n{after}"
    if tables is not None:
        now = peer_tables()
        changed = {k: len(set(v.items()) ^ set(now[k].items())) for k, v in tables.items()
                   if v != now[k]}
        assert not changed, f"routes changed at the peers: {changed}"
    capture.stop()
    with captures_kept_on_failure(capture, label):
        for name in PEERS:
            wire = capture.summary(name)
            assert wire["fin_or_rst_from_r1"] == 0, (name, wire)
            assert wire["malformed"] == 0, (name, wire)
            assert wire["framing_problems"] == [], (name, wire)
            assert wire["notifications"] == 0, (name, wire)
            assert wire["bgp_messages_from_r1"] > 0, (name, wire)


def change_reaches_peers(prefix):
    """r2 announces `prefix`; r3 gets it through r1's new active."""
    gear("r2").vtysh_cmd(f"configure\nrouter bgp 65002\naddress-family ipv4 unicast\nnetwork {prefix}")
    ADDED_BY_R2.append(prefix)
    wait_for(f"r3 learns {prefix} through r1",
             lambda: None if prefix in vtysh_json(gear("r3"), "show ip bgp json")["routes"]
             else "not yet", count=30, wait=1)


def wait_handed_over(active, standby):
    wait_full_tables()
    wait_for(f"rp {active} mirrors every session",
             lambda: None if set(protected_sessions(active).values()) == {"mirroring"}
             else str(protected_sessions(active)), count=30, wait=1)
    wait_for(f"rp {standby} shadows every session",
             lambda: None if set(protected_sessions(standby).values()) == {"shadow"}
             else str(protected_sessions(standby)), count=60, wait=1)

    def in_step():
        """The standby's FSM has sent (to nowhere) what the peer holds."""
        lagging = {n: (v["session"]["shadowSentPrefixes"], v["session"]["peerHoldsPrefixes"])
                   for n, v in rp_json(gear("r1"), standby)["neighbors"].items()
                   if v["session"]["shadowSentPrefixes"] != v["session"]["peerHoldsPrefixes"]}
        return f"(shadow sent, peer holds): {lagging}" if lagging else None

    wait_for(f"rp {standby} is in step with every session", in_step, count=60, wait=0.5)


def restart_sessions_from_peers():
    """The peers restart their sessions: new sessions are handed over anew."""
    for name in PEERS:
        gear(name).vtysh_cmd("clear bgp *")


def become_active(rp):
    wait_for(f"rp {rp} is active", lambda: None if rp_json(gear("r1"), rp)["role"] == "active"
             else "not yet", count=40, wait=0.25)


def test_kill9_of_standby_leaves_active_and_peers_alone():
    before = peer_view()
    kill_rp(gear("r1"), "b")
    time.sleep(12)  # longer than the peers' hold time
    assert same_session(before, peer_view())
    # The active stops mirroring to a standby that is gone, and says why.
    wait_for("rp a no longer protects the sessions",
             lambda: None if set(protected_sessions("a").values()) == {"unprotected"}
             else str(protected_sessions("a")), count=20, wait=0.5)
    # A standby that cannot take sessions (its hand-over socket's path is
    # taken): the active says why each session is unprotected, and refuses
    # a planned switchover that would restart them.
    sessions_path = "/var/run/frr/bgpd-ha-b.sock.sessions"
    gear("r1").cmd(f"rm -f {sessions_path} && mkdir {sessions_path}")
    start_rp(gear("r1"), "b")
    wait_pair(gear("r1"), "a", "b", epoch=1)

    def blocked():
        why = rp_json(gear("r1"), "a")["neighbors"]["10.0.12.2"]["session"].get(
            "notProtectedReason", "")
        return None if "hand-over socket" in why else f"reason: {why!r}"

    wait_for("rp a says why it cannot hand sessions over", blocked, count=20, wait=0.5)
    out = gear("r1").vtysh_cmd("bgp ha switchover")
    assert "% Switchover refused: neighbor" in out and "not protected by the standby yet" in out, out
    assert rp_json(gear("r1"), "a")["role"] == "active"
    assert "hand-over socket /var/run/frr/bgpd-ha-b.sock.sessions" in rp_log(gear("r1"), "b")
    kill_rp(gear("r1"), "b")
    gear("r1").cmd(f"rmdir {sessions_path}")
    start_rp(gear("r1"), "b")
    wait_pair(gear("r1"), "a", "b", epoch=1)
    # The restarted standby gets the Established sessions, made from what
    # their streams hold: the peers see nothing of it.
    wait_handed_over("a", "b")
    assert same_session(before, peer_view())
    assert "Established session handed to the standby" in rp_log(gear("r1"), "a")


def test_planned_switchover():
    before, tables = peer_view(), peer_tables()
    capture = Capture(get_topogen(), PEERS, R1)
    out = gear("r1").vtysh_cmd("bgp ha switchover")
    assert "Switchover started" in out, out
    become_active("b")
    time.sleep(12)
    check_transparent(before, capture, tables, "planned-switchover")
    change_reaches_peers("198.51.100.1/32")


def test_kill9_of_active_while_idle():
    wait_pair(gear("r1"), "b", "a", epoch=2)
    wait_handed_over("b", "a")
    before, tables = peer_view(), peer_tables()
    capture = Capture(get_topogen(), PEERS, R1)
    capture.mark("kill")
    kill_rp(gear("r1"), "b")
    become_active("a")
    time.sleep(12)  # longer than the peers' hold time: keepalives must continue
    check_transparent(before, capture, tables, "kill-while-idle")
    for name in PEERS:  # a figure for the record, not a pass/fail threshold
        print(f"{name}: first bytes from r1 after the kill: "
              f"{capture.first_from_r1_after(name, 'kill')}")
    log = rp_log(gear("r1"), "a")
    assert "session continued" in log
    # The standby was in step: nothing to send but what changed.
    assert "0 messages brought the peer up to date" in log
    # It heard the death from b's life page, before b's exit was over.
    assert "rp b's process" in log and "died (its life page says so" in log, log[-3000:]
    change_reaches_peers("198.51.100.2/32")


def test_repeated_switchovers_back_and_forth():
    """Five cycles: the old active restarts as standby, gets the sessions,
    and takes over again, by kill -9 and planned switchover in turn. The
    sessions the peers opened at the start carry on through all of it."""
    start = peer_view()
    active, standby, epoch = "a", "b", 3
    for cycle in range(5):
        start_rp(gear("r1"), standby)
        wait_pair(gear("r1"), active, standby, epoch=epoch)
        wait_handed_over(active, standby)
        capture = Capture(get_topogen(), PEERS, R1)
        if cycle % 2 == 0:
            out = gear("r1").vtysh_cmd("bgp ha switchover")
            assert "Switchover started" in out, out
            become_active(standby)
            kill_rp(gear("r1"), active)  # restarted as standby next cycle
        else:
            kill_rp(gear("r1"), active)
            become_active(standby)
        active, standby, epoch = standby, active, epoch + 1
        time.sleep(4)  # beyond the peers' keepalive interval
        check_transparent(start, capture, label=f"cycle{cycle}")
    # A kill was heard on the life page and the sessions taken over from
    # the dead active's links as they were, without waiting for its exit.
    logs = rp_log(gear("r1"), "a") + rp_log(gear("r1"), "b")
    assert "links read to their end before its exit was over" in logs
    change_reaches_peers("198.51.100.4/32")


def test_kill9_of_active_during_full_table_exchange():
    active = "a" if rp_pid(gear("r1"), "a") else "b"  # the other one is down
    standby = "b" if active == "a" else "a"
    start_rp(gear("r1"), standby)
    epoch = rp_json(gear("r1"), active)["epoch"]
    wait_pair(gear("r1"), active, standby, epoch=epoch)
    capture = Capture(get_topogen(), PEERS, R1)
    restart_sessions_from_peers()
    # Kill the active as soon as every new session is handed over: the
    # tables are still on their way.
    wait_for("every new session is mirrored",
             lambda: None if set(protected_sessions(active).values()) == {"mirroring"}
             and len(protected_sessions(active)) == 4 else str(protected_sessions(active)),
             count=100, wait=0.05)
    first = peer_view()  # the new sessions, tables still on their way
    capture.mark("kill")
    kill_rp(gear("r1"), active)
    become_active(standby)
    wait_full_tables()
    time.sleep(12)
    view = peer_view()
    # No session restarted because of the switchover.
    moved = {k: ((first[k]["established"], first[k]["dropped"]),
                 (v["established"], v["dropped"]))
             for k, v in view.items() if k[0] != "r1"
             if (v["established"], v["dropped"]) !=
             (first[k]["established"], first[k]["dropped"])
             or v["notificationsRecv"] != first[k]["notificationsRecv"]}
    assert not moved, f"(established, dropped) before and after: {moved}"
    capture.stop()
    with captures_kept_on_failure(capture, "full-table-kill"):
        for name in PEERS:
            wire = capture.summary(name, since="kill")
            assert wire["fin_or_rst_from_r1"] == 0, (name, wire)
            assert wire["notifications"] == 0, (name, wire)
            assert wire["malformed"] == 0, (name, wire)
            assert wire["framing_problems"] == [], (name, wire)
    change_reaches_peers("198.51.100.3/32")


def churned_prefixes(name):
    """The churn's prefixes in a router's BGP table."""
    routes = vtysh_json(gear(name), "show ip bgp json")["routes"]
    return {p for p in routes if p.startswith("198.18.")}


@contextmanager
def route_churn():
    """r2 churns (ha_lib.route_churn) until the block ends."""
    with churn_from(gear("r2"), 65002, "/tmp/tf_local_churn.sh"):
        yield


def sessions_of(view):
    """A peer_view without what churn moves (prefix counts, kernel routes)."""
    return {k: {f: x for f, x in v.items() if f != "prefixes"}
            for k, v in view.items() if k[0] != "r1"}


def test_kill9_at_random_instants_under_route_churn():
    """r2 adds and withdraws prefixes without pause while the active is
    killed at a random instant, three times, each RP in turn. Each time no
    peer session restarts or sees a NOTIFICATION, the wire shows no FIN, RST
    or malformed message from r1, and once the churn stops r3 holds exactly
    the churned prefixes r2 still announces, through the new active; then
    r2 withdraws them all and r3 drops them all."""
    seed = int(os.environ.get("FRR_HA_CHURN_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    active = "a" if rp_pid(gear("r1"), "a") else "b"
    for cycle in range(3):
        standby = "b" if active == "a" else "a"
        if not rp_pid(gear("r1"), standby):
            start_rp(gear("r1"), standby)
        epoch = rp_json(gear("r1"), active)["epoch"]
        wait_pair(gear("r1"), active, standby, epoch=epoch)
        wait_handed_over(active, standby)
        before = sessions_of(peer_view())
        capture = Capture(get_topogen(), PEERS, R1)
        delay = round(rng.uniform(0.3, 3.0), 2)
        label = f"churn-seed{seed}-cycle{cycle}-after{delay}s"
        with route_churn():
            time.sleep(delay)
            capture.mark("kill")
            kill_rp(gear("r1"), active)
            become_active(standby)
            time.sleep(3)  # the churn goes on through the new active
        # r3 converges on what r2 holds, through the new active.
        wait_for(f"{label}: r3 holds exactly r2's churned prefixes",
                 lambda: None if churned_prefixes("r3") == churned_prefixes("r2")
                 else f"r2 {len(churned_prefixes('r2'))}, r3 {len(churned_prefixes('r3'))}, "
                      f"differ {sorted(churned_prefixes('r2') ^ churned_prefixes('r3'))[:6]}",
                 count=30, wait=1)
        assert len(churned_prefixes("r2")) == CHURN_WINDOW, churned_prefixes("r2")
        time.sleep(4)  # beyond the peers' keepalive interval
        after = sessions_of(peer_view())
        # (the established-since time may read one second apart: same_session)
        assert same_session(before, after), f"{label}: peers saw the kill:\n{before}\n{after}"
        capture.stop()
        with captures_kept_on_failure(capture, label):
            for name in PEERS:
                wire = capture.summary(name, since="kill")
                assert wire["fin_or_rst_from_r1"] == 0, (label, name, wire)
                assert wire["notifications"] == 0, (label, name, wire)
                assert wire["malformed"] == 0, (label, name, wire)
                assert wire["framing_problems"] == [], (label, name, wire)
        # Withdrawn all at once, dropped all at once.
        gear("r2").cmd("vtysh -c 'configure terminal' -c 'router bgp 65002' "
                       "-c 'address-family ipv4 unicast' " +
                       " ".join(f"-c 'no network {p}'" for p in sorted(churned_prefixes("r2"))))
        wait_for(f"{label}: r3 drops every churned prefix",
                 lambda: None if not churned_prefixes("r3") else str(len(churned_prefixes("r3"))),
                 count=30, wait=1)
        active = standby
