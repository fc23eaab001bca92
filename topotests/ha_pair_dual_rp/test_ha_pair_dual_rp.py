#!/usr/bin/env python3
"""
The HA pair in dual-RP mode: rp a and rp b run in two namespaces (two hosts,
each with its own zebra), paired over TCP on link s0; r2 is a stock FRR peer
configured with both RP addresses on s1 (only the active's session comes up).

Checked: the pair forms over TCP and the active holds a lease its standby
grants with every heartbeat; the active hands r2's session to the standby
host over the data channel, which holds both streams as BGP messages as far
as the active confirmed them, and a route added at run time reaches r2 (the
write gate opened) with its UPDATE in the standby's copy; a configuration change made on the active
host reaches the standby host, and `write memory` saves both hosts' files; a
planned switchover moves the session to
rp b; when the channel link is cut, rp b's lease lapses and it goes silent
(no BGP byte to r2 from then on, on r2's wire; its sessions kept), rp a
(which cannot tell a cut from a death) takes over after the detection time
and only once the lease it granted has expired, and when the link heals the
RP with the older epoch steps down at once: one active, one ready standby;
a standby frozen past the lease silences the active, which keeps its session
to r2 and writes again as soon as the thawed standby grants (no switchover);
an active frozen past its lease is fenced by its own kernel (nftables): no
segment of any kind reaches r2 from its deadline on, and thawed it steps
down; with the standby's host down, the silent active writes again once the
operator overrides its lease, before r2's hold time runs out. The service
address 10.0.12.10/24 is on the active's host alone, and r2's neighbour cache
follows it to the new active at each switchover (its gratuitous ARP) without
r2 sending a packet; an RP whose lease lapsed releases it.

r3 (stock FRR, no GR, its session signed with TCP-MD5) and r4 (GoBGP, no
GR, TCP timestamps on) peer with the service address (r3 also over IPv6,
with 2001:db8:12::10/64, signed too): the active relays
their sessions to the standby host, whose shadows follow them; the planned
switchover, the cut channel, the frozen active, the standby host down and
the active host's death (its bgpd killed and its links down at once) each
continue them from the other host on rebuilt sockets. Neither ever sees
its session drop: on their wires no FIN, RST or NOTIFICATION from the
service address, every message framed, every segment to r3 signed. r5
(BIRD, graceful restart on) peers with the service address too: at the
active host's death it restarts gracefully with the new host, keeping the
pair's routes while it helps. Last, with tables both ways (r3, r4 and r5
send 10k prefixes each and receive the others'), a host's death and a
planned switchover back leave every table as it was, and r4 is sent no
UPDATE again of any prefix but those the restarts explain. And when the
active host's link towards the peers goes (the channel's stays), the active
hands its role over before bgpd takes the link's sessions down: r3 and r4
go on with their tables from the other host, and the old active is not
ready until its link is back. Last, under r3's route churn, with commands
typed on the standby host (refused), the active dies at a random instant,
its bgpd alone and then its whole host, and rejoins while the churn goes
on, and a planned switchover comes at a random instant too: r3 and r4 never see it, and every peer and RP ends with r3's prefixes.
An active whose main thread alone hangs (its I/O pthread runs on) is
fenced at its lease's end and replaced; let go, it steps down. A standby
host slowed down (its bgpd running 30 ms of every 100) under r3's churn
holds no session back: the active goes on relaying (its lease may lapse
for a moment), and the standby catches up and continues the sessions at
a switchover. A channel link that flaps six times under churn leaves one
active and one standby, and r3 and r4 never see it. A standby that was
active keeps its last lease deadline, yet its shadows' writes (swallowed)
never wait on it.
Last, the active host dies while a restarted standby still catches up:
it takes the role all the same, what it did not protect restarts, and
every peer ends with every route.
"""
import json
import os
import random
import re
import sys
import time
from contextlib import contextmanager

import pytest

CWD = os.path.dirname(os.path.realpath(__file__))
sys.path.append(os.path.join(CWD, ".."))

from lib.topogen import Topogen, get_topogen  # noqa: E402

from ha_lib.mrt import write_ipv4_rib  # noqa: E402
from ha_lib.route_churn import CHURN_WINDOW, route_churn  # noqa: E402
from ha_lib.thread_hang import hang_main_thread  # noqa: E402
from ha_lib.speakers import bird_session, gobgp_session, start_bird, stop_bird, write_conf  # noqa: E402,E501
from ha_lib.wire import Capture, tshark  # noqa: E402
from ha_lib.yang_model import show_json_to_instance, validate_instance  # noqa: E402

from ha_lib.frr_ha import (  # noqa: E402
    install_bgpd_conf,
    kill_rp,
    rp_pid,
    load_pair_router,
    load_plain_router,
    rp_json,
    rp_log,
    rp_vtysh,
    rp_vty_dir,
    start_rp,
    vtysh_json,
    wait_for,
)

pytestmark = [pytest.mark.bgpd]

GOBGP_DIR = "/tmp/ha_pair_dual_rp.r4"
BIRD_DIR = "/tmp/ha_pair_dual_rp.r5"

HOSTS = {"a": "rpa", "b": "rpb"}
ADDRESS = {"a": "10.0.12.1", "b": "10.0.12.2"}
SERVICE = "10.0.12.10"  # bgp ha service-address 10.0.12.10/24
R2 = "10.0.12.3"  # peers with each RP's own address: restarts at a switchover
R3 = "10.0.12.4"  # peers with the service address: handed to the standby host
SERVICE6 = "2001:db8:12::10"  # bgp ha service-address 2001:db8:12::10/64
R3V6 = "2001:db8:12::4"  # r3's second session, over IPv6 to SERVICE6 (TCP-MD5 too)
R4 = "10.0.12.5"  # GoBGP (no GR) on the service address, as r3
R5 = "10.0.12.6"  # BIRD with graceful restart on the service address
MD5_PROBE = "10.0.12.98"  # a passive neighbor with a TCP-MD5 key, never up: probes the listener
SERVICE_PEERS = ["r3", "r4"]  # the peers whose sessions move between hosts


def peer_table(first_octet, size=10000):
    return [f"{first_octet}.{i // 256}.{i % 256}.0/24" for i in range(size)]


# What r3, r4 and r5 each announce in the last test (tables both ways): 10k
# prefixes each, so that every peer sends one table and receives two.
FULL_TABLES = {"r3": peer_table(20), "r4": peer_table(21), "r5": peer_table(22)}


def build_topo(tgen):
    for name in ("rpa", "rpb", "r2", "r3"):
        tgen.add_router(name)
    tgen.add_host("r4", f"{R4}/24", f"via {SERVICE}")  # GoBGP runs in a plain host
    tgen.add_host("r5", f"{R5}/24", f"via {SERVICE}")  # and BIRD
    s0 = tgen.add_switch("s0")  # the HA channel
    s0.add_link(tgen.gears["rpa"])
    s0.add_link(tgen.gears["rpb"])
    s1 = tgen.add_switch("s1")  # the peering LAN
    s1.add_link(tgen.gears["rpa"])
    s1.add_link(tgen.gears["rpb"])
    s1.add_link(tgen.gears["r2"])
    s1.add_link(tgen.gears["r3"])
    s1.add_link(tgen.gears["r4"])
    s1.add_link(tgen.gears["r5"])


def gobgp_conf():
    return ["[global.config]", "  as = 65004", f'  router-id = "{R4}"', "  port = -1",
            "[[neighbors]]", "  [neighbors.config]", f'    neighbor-address = "{SERVICE}"',
            "    peer-as = 65001", "  [neighbors.transport.config]",
            f'    local-address = "{R4}"', "  [neighbors.timers.config]",
            "    connect-retry = 1", "    hold-time = 10", "    keepalive-interval = 3",
            "  [[neighbors.afi-safis]]", "    [neighbors.afi-safis.config]",
            '      afi-safi-name = "ipv4-unicast"']


def start_gobgp(tgen):
    os.makedirs(GOBGP_DIR, exist_ok=True)
    with open(f"{GOBGP_DIR}/gobgpd.toml", "w") as f:
        f.write("\n".join(gobgp_conf()) + "\n")
    r4 = tgen.gears["r4"]
    r4.cmd(f"gobgpd -f {GOBGP_DIR}/gobgpd.toml -l warn -p --pprof-disable "
           f"> {GOBGP_DIR}/gobgpd.log 2>&1 & echo $! > {GOBGP_DIR}/gobgpd.pid")
    wait_for("GoBGP answers", lambda: None if gobgp_session(r4) is not None
             or "connection refused" not in r4.cmd("gobgp neighbor 2>&1") else "not yet",
             count=40, wait=0.25)
    for prefix in ("10.4.0.0/24", "10.4.1.0/24"):
        out = r4.cmd(f"gobgp global rib add {prefix} -a ipv4 2>&1")
        assert "error" not in out.lower(), out


def bird_conf(table=()):
    """BIRD's configuration; table: prefixes of a second static protocol
    (the full table it sends in the last test)."""
    return [f'log "{BIRD_DIR}/bird.log" all;', "debug protocols { states, events };",
            f"router id {R5};", "protocol device { }",
            "protocol static { ipv4;", "  route 10.5.0.0/24 blackhole;",
            "  route 10.5.1.0/24 blackhole;", "}",
            "protocol static full_table { ipv4;",
            *[f"  route {prefix} blackhole;" for prefix in table], "}",
            "protocol bgp r1 {", f"  local {R5} as 65005;", f"  neighbor {SERVICE} as 65001;",
            "  hold time 10; keepalive time 3; connect retry time 1; error wait time 1, 5;",
            "  graceful restart on;",
            "  ipv4 { import all; export where source = RTS_STATIC; };", "}"]


def setup_module(mod):
    tgen = Topogen(build_topo, mod.__name__)
    tgen.start_topology()
    for rp, host in HOSTS.items():
        load_pair_router(tgen.gears[host], os.path.join(CWD, host))
    for name in ("r2", "r3"):
        load_plain_router(tgen.gears[name], os.path.join(CWD, name))
    tgen.start_router()
    for rp, host in HOSTS.items():
        install_bgpd_conf(tgen.gears[host], os.path.join(CWD, "bgpd.conf"))
        start_rp(tgen.gears[host], rp)
    start_gobgp(tgen)
    os.makedirs(BIRD_DIR, exist_ok=True)
    write_conf(f"{BIRD_DIR}/bird.conf", bird_conf())
    start_bird(tgen.gears["r5"], BIRD_DIR)


def teardown_module(mod):
    tgen = get_topogen()
    stop_bird(tgen.gears["r5"], BIRD_DIR)
    tgen.gears["r4"].cmd(f"kill $(cat {GOBGP_DIR}/gobgpd.pid) 2>/dev/null")
    for rp, host in HOSTS.items():
        kill_rp(tgen.gears[host], rp, "TERM")
    tgen.stop_topology()


def show(rp):
    return rp_json(get_topogen().gears[HOSTS[rp]], rp)


def wait_roles(active, standby, epoch):
    def roles():
        a, s = show(active), show(standby)
        got = (a["role"], s["role"], s.get("ready"), a["epoch"], s["epoch"],
               a["partner"].get("dataChannel"), s["partner"].get("dataChannel"))
        want = ("active", "standby", True, epoch, epoch, "up", "up")
        return None if got == want else f"got {got}"

    wait_for(f"rp {active} active, rp {standby} ready standby at epoch {epoch}, "
             "the data channel up", roles)


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


def wait_leased(active, standby):
    def leased():
        la, ls = show(active)["lease"], show(standby)["lease"]
        if not (la["role"] == "holder" and la["inForce"] and la["mayWrite"]
                and la["grantsReceived"] > 0):
            return f"rp {active}'s lease: {la}"
        if not (ls["role"] == "grantor" and ls["inForce"] and ls["grantsGiven"] > 0):
            return f"rp {standby}'s lease: {ls}"
        return None

    wait_for(f"rp {active} holds a lease rp {standby} grants", leased, count=20, wait=0.25)


def wait_service_on(rp):
    """The service address is on rp's host and not on the other's, each RP
    says so, and r2's neighbour cache names rp's MAC."""
    tgen = get_topogen()
    other = "b" if rp == "a" else "a"
    host, other_host, r2 = tgen.gears[HOSTS[rp]], tgen.gears[HOSTS[other]], tgen.gears["r2"]
    ifname, other_if = f"{HOSTS[rp]}-eth1", f"{HOSTS[other]}-eth1"
    mac = host.cmd(f"cat /sys/class/net/{ifname}/address").strip()

    def moved():
        mine = show(rp).get("serviceAddresses", [{}])[0]
        theirs = show(other).get("serviceAddresses", [{}])[0]
        if mine.get("state") != "claimed" or mine.get("interface") != ifname:
            return f"rp {rp}: {mine}"
        if theirs.get("state") != "released":
            return f"rp {other}: {theirs}"
        if f"inet {SERVICE}/24" not in host.cmd(f"ip -4 addr show dev {ifname}"):
            return f"{SERVICE} not on {ifname}"
        if SERVICE in other_host.cmd(f"ip -4 addr show dev {other_if}"):
            return f"{SERVICE} still on {other_if}"
        seen = r2.cmd(f"ip neigh show {SERVICE}")
        if mac not in seen:
            return f"r2's cache {seen.strip()!r}, rp {rp}'s MAC {mac}"
        return None

    wait_for(f"the service address on rp {rp}'s host alone, r2's cache on it", moved,
             count=20, wait=0.25)


def test_pair_forms_over_tcp():
    wait_roles("a", "b", 1)
    a = show("a")
    assert a["mode"] == "dual-rp"
    assert a["partner"]["address"] == "tcp:10.0.0.2:5180"
    assert a["heartbeat"]["detectionMs"] == 500
    # The data channel beside the control channel: one, up on both.
    for rp in ("a", "b"):
        c = show(rp)["counters"]
        assert c["dataChannelsUp"] == 1 and c["dataChannelsRefused"] == 0, c
        assert c["streamPiecesRefused"] == 0, c
    assert "Data channel: up (up 1 times" in rp_vtysh(get_topogen().gears["rpb"], "b",
                                                        "show bgp ha")
    # Each channel's TCP ends, the same two seen from either RP: rp a
    # connected both to rp b's port, from ports of its own.
    pa, pb = show("a")["partner"], show("b")["partner"]
    for key in ("channelEndpoints", "dataChannelEndpoints"):
        assert pa[key]["remote"] == "10.0.0.2:5180", pa
        assert pa[key]["local"].startswith("10.0.0.1:"), pa
        assert (pb[key]["local"], pb[key]["remote"]) == (pa[key]["remote"], pa[key]["local"]), pb
    assert pa["channelEndpoints"] != pa["dataChannelEndpoints"], pa
    text = rp_vtysh(get_topogen().gears["rpa"], "a", "show bgp ha")
    assert f"Data channel endpoints: {pa['dataChannelEndpoints']['local']} > 10.0.0.2:5180" in text
    wait_session_with("a")
    wait_leased("a", "b")
    # The lease is the detection time; one request a heartbeat, each granted.
    before = show("a")["lease"]
    assert before["leaseMs"] == 500
    time.sleep(1)
    after, b = show("a")["lease"], show("b")["lease"]
    assert after["requestsSent"] - before["requestsSent"] >= 8, (before, after)
    assert after["grantsRefused"] == 0 and after["lapses"] == 0, after
    assert 0 < after["validForMs"] <= 495, after
    assert b["requestsRefused"] == 0, b
    assert 0 < b["mayTakeOverInMs"] <= 526, b
    tgen = get_topogen()
    assert "Lease: holder, writing, valid for" in rp_vtysh(tgen.gears["rpa"], "a", "show bgp ha")
    assert "Lease: grantor, may take over in" in rp_vtysh(tgen.gears["rpb"], "b", "show bgp ha")
    # The active's host holds the service address; r2 reaches it there.
    r2 = tgen.gears["r2"]
    assert "1 received" in r2.cmd(f"ping -c1 -W2 {SERVICE}")
    wait_service_on("a")
    assert "10.0.12.10/24: claimed on rpa-eth1" in rp_vtysh(tgen.gears["rpa"], "a",
                                                              "show bgp ha")


def streams(rp):
    """rp's streams across hosts, by neighbor."""
    return {e["neighbor"]: e for e in show(rp).get("streamsAcrossHosts", {}).get("sessions", [])}


def wait_streams_on_standby_host(active, standby):
    """r3's session on the active is relayed to the standby host, which holds
    both streams as far as the active offered them, framed into BGP
    messages; returns (active's entry, standby's)."""
    got = {}

    def held():
        mine, theirs = streams(active).get(R3), streams(standby).get(R3)
        if not mine or mine["side"] != "active":
            return f"rp {active}: {mine}"
        if not theirs or theirs["side"] != "standby" or theirs["session"] != mine["session"]:
            return f"rp {standby}: {theirs} (rp {active}: {mine})"
        if (mine["receivedBytes"], mine["sentBytes"]) != (mine["offeredReceivedBytes"],
                                                          mine["offeredSentBytes"]):
            return f"rp {active} has unconfirmed bytes: {mine}"
        if (theirs["receivedBytes"], theirs["sentBytes"]) != (mine["receivedBytes"],
                                                              mine["sentBytes"]):
            return f"rp {standby} holds {theirs}, rp {active} confirmed {mine}"
        if theirs["messagesReceived"] < 2 or theirs["messagesSent"] < 2:
            return f"rp {standby}: {theirs}"
        got["entries"] = (mine, theirs)
        return None

    wait_for(f"r3's streams on rp {active} confirmed by rp {standby}'s host", held,
             count=40, wait=0.25)
    return got["entries"]


def r3_heard():
    return vtysh_json(get_topogen().gears["r3"], f"show bgp neighbors {SERVICE} json")[SERVICE]


def r5_heard():
    return bird_session(get_topogen().gears["r5"], BIRD_DIR)


def r5_view():
    """BIRD's session and whether it holds the pair's route (BIRD shows no
    stale flag; while it helps a graceful restart it says so)."""
    v = r5_heard()
    route = get_topogen().gears["r5"].cmd(f"birdc -s {BIRD_DIR}/bird.ctl show route 10.1.0.0/24")
    return {"state": v["state"], "since": v["since"], "present": "10.1.0.0/24" in route,
            "helping": "Neighbor graceful restart active" in v["text"]}


def r3_heard_v6():
    return vtysh_json(get_topogen().gears["r3"], f"show bgp neighbors {SERVICE6} json")[SERVICE6]


def r3_why_dropped(address, session):
    """What r3 knows of why its session to address ended: the counters,
    the last reset, and the lines of its log that show the session's states."""
    fields = {k: v for k, v in session.items()
              if k in ("bgpState", "connectionsEstablished", "connectionsDropped",
                       "bgpTimerUpEstablishedEpoch")
              or k.startswith(("lastReset", "lastNotification", "lastError"))}
    log = get_topogen().gears["r3"].cmd(
        f"grep -F '{address}' bgpd.log | grep -E 'went from|NOTIFICATION|Hold Timer|[Rr]eset'"
        " | tail -20")
    return f"r3's session to {address}: {fields}\n{log}"


def r4_heard():
    return gobgp_session(get_topogen().gears["r4"])


# r3's and r4's counters once their sessions settled after the start (r3
# and the pair both connect, and a collision may close the first session
# r3 had: FRR resolves it as it does between any two routers).
SETTLED = {}


def service_peers_counters():
    counters = {address: (s["connectionsEstablished"], s["connectionsDropped"],
                          s["messageStats"]["notificationsRecv"])
                for address, s in ((SERVICE, r3_heard()), (SERVICE6, r3_heard_v6()))}
    r4 = r4_heard()
    counters[R4] = (r4["flops"], r4["notificationsRecv"]) if r4 else None
    return counters


def note_service_peers_settled():
    """Records r3's and r4's counters once their sessions have stayed up a
    while after the start: what every later check compares with."""
    wait_service_peers()
    before = service_peers_counters()
    time.sleep(3)  # past a collision's resolution and r3's connect retry
    wait_service_peers()
    after = service_peers_counters()
    assert after == before, f"r3's or r4's sessions still settling: {before} then {after}"
    SETTLED.update(after)
    # A session closed by that collision ended its receiver on rp b's host.
    SETTLED["receiversEnded"] = show("b")["streamsAcrossHosts"]["receiversEnded"]


def assert_service_peers_never_dropped():
    """r3's and r4's one session each to the service address have gone on
    through every switchover so far: Established, never dropped, never
    established again, no NOTIFICATION received since they settled after
    the start. Returns r3's view."""
    heard = r3_heard()
    for address, session in ((SERVICE, heard), (SERVICE6, r3_heard_v6())):
        kept = (session["bgpState"] == "Established"
                and (session["connectionsEstablished"], session["connectionsDropped"],
                     session["messageStats"]["notificationsRecv"]) == SETTLED[address])
        assert kept, (SETTLED[address], r3_why_dropped(address, session))
    r4 = r4_heard()
    assert r4 and r4["state"] == "Established", r4
    assert (r4["flops"], r4["notificationsRecv"]) == SETTLED[R4], (SETTLED[R4], r4)
    return heard


def service_wire(tgen):
    """A capture of what r3 and r4 exchange with the service address."""
    return Capture(tgen, SERVICE_PEERS, [SERVICE, SERVICE6])


def assert_service_wire_clean(capture, since=None):
    """Nothing in r3's or r4's capture from the service address ended or
    broke its session: no FIN, RST or NOTIFICATION, every message frames."""
    for name in SERVICE_PEERS:
        wire = capture.summary(name, since=since)
        assert wire["fin_or_rst_from_r1"] == 0, (name, wire)
        assert wire["notifications"] == 0, (name, wire)
        assert wire["malformed"] == 0, (name, wire)
        assert wire["framing_problems"] == [], (name, wire)
        assert capture.count(name, f"ip.src == {SERVICE} && tcp") > 0, name
    # Every segment to r3 is signed (TCP-MD5, option 19), those of a socket
    # rebuilt on the other host too.
    assert capture.count("r3", f"ip.src == {SERVICE} && tcp && !(tcp.option_kind == 19)") == 0
    assert capture.count("r3", f"ipv6.src == {SERVICE6} && tcp") > 0
    assert capture.count("r3", f"ipv6.src == {SERVICE6} && tcp && !(tcp.option_kind == 19)") == 0


def wait_service_peers():
    r3 = get_topogen().gears["r3"]

    def established(heard, table, prefix):
        state = heard()["bgpState"]
        if state != "Established":
            return f"r3's session is {state}"
        if prefix not in vtysh_json(r3, table)["routes"]:
            return f"r3 lacks the pair's {prefix}"
        return None

    wait_for("r3 peers with the service address",
             lambda: established(r3_heard, "show ip bgp json", "10.1.0.0/24"))
    wait_for("r3 peers with the IPv6 service address",
             lambda: established(r3_heard_v6, "show bgp ipv6 unicast json", "2001:db8:1::/48"))

    def gobgp_established():
        r4 = r4_heard()
        if not r4 or r4["state"] != "Established" or r4["prefixes"] < 1:
            return f"r4: {r4}"
        return None

    wait_for("r4 (GoBGP) peers with the service address", gobgp_established)


def wait_connection_image_on(standby):
    """The standby host holds the image of r3's connection: its addresses
    and ports as r3 sees them, and a fresh progress in which r3
    acknowledged everything the active's host sent."""
    heard = r3_heard()
    local = f"{heard['hostForeign']}:{heard['portForeign']}"
    remote = f"{heard['hostLocal']}:{heard['portLocal']}"

    def imaged():
        entry = streams(standby).get(R3, {})
        conn = entry.get("connection")
        if not conn:
            return f"rp {standby}: {entry}"
        if (conn["local"], conn["remote"]) != (local, remote):
            return f"rp {standby}'s image {conn['local']} -> {conn['remote']}, r3: {local} -> {remote}"
        if not (0 <= conn["progressAgeMs"] < 2500):
            return f"rp {standby}'s progress is {conn['progressAgeMs']} ms old"
        if conn["peerAcked"] != entry["sentBytes"] or conn["receivedAcked"] != entry["receivedBytes"]:
            return f"rp {standby}: {entry}"
        return None

    wait_for(f"rp {standby}'s host holds the image of r3's connection", imaged,
             count=20, wait=0.5)
    conn = streams(standby)[R3]["connection"]
    # r3's session is signed with TCP-MD5 (RFC 2385), and Linux then leaves
    # timestamps out of the handshake (no room for both in the options).
    assert conn["mss"] > 0 and conn["sack"] and not conn["timestamps"], conn
    assert conn["local"].startswith(SERVICE + ":"), conn


def dump_hosts_on_failure(what):
    """Writes each RP host's sockets, fence and roles into the logs folder
    (diagnostics of a wait that gave up)."""
    tgen = get_topogen()
    path = os.path.join(tgen.logdir, f"diag-{int(time.time())}.txt")
    with open(path, "w") as out:
        out.write(f"{what}\n")
        for rp, host in HOSTS.items():
            router = tgen.gears[host]
            for cmd in ("ss -tanoie", "nft list ruleset", "ip -4 addr"):
                out.write(f"--- {host}: {cmd}\n{router.cmd(cmd)}\n")
            out.write(f"--- rp {rp}: show bgp ha\n{rp_vtysh(router, rp, 'show bgp ha')}\n")


def not_protected(standby, peer):
    """None once the standby host protects peer's session (it caught up and
    the active said so: only then may its shadow continue the session)."""
    entry = streams(standby).get(peer, {})
    return None if entry.get("protected") else f"rp {standby}: {peer} not protected yet: {entry}"


def wait_shadow_on(standby, active):
    """The standby host runs r3's shadow on the relayed streams: bgpd's FSM
    Established on the session's true addresses (the placeholder's), its
    socket set apart, the whole history held, and the same routes from r3
    as the active has; r3's and r4's sessions protected (caught up)."""
    try:
        wait_shadow_on_checked(standby, active)
    except AssertionError as failure:
        dump_hosts_on_failure(str(failure))
        raise


def wait_shadow_on_checked(standby, active):
    rp_host = get_topogen().gears[HOSTS[standby]]

    def shadowing_r3():
        n = show(standby)["neighbors"].get(R3, {})
        tap = n.get("session", {})
        if n.get("state") != "Established" or tap.get("stream") != "shadow":
            return f"rp {standby}: {n}"
        if not (tap["socketIsolated"] and tap["historyComplete"]):
            return f"rp {standby}: {tap}"
        want = show(active)["neighbors"][R3]["session"]["receivedPrefixes"]
        if tap["receivedPrefixes"] != want or want < 2:
            return f"rp {standby} holds {tap['receivedPrefixes']} of r3's prefixes, rp {active} {want}"
        # r4's session too: a kill before the standby host protects it
        # would restart it (its shadow may continue only a protected one).
        return not_protected(standby, R3) or (R4 in streams(active) and not_protected(standby, R4))

    wait_for(f"rp {standby}'s host shadows r3's session", shadowing_r3, count=40, wait=0.25)

    def shadowing(peer, protected):
        n = show(standby)["neighbors"].get(peer, {})
        tap = n.get("session", {})
        if n.get("state") != "Established" or tap.get("stream") != "shadow" \
                or not tap.get("historyComplete"):
            return f"rp {standby}: {n}"
        return not_protected(standby, peer) if protected else None

    wait_for(f"rp {standby}'s host shadows r4's session", lambda: shadowing(R4, False),
             count=40, wait=0.25)
    wait_for(f"rp {standby}'s host shadows r3's IPv6 session", lambda: shadowing(R3V6, True),
             count=40, wait=0.25)
    # The placeholder gave bgpd the addresses r3 knows.
    n = json.loads(rp_vtysh(rp_host, standby, f"show bgp neighbors {R3} json"))[R3]
    assert n["hostLocal"] == SERVICE, n
    routes = json.loads(rp_vtysh(rp_host, standby, "show ip bgp json"))["routes"]
    assert "10.3.1.0/24" in routes, sorted(routes)


def test_sessions_streams_reach_the_standby_host():
    """The active hands r3's session (on the service address) to the
    standby host over the data channel: the standby holds both streams and
    confirms them, and the active writes to r3 only what was confirmed: a
    route added at run time reaches r3, and its UPDATE is in the standby's
    copy. The standby host runs the session's shadow on them. r2's session,
    on rp a's own address, is not handed over: no other host could
    continue it."""
    tgen = get_topogen()
    note_service_peers_settled()
    mine, theirs = wait_streams_on_standby_host("a", "b")
    assert theirs["sentBytes"] > 19 and theirs["receivedBytes"] > 19, theirs
    assert "session handed to the standby" in rp_log(tgen.gears["rpa"], "a")
    assert "receiving the streams of 10.0.12.4 from the active host" in rp_log(
        tgen.gears["rpb"], "b")
    want = "Streams across hosts: 0 sessions to the standby host, 4 from the active host"
    wait_for("rp b receives the four sessions' streams",
             lambda: None if want in rp_vtysh(tgen.gears["rpb"], "b", "show bgp ha")
             else rp_vtysh(tgen.gears["rpb"], "b", "show bgp ha"), count=20, wait=0.5)
    r2_entry = show("a")["neighbors"][R2]
    assert r2_entry["switchoverMode"] == "restart", r2_entry
    wait_for("r5 (BIRD) peers with the service address",
             lambda: None if r5_heard()["state"] == "Established" and r5_heard()["prefixes"] >= 1
             else r5_heard()["text"])
    r5_entry = show("a")["neighbors"][R5]
    assert r5_entry["switchoverMode"] == "graceful-restart", r5_entry
    assert "not a service address" in r2_entry["reason"], r2_entry
    assert R2 not in streams("a") and R2 not in streams("b")
    wait_shadow_on("b", "a")
    assert "shadowing the active's session from the active host" in rp_log(tgen.gears["rpb"], "b")
    wait_standby_host_fib("b")
    r3 = tgen.gears["r3"]
    rp_vtysh(tgen.gears["rpa"], "a", "configure terminal\nrouter bgp 65001\n"
             "address-family ipv4 unicast\nnetwork 10.1.7.0/24")
    wait_for("r3 has the route added on the active",
             lambda: None if "10.1.7.0/24" in vtysh_json(r3, "show ip bgp json")["routes"]
             else "not yet")
    _, later = wait_streams_on_standby_host("a", "b")
    assert later["updatesSent"] > theirs["updatesSent"], (theirs, later)
    assert later["sentBytes"] > theirs["sentBytes"], (theirs, later)
    c = show("b")["streamsAcrossHosts"]
    assert c["chunksRefused"] == 0 and c["receiversEnded"] == SETTLED["receiversEnded"], c
    assert streams("a")[R3]["imageSent"] is True
    wait_connection_image_on("b")
    # The shadow's send log forgets what r3 acknowledged (the progress).
    wait_for("rp b's shadow of r3 forgot what r3 acknowledged",
             lambda: None if show("b")["neighbors"][R3]["session"]["sendLogMessages"] <= 2
             else show("b")["neighbors"][R3]["session"], count=20, wait=0.5)
    rp_vtysh(tgen.gears["rpa"], "a", "configure terminal\nrouter bgp 65001\n"
             "address-family ipv4 unicast\nno network 10.1.7.0/24")
    wait_for("r3 lost the route removed on the active",
             lambda: None if "10.1.7.0/24" not in vtysh_json(r3, "show ip bgp json")["routes"]
             else "still there")
    assert r3_heard()["connectionsDropped"] == SETTLED[SERVICE][1]


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


def test_state_fits_the_yang_model(tmp_path):
    """Both RPs' state in dual-RP mode (lease, data channel, service
    addresses) fits the YANG model."""
    for rp in ("a", "b"):
        validate_instance(show_json_to_instance(show(rp)), str(tmp_path))


def service_states(rp):
    return {s["prefix"]: s["state"] for s in show(rp).get("serviceAddresses", [])}


def test_service_address_changed_at_run_time_and_refused_on_the_standby():
    """A service address typed on the standby is refused and claimed
    nowhere; added on the active, it is claimed on the active's host at once
    (r2 reaches it there) and listed as released on the standby's; removed,
    it leaves both. The first address stays claimed throughout."""
    tgen = get_topogen()
    rpa, rpb, r2 = tgen.gears["rpa"], tgen.gears["rpb"], tgen.gears["r2"]
    extra = "10.0.12.11/24"
    line = f"bgp ha service-address {extra}"

    def conf(host, rp, text):
        return host.cmd(f"vtysh -d bgpd --vty_socket {rp_vty_dir(rp)} "
                        f"-c 'configure terminal' -c 'router bgp 65001' -c '{text}' 2>&1")

    def on_hosts():
        return [extra in h.cmd("ip -4 addr show") for h in (rpa, rpb)]

    out = conf(rpb, "b", line)
    assert "its configuration follows the active's" in out and "rp a" in out, out
    assert extra not in service_states("a") and extra not in service_states("b")
    assert on_hosts() == [False, False]

    out = conf(rpa, "a", line)
    assert "%" not in out, out
    wait_for("the new address claimed on rp a, released on rp b",
             lambda: None if (service_states("a").get(extra), service_states("b").get(extra))
             == ("claimed", "released") else f"{service_states('a')} {service_states('b')}",
             count=20, wait=0.25)
    assert on_hosts() == [True, False]
    assert "1 received" in r2.cmd("ping -c1 -W2 10.0.12.11")
    mac = rpa.cmd("cat /sys/class/net/rpa-eth1/address").strip()
    assert mac in r2.cmd("ip neigh show 10.0.12.11")

    out = conf(rpa, "a", f"no {line}")
    assert "%" not in out, out
    wait_for("the new address gone from both RPs",
             lambda: None if extra not in service_states("a") and extra not in service_states("b")
             else f"{service_states('a')} {service_states('b')}", count=20, wait=0.25)
    assert on_hosts() == [False, False]
    assert "1 received" not in r2.cmd("ping -c1 -W1 10.0.12.11")
    assert service_states("a") == {f"{SERVICE}/24": "claimed", f"{SERVICE6}/64": "claimed"}
    wait_service_on("a")
    wait_session_with("a")


def test_planned_switchover_over_tcp():
    """rp a hands the active role to rp b: r3's session on the service
    address goes on from rp b's host on a socket rebuilt there (r3 never
    sees it drop: no FIN, RST or NOTIFICATION, every message frames), and
    is handed back to rp a's host, which shadows it; r2's sessions, on
    each RP's own address, restart."""
    tgen = get_topogen()
    wait_shadow_on("b", "a")
    wait_r5_shadowed("b")  # a session not protected yet refuses the switchover
    wait_active_sees_ready("a", "b")
    capture = service_wire(tgen)
    try:
        out = tgen.gears["rpa"].vtysh_cmd("bgp ha switchover")
        assert "Switchover started" in out, out
        wait_roles("b", "a", 2)
        wait_session_with("b")
        wait_service_peers()
        time.sleep(1)
    finally:
        capture.stop()
    assert "3 of 4 shadow sessions continued" in rp_log(tgen.gears["rpb"], "b")
    assert "socket rebuilt here" in rp_log(tgen.gears["rpb"], "b")
    assert_service_wire_clean(capture)
    assert_service_peers_never_dropped()
    wait_streams_on_standby_host("b", "a")
    wait_connection_image_on("a")
    wait_shadow_on("a", "b")
    assert show("a")["streamsAcrossHosts"]["toStandbyHost"] == 0
    assert show("b")["streamsAcrossHosts"]["hold"]["on"] is True
    assert_old_active_shadows_write_freely("a")
    # r2 sent nothing to the service address since: rp b's announcement
    # alone moved r2's cache.
    wait_service_on("b")


def assert_old_active_shadows_write_freely(rp):
    """A standby that was active keeps its last lease deadline, long past,
    yet its shadows' writes (swallowed, they reach no peer) are not held
    back by it: over two keepalive intervals no write waits on the lease,
    and no shadow's output queue is left standing (bgpd ends a session
    whose queue makes no progress for two hold times)."""
    held = show(rp)["lease"]["writesHeld"]
    time.sleep(7)
    assert show(rp)["lease"]["writesHeld"] == held, show(rp)["lease"]
    log = rp_log(get_topogen().gears[HOSTS[rp]], rp)
    assert "has not made any SendQ progress" not in log, [
        line for line in log.splitlines() if "SendQ progress" in line]


def lease_clock_to_wall():
    """What to add to a lease clock reading (CLOCK_MONOTONIC_RAW, one kernel
    for every namespace here) to get the wall clock tshark stamps with."""
    return time.time() - time.clock_gettime(time.CLOCK_MONOTONIC_RAW)


def assert_silent_after(capture, rp, since, what, until=None, payload_only=False):
    """r2's capture holds no BGP segment from rp's address in
    [since + 20 ms, until) (or only none with payload)."""
    wanted = f"ip.src=={ADDRESS[rp]} && tcp.port==179" + (" && tcp.len>0" if payload_only else "")
    out = tshark("-r", capture.files["r2"], "-Y", wanted, "-T", "fields", "-e", "frame.time_epoch")
    late = [round(float(t) - since, 3) for t in out.split()
            if since + 0.020 <= float(t) < (until or float("inf"))]
    kind = "a BGP byte" if payload_only else "a segment"
    assert not late, f"rp {rp} sent r2 {kind} {late} s after {what}"


def test_cut_channel_then_heal_leaves_one_active():
    tgen = get_topogen()
    rpa, rpb = tgen.gears["rpa"], tgen.gears["rpb"]
    # rp b is active (epoch 2), leased by rp a.
    wait_leased("b", "a")
    capture = Capture(tgen, ["r2"], [ADDRESS["b"]])
    r3_wire = service_wire(tgen)
    try:
        # Cut the channel link at rp b's side.
        rpb.cmd("ip link set rpb-eth0 down")
        # rp a cannot tell a cut from a death: after the detection time, and
        # once the lease it granted has expired, it takes over. rp b cannot
        # tell either: its lease lapses and it goes silent, sessions kept.
        wait_for("rp a takes over the silent partner's role",
                 lambda: None if show("a")["role"] == "active" else show("a")["role"],
                 count=20, wait=0.25)
        assert show("a")["epoch"] == 3
        assert show("a")["switchovers"][-1]["reason"] == "partner-lost"
        # rp b released the address at its lapse; rp a claimed it.
        wait_service_on("a")
        wait_for("rp b's lease lapses",
                 lambda: None if show("b")["lease"]["lapses"] >= 1 else show("b")["lease"],
                 count=20, wait=0.25)
        lb, la = show("b")["lease"], show("a")["lease"]
        r2 = tgen.gears["r2"]
        heard = vtysh_json(r2, f"show bgp neighbors {ADDRESS['b']} json")[ADDRESS["b"]]
        assert show("b")["role"] == "active" and not lb["mayWrite"], lb
        # One kernel, one raw clock: rp a took over at least M/(1+D) (19 ms)
        # after rp b's last permitted write.
        assert la["lastTakeoverClockMs"] >= lb["lastLapseClockMs"] + 19, (la, lb)
        assert "for the lease it granted to expire" in rp_log(rpa, "a")
        assert "lease lapsed" in rp_log(rpb, "b")
        # Past rp b's keepalive interval (3 s): what it would have sent waits.
        time.sleep(4)
        lb = show("b")["lease"]
        assert lb["writesHeld"] > 0, lb
        assert show("b")["role"] == "active"
        later = vtysh_json(r2, f"show bgp neighbors {ADDRESS['b']} json")[ADDRESS["b"]]
        assert later["bgpState"] == "Established"  # not closed by rp b
        assert (later["messageStats"]["keepalivesRecv"]
                == heard["messageStats"]["keepalivesRecv"]), (heard, later)
        # The kernel's fence shut at the deadline and counts what it dropped
        # (rp b's ACKs of r2's keepalives at least).
        assert lb["fence"]["installed"] and lb["fence"]["state"] == "shut", lb
        assert lb["fence"]["segmentsDropped"] > 0, lb
        assert "kernel fence: shut" in rp_vtysh(rpb, "b", "show bgp ha")
        healed = time.time()
        rpb.cmd("ip link set rpb-eth0 up")
        wait_roles("a", "b", 3)
        assert "stepping down" in rp_log(rpb, "b")
    finally:
        capture.stop()
        r3_wire.stop()
    # On r2's wire: no BGP byte from rp b once its lease lapsed (the 20 ms
    # are the lease's margin, from the check to the wire), and, with the
    # kernel's fence, no segment at all until the heal: not even the ACK of
    # a keepalive r2 sent.
    lapse = lb["lastLapseClockMs"] / 1000 + lease_clock_to_wall()
    assert_silent_after(capture, "b", lapse, "its lease lapsed", payload_only=True)
    assert_silent_after(capture, "b", lapse, "its lease lapsed", until=healed)
    # Stays settled.
    time.sleep(1)
    assert (show("a")["role"], show("b")["role"]) == ("active", "standby")
    wait_session_with("a")
    wait_leased("a", "b")
    # r3's session went on from rp a's host; rp b, cut off, wrote and
    # acknowledged nothing rp a's host lacked, and stepping down closed its
    # copy without a word.
    assert_service_wire_clean(r3_wire)
    assert_service_peers_never_dropped()
    wait_shadow_on("b", "a")


def r2_heard_from(rp):
    r2 = get_topogen().gears["r2"]
    return vtysh_json(r2, f"show bgp neighbors {ADDRESS[rp]} json")[ADDRESS[rp]]


def test_frozen_standby_silences_the_active_until_thawed():
    """A standby that stops granting (frozen, not dead) silences the active
    at the lease's end; the thawed standby reads what queued before it
    judges, grants, and the active writes what waited: no switchover, r2's
    session never went down."""
    tgen = get_topogen()
    rpa, rpb = tgen.gears["rpa"], tgen.gears["rpb"]
    wait_leased("a", "b")
    before, heard = show("a")["lease"], r2_heard_from("a")
    pid = rp_pid(rpb, "b")
    rpb.cmd(f"kill -STOP {pid}")
    try:
        wait_for("rp a's lease lapses",
                 lambda: None if show("a")["lease"]["lapses"] > before["lapses"]
                 else show("a")["lease"], count=20, wait=0.25)
        # What rp a sent before its lapse may still arrive; from then on,
        # past rp a's keepalive interval (3 s) and well inside r2's hold time
        # (10 s), nothing.
        time.sleep(0.1)
        lapsed = r2_heard_from("a")
        time.sleep(3.5)
        silent = show("a")["lease"]
        assert not silent["mayWrite"] and silent["writesHeld"] > before["writesHeld"], silent
        assert (r2_heard_from("a")["messageStats"]["keepalivesRecv"]
                == lapsed["messageStats"]["keepalivesRecv"])
    finally:
        rpb.cmd(f"kill -CONT {pid}")
    wait_leased("a", "b")
    wait_for("r2 hears rp a again",
             lambda: None if r2_heard_from("a")["messageStats"]["keepalivesRecv"]
             > lapsed["messageStats"]["keepalivesRecv"] else "no keepalive yet",
             count=20, wait=0.5)
    after = r2_heard_from("a")
    assert after["bgpState"] == "Established"
    assert after["connectionsEstablished"] == heard["connectionsEstablished"], (heard, after)
    assert after["connectionsDropped"] == heard["connectionsDropped"], (heard, after)
    wait_roles("a", "b", 3)
    assert show("a")["switchovers"][-1]["reason"] == "partner-lost"  # still the cut's
    assert "Lease: holder, writing" in rp_vtysh(rpa, "a", "show bgp ha")



def test_frozen_active_is_fenced_by_its_kernel():
    """The active host frozen (SIGSTOP of rp a's bgpd): rp b takes over once
    the lease it granted has expired; rp a's kernel sends r2 nothing from
    the deadline on, not even ACKs, nor an ARP reply for the service address
    it still holds (r2, asking again, always learns rp b's MAC), and rp a,
    thawed, steps down without a word to r2."""
    tgen = get_topogen()
    rpa, rpb, r2 = tgen.gears["rpa"], tgen.gears["rpb"], tgen.gears["r2"]
    mac_b = rpb.cmd("cat /sys/class/net/rpb-eth1/address").strip()
    wait_leased("a", "b")
    # r3's session went on unprotected through the frozen standby; the
    # freeze comes once rp b's host shadows it again.
    wait_shadow_on("b", "a")
    capture = Capture(tgen, ["r2"], [ADDRESS["a"]])
    r3_wire = service_wire(tgen)
    pid = rp_pid(rpa, "a")
    try:
        rpa.cmd(f"kill -STOP {pid}")
        try:
            wait_for("rp b takes over the frozen active",
                     lambda: None if show("b")["role"] == "active" else show("b")["role"],
                     count=20, wait=0.25)
            # Both hosts have the address now (rp a's bgpd cannot release
            # it); r2 forgets it and asks again, three times.
            assert SERVICE in rpa.cmd("ip -4 addr show dev rpa-eth1")
            learnt = []
            for _ in range(3):
                r2.cmd(f"ip neigh flush {SERVICE}")
                r2.cmd(f"ping -c1 -W1 {SERVICE}")
                learnt.append(r2.cmd(f"ip neigh show {SERVICE}").strip())
            # Past a keepalive of r2's: rp a's kernel would ACK it.
            time.sleep(3.5)
        finally:
            rpa.cmd(f"kill -CONT {pid}")
        wait_roles("b", "a", 4)
        la = show("a")["lease"]
        assert la["lapses"] >= 1 and la["fence"]["state"] == "shut", la
        assert la["fence"]["segmentsDropped"] > 0, la
        assert la["fence"]["neighborDropped"] > 0, la
        assert all(mac_b in line for line in learnt), (mac_b, learnt)
        time.sleep(1)
    finally:
        capture.stop()
        r3_wire.stop()
    lapse = la["lastLapseClockMs"] / 1000 + lease_clock_to_wall()
    assert_silent_after(capture, "a", lapse, "its lease ran out while frozen")
    wait_session_with("b")
    wait_leased("b", "a")
    assert_service_wire_clean(r3_wire)
    assert_service_peers_never_dropped()
    wait_shadow_on("a", "b")


def test_standby_host_down_then_lease_override():
    """The standby's host goes down (link first, then bgpd killed): the
    active cannot tell it from a cut, its lease lapses and it goes silent.
    The operator, who can tell, overrides the lease: the active writes
    again before r2's hold time, and r2's session never went down. The
    restarted standby pairs and leases the active again."""
    tgen = get_topogen()
    rpa, rpb = tgen.gears["rpa"], tgen.gears["rpb"]
    wait_leased("b", "a")
    out = rp_vtysh(rpb, "b", "bgp ha lease override")
    assert "Lease override refused: the channel to rp a is up" in out, out
    out = rp_vtysh(rpa, "a", "bgp ha lease override")
    assert "Lease override refused: this RP is standby" in out, out
    heard = r2_heard_from("b")
    before = show("b")["lease"]
    rpa.cmd(f"ip link set rpa-eth0 down && kill -9 {rp_pid(rpa, 'a')}")
    wait_for("rp b's lease lapses",
             lambda: None if show("b")["lease"]["lapses"] > before["lapses"]
             else show("b")["lease"], count=20, wait=0.25)
    assert show("b")["role"] == "active"
    out = rp_vtysh(rpb, "b", "bgp ha lease override")
    assert "Lease overridden" in out, out
    lease = show("b")["lease"]
    assert lease["overrides"] == before["overrides"] + 1, lease
    assert lease["mayWrite"] and lease["fence"]["state"] == "open", lease
    assert "lease overridden by the operator" in rp_log(rpb, "b")
    assert "overridden by the operator 1 times" in rp_vtysh(rpb, "b", "show bgp ha")
    wait_for("r2 hears rp b again",
             lambda: None if r2_heard_from("b")["messageStats"]["keepalivesRecv"]
             > heard["messageStats"]["keepalivesRecv"] + 1 else "no keepalive yet",
             count=20, wait=0.5)
    after = r2_heard_from("b")
    assert after["bgpState"] == "Established"
    assert after["connectionsEstablished"] == heard["connectionsEstablished"], (heard, after)
    # The standby's host comes back: rp a pairs as standby and grants.
    rpa.cmd("ip link set rpa-eth0 up")
    start_rp(rpa, "a")
    wait_roles("b", "a", 4)
    wait_leased("b", "a")
    # r3's session waited (cut from the standby host) and went on after
    # the override.
    assert_service_peers_never_dropped()
    wait_shadow_on("a", "b")


def test_active_host_death_continues_the_session_on_the_service_address():
    """rp b's host dies: its links go down and its bgpd is killed in the
    same instant. rp a takes over once the lease it granted has expired,
    rebuilds r3's connection on its own kernel from what its shadow holds,
    then claims the service address. r3 never sees the session drop: no
    FIN, RST or NOTIFICATION from the service address on its wire, every
    message frames; a route added on the new active reaches r3 and one r3
    adds reaches rp a over the rebuilt connection. The host comes back and
    rejoins as standby, shadowing r3 again. (The dead host's zebra is not
    killed: the peers see only its links, which are down.)"""
    tgen = get_topogen()
    rpa, rpb, r3 = tgen.gears["rpa"], tgen.gears["rpb"], tgen.gears["r3"]
    wait_leased("b", "a")
    wait_shadow_on("a", "b")
    heard = assert_service_peers_never_dropped()
    wait_for("r5 (BIRD) Established with the pair's route",
             lambda: None if r5_view()["state"] == "Established" and r5_view()["present"]
             else r5_view())
    bird_before = r5_view()
    capture = service_wire(tgen)
    try:
        capture.mark("death")
        pid = rp_pid(rpb, "b")
        rpb.cmd(f"kill -STOP {pid} && ip link set rpb-eth0 down && "
                f"ip link set rpb-eth1 down && kill -9 {pid}")
        wait_for("rp a takes over the dead host's role",
                 lambda: None if show("a")["role"] == "active" else show("a")["role"],
                 count=20, wait=0.25)
        takeovers = [line for line in rp_log(rpa, "a").splitlines()
                     if "shadow sessions continued" in line]
        assert "3 of 4 shadow sessions continued" in takeovers[-1], takeovers
        assert "1 restart gracefully" in takeovers[-1], takeovers
        # r5 (BIRD, GR) restarts gracefully with the new host: it keeps the
        # pair's routes while it helps, then has a new session.
        samples = []
        deadline = time.time() + 20
        while time.time() < deadline:
            samples.append(r5_view())
            if samples[-1]["state"] == "Established" and samples[-1]["since"] != bird_before["since"]:
                break
            time.sleep(0.1)
        assert samples[-1]["state"] == "Established", samples[-5:]
        assert samples[-1]["since"] != bird_before["since"], samples[-5:]
        assert all(v["present"] for v in samples), samples
        down = [v for v in samples if v["state"] != "Established"]
        assert not down or any(v["helping"] for v in down), down
        print(f"r5 (BIRD) through the death: {len(samples)} samples, {len(down)} down, "
              f"{sum(v['helping'] for v in down)} helping a graceful restart")
        wait_for("rp a has r5's routes over the new session",
                 lambda: None if "10.5.0.0/24" in json.loads(
                     rp_vtysh(rpa, "a", "show ip bgp json"))["routes"] else "not yet",
                 count=30, wait=0.5)
        wait_service_on_host("a")
        # The new active accepts connections (an FRR peer with GR connects
        # to it after the restart).
        assert_new_active_accepts()
        rp_vtysh(rpa, "a", "configure terminal\nrouter bgp 65001\n"
                 "address-family ipv4 unicast\nnetwork 10.1.8.0/24")
        wait_for("r3 has the route added on the new active",
                 lambda: None if "10.1.8.0/24" in vtysh_json(r3, "show ip bgp json")["routes"]
                 else "not yet", count=30, wait=0.5)
        r3.vtysh_cmd("configure terminal\nrouter bgp 65003\n"
                     "address-family ipv4 unicast\nnetwork 10.3.2.0/24")
        wait_for("rp a has the route r3 added",
                 lambda: None if "10.3.2.0/24" in json.loads(
                     rp_vtysh(rpa, "a", "show ip bgp json"))["routes"] else "not yet",
                 count=30, wait=0.5)
        time.sleep(1)
    finally:
        capture.stop()
    assert_service_peers_untouched(heard, capture, since="death")
    # The dead host comes back and rejoins as standby.
    rpb.cmd("ip link set rpb-eth0 up && ip link set rpb-eth1 up")
    start_rp(rpb, "b")
    wait_roles("a", "b", 5)
    wait_leased("a", "b")
    wait_shadow_on("b", "a")
    assert_service_peers_never_dropped()


def wait_service_on_host(rp):
    wait_for(f"rp {rp} claimed the service address",
             lambda: None if show(rp)["serviceAddresses"][0]["state"] == "claimed"
             else show(rp)["serviceAddresses"], count=20, wait=0.25)


def assert_new_active_accepts():
    """The active's bgpd accepts connections on the service address: one
    from an address no neighbor has is accepted and closed at once (one it
    never accepted would wait in the kernel's queue), and its listener
    holds the neighbors' TCP-MD5 keys: a SYN signed with MD5_PROBE's is
    answered (without the key the kernel drops it, and answers no segment
    of a signed session it no longer has)."""
    r2 = get_topogen().gears["r2"]
    r2.cmd(f"ip addr add 10.0.12.99/24 dev r2-eth0 2>/dev/null; "
           f"ip addr add {MD5_PROBE}/24 dev r2-eth0 2>/dev/null")
    out = r2.cmd(
        "timeout 8 /usr/bin/python3 -c \"import socket; "
        "s = socket.socket(); s.bind(('10.0.12.99', 0)); s.settimeout(5); "
        f"s.connect(('{SERVICE}', 179)); "
        "print('closed' if s.recv(1) == b'' else 'data')\" 2>&1")
    assert out.strip() == "closed", out
    probe = os.path.join(CWD, "..", "ha_lib", "md5_probe.py")
    out = r2.cmd(f"/usr/bin/python3 {probe} {MD5_PROBE} {SERVICE} frr-ha-probe-md5 2>&1")
    assert out.strip() == "accepted", out


def wait_standby_host_fib(standby):
    """The standby's host has the routes its shadows learn in its own
    kernel (r3's, through r3's address on the LAN), so that it forwards at
    once when it claims the service address."""
    host = get_topogen().gears[HOSTS[standby]]

    def installed():
        route = host.cmd("ip route show 10.3.0.0/24")
        return None if "proto bgp" in route and "10.0.12.4" in route else route or "no route"

    wait_for(f"rp {standby}'s host has r3's route in its kernel", installed, count=20, wait=0.5)


def host_dies_and_rejoins(dead, survivor):
    """dead's host dies (links down, bgpd killed, at once): survivor takes
    over, continuing r3's and r4's sessions and restarting r5's gracefully;
    the host comes back and its bgpd rejoins as standby and shadows them."""
    tgen = get_topogen()
    host, epoch = tgen.gears[HOSTS[dead]], show(survivor)["epoch"]
    pid = rp_pid(host, dead)
    # Stopped first, so that its bgpd cannot see its links go (it would hand
    # its role over for the lost link): one instant for the whole host.
    host.cmd(f"kill -STOP {pid} && ip link set {HOSTS[dead]}-eth0 down && "
             f"ip link set {HOSTS[dead]}-eth1 down && kill -9 {pid}")
    wait_for(f"rp {survivor} takes over the dead host's role",
             lambda: None if show(survivor)["role"] == "active" else show(survivor)["role"],
             count=20, wait=0.25)
    takeovers = [line for line in rp_log(tgen.gears[HOSTS[survivor]], survivor).splitlines()
                 if "shadow sessions continued" in line]
    assert "3 of 4 shadow sessions continued" in takeovers[-1], takeovers
    wait_service_on_host(survivor)
    assert_new_active_accepts()
    host.cmd(f"ip link set {HOSTS[dead]}-eth0 up && ip link set {HOSTS[dead]}-eth1 up")
    start_rp(host, dead)
    wait_roles(survivor, dead, epoch + 1)
    wait_service_on(survivor)
    wait_shadow_on(dead, survivor)
    wait_standby_host_fib(dead)


def wait_active_sees_ready(active, standby):
    """The active hears the standby ready at its next STATUS, a heartbeat
    after the standby host protects the last session."""
    wait_for(f"rp {active} sees rp {standby} ready",
             lambda: None if show(active)["partner"].get("ready") else show(active)["partner"],
             count=20, wait=0.25)


def planned_switchover(active, standby):
    tgen = get_topogen()
    wait_active_sees_ready(active, standby)
    epoch = show(active)["epoch"]
    out = rp_vtysh(tgen.gears[HOSTS[active]], active, "bgp ha switchover")
    assert "Switchover started" in out, out
    wait_roles(standby, active, epoch + 1)
    takeovers = [line for line in rp_log(tgen.gears[HOSTS[standby]], standby).splitlines()
                 if "shadow sessions continued" in line]
    assert "3 of 4 shadow sessions continued" in takeovers[-1], takeovers
    wait_service_on(standby)
    wait_shadow_on(active, standby)


def wait_r5_shadowed(standby):
    """r5 (BIRD) is Established again after its graceful restart, and the
    standby host shadows its new session."""
    def shadowed():
        n = show(standby)["neighbors"].get(R5, {})
        if r5_view()["state"] != "Established":
            return f"r5: {r5_view()}"
        if n.get("state") != "Established" or n.get("session", {}).get("stream") != "shadow":
            return f"rp {standby}: {n}"
        return not_protected(standby, R5)

    wait_for(f"rp {standby}'s host shadows r5's session", shadowed, count=60, wait=0.25)


def test_five_cycles_of_host_death_and_planned_switchover():
    """Host deaths and planned switchovers, five in all: each host dies in
    turn (the second death hands the sessions back to the host that died
    first, which must have cleared what its killed bgpd left), then planned
    switchovers both ways and another death. r3's and r4's sessions go on
    through all of them (never dropped, their wires clean), and every
    peer's table is the same after as before."""
    tgen = get_topogen()
    r3 = tgen.gears["r3"]
    active, standby = "a", "b"
    wait_leased(active, standby)
    wait_shadow_on(standby, active)
    wait_r5_shadowed(standby)
    assert_service_peers_never_dropped()
    r3_before = sorted(vtysh_json(r3, "show ip bgp json")["routes"])
    r4_before = r4_heard()["prefixes"]
    capture = service_wire(tgen)
    try:
        for step in ("death", "death", "planned", "death", "planned"):
            if step == "death":
                host_dies_and_rejoins(active, standby)
            else:
                planned_switchover(active, standby)
            active, standby = standby, active
            wait_leased(active, standby)
            wait_r5_shadowed(standby)
            assert_service_peers_never_dropped()
        time.sleep(1)
    finally:
        capture.stop()
    assert_service_wire_clean(capture)
    assert sorted(vtysh_json(r3, "show ip bgp json")["routes"]) == r3_before
    assert r4_heard()["prefixes"] == r4_before
    routes = json.loads(rp_vtysh(tgen.gears[HOSTS[active]], active, "show ip bgp json"))["routes"]
    for prefix in ("10.3.0.0/24", "10.4.0.0/24", "10.5.0.0/24"):
        assert prefix in routes, (prefix, sorted(routes))


def load_full_tables():
    """r3 (FRR), r4 (GoBGP) and r5 (BIRD) each announce their table."""
    tgen = get_topogen()
    r3, r4, r5 = (tgen.gears[name] for name in ("r3", "r4", "r5"))
    conf = "/tmp/ha_pair_dual_rp.r3-table.conf"
    write_conf(conf, ["router bgp 65003", " address-family ipv4 unicast",
                      *[f"  network {prefix}" for prefix in FULL_TABLES["r3"]]])
    out = r3.cmd(f"vtysh -f {conf} 2>&1")
    assert "%" not in out, out[:2000]
    mrt = f"{GOBGP_DIR}/table.mrt"
    write_ipv4_rib(mrt, FULL_TABLES["r4"], R4, 65004)
    out = r4.cmd(f"gobgp mrt inject global {mrt} 2>&1")
    assert "error" not in out.lower(), out
    write_conf(f"{BIRD_DIR}/bird.conf", bird_conf(FULL_TABLES["r5"]))
    out = r5.cmd(f"birdc -s {BIRD_DIR}/bird.ctl configure 2>&1")
    assert "Reconfigured" in out, out


BIRD_ROUTE = re.compile(r"^(\d+\.\d+\.\d+\.\d+/\d+)\s", re.M)


def peers_tables():
    """What each service peer holds from the service address: r3's and
    r5's prefixes, r4's (GoBGP) prefix -> AS path and age, the age telling
    when GoBGP last took an UPDATE of it (an UPDATE sent again with the
    same attributes gives a new age)."""
    tgen = get_topogen()
    r3 = vtysh_json(tgen.gears["r3"], f"show ip bgp neighbors {SERVICE} routes json")
    out = tgen.gears["r4"].cmd(f"gobgp neighbor {SERVICE} adj-in -a ipv4 -j")
    r4 = {}
    for prefix, paths in json.loads(out).items():
        path = paths[0]
        as_path = [a for attr in path.get("attrs", []) if attr.get("type") == 2
                   for seg in attr.get("as_paths", []) for a in seg.get("asns", [])]
        r4[prefix] = (tuple(as_path), path.get("age"))
    r5 = tgen.gears["r5"].cmd(f"birdc -s {BIRD_DIR}/bird.ctl show route protocol r1")
    return {"r3": set(r3.get("routes", {})), "r4": r4, "r5": set(BIRD_ROUTE.findall(r5))}


def wait_peers_hold_full_tables():
    """Every service peer holds the two tables the others send."""
    def full():
        tables = peers_tables()
        for name, held in tables.items():
            want = {p for other, table in FULL_TABLES.items() if other != name for p in table}
            missing = want - set(held)
            if missing:
                return f"{name} lacks {len(missing)} of the others' {len(want)} prefixes"
        return None

    wait_for("every service peer holds the others' tables", full, count=90, wait=1)
    return peers_tables()


def wait_shadows_hold_tables(standby, active):
    """The standby host's shadows of r3, r4 and r5 hold as many of their
    peer's prefixes as the active's sessions do: the whole table each."""
    def in_step():
        for peer in (R3, R4, R5):
            mine = show(standby)["neighbors"].get(peer, {}).get("session", {})
            theirs = show(active)["neighbors"].get(peer, {}).get("session", {})
            want = theirs.get("receivedPrefixes", 0)
            if mine.get("stream") != "shadow" or not mine.get("historyComplete") \
                    or mine.get("receivedPrefixes") != want or want < 10000:
                return f"{peer}: rp {standby} {mine}, rp {active} holds {want}"
            if not_protected(standby, peer):
                return not_protected(standby, peer)
        return None

    wait_for(f"rp {standby}'s shadows hold the peers' tables", in_step, count=60, wait=0.5)


def test_full_tables_both_ways_through_a_host_death_and_a_planned_switchover():
    """r3 (FRR, TCP-MD5), r4 (GoBGP) and r5 (BIRD, GR) each send the pair a
    table of 10k prefixes and receive the two others'. The active's host
    dies, then the pair switches back (planned): r3 and r4 never see their
    sessions drop and their wires stay clean; every peer holds the same
    tables after as before; r4 (whose ages say when it last took an UPDATE
    of a prefix) was sent no UPDATE of r3's prefixes or of the pair's own.
    Sent again may be: r2's (its sessions are with each RP's own address
    and restart), r5's (its session restarts gracefully) and r4's own
    routes returned to it, which it drops as a loop: their next hop is the
    pair's or r4's depending on whether r4 has company in its update
    subgroup when bgpd announces them (bgp_subgrp_multiaccess_check_v4),
    which differs between a bgpd that ran long and one that just joined;
    the new active's difference then sends them with its own next hop."""
    tgen = get_topogen()
    active = "a" if show("a")["role"] == "active" else "b"
    standby = "b" if active == "a" else "a"
    load_full_tables()
    before = wait_peers_hold_full_tables()
    wait_shadow_on(standby, active)
    wait_r5_shadowed(standby)
    wait_shadows_hold_tables(standby, active)
    heard = assert_service_peers_never_dropped()
    capture = service_wire(tgen)
    try:
        states = []
        for switch in (host_dies_and_rejoins, planned_switchover):
            switch(active, standby)
            active, standby = standby, active
            wait_leased(active, standby)
            wait_r5_shadowed(standby)
            wait_shadows_hold_tables(standby, active)
            states.append(wait_peers_hold_full_tables())
        after_death, after = states
        time.sleep(1)
    finally:
        capture.stop()
    later = assert_service_peers_never_dropped()
    assert_service_wire_clean(capture)
    for state in (after_death, after):
        assert state["r3"] == before["r3"]
        assert state["r5"] == before["r5"]
        assert set(state["r4"]) == set(before["r4"])
    print(f"r3 took {later['messageStats']['updatesRecv'] - heard['messageStats']['updatesRecv']} "
          f"UPDATEs over the death and the switchover")
    for what, start, end in (("the death", before, after_death),
                             ("the switchover", after_death, after)):
        by_origin = {}
        for prefix, route in end["r4"].items():
            if start["r4"][prefix] != route:
                origin = route_origin(prefix)
                by_origin[origin] = by_origin.get(origin, 0) + 1
        print(f"r4 was sent again, at {what}: {by_origin or 'nothing'}")
        assert set(by_origin) <= {"r2", "r4", "r5"}, by_origin


def switch_port_of(tgen, rp):
    """The bridge port of s1 that rp's host's peering interface is cabled to."""
    peer_index = tgen.gears[HOSTS[rp]].cmd(f"cat /sys/class/net/{HOSTS[rp]}-eth1/iflink").strip()
    for line in tgen.gears["s1"].cmd("ip -o link show").splitlines():
        index, name = line.split(":")[:2]
        if index.strip() == peer_index:
            return name.strip().split("@")[0]
    raise AssertionError(f"no port of s1 with index {peer_index}")


def test_active_host_losing_its_peering_link_hands_the_sessions_over():
    """The active host's link towards the peers goes (the switch's port is
    down: its interface loses carrier; the channel's link stays): the active
    hands its role to its ready standby before bgpd takes that interface's
    sessions down, and the other host continues r3's and r4's sessions, with
    their full tables: never dropped, wires clean, the same tables. Without
    its link the old active is a standby that is not ready (a switchover
    back is refused and names the interface); its link back, it is ready
    and shadows the sessions again."""
    tgen = get_topogen()
    active = "a" if show("a")["role"] == "active" else "b"
    standby = "b" if active == "a" else "a"
    ifname = f"{HOSTS[active]}-eth1"
    wait_leased(active, standby)
    wait_shadow_on(standby, active)
    wait_r5_shadowed(standby)
    assert show(active)["serviceLink"] == {"interface": ifname, "hasLink": True,
                                           "switchoverOnLinkLoss": True}
    before = peers_tables()
    epoch = show(active)["epoch"]
    port = switch_port_of(tgen, active)
    capture = service_wire(tgen)
    try:
        tgen.gears["s1"].cmd(f"ip link set {port} down")
        wait_for(f"rp {standby} takes over from the host without its link",
                 lambda: None if show(standby)["role"] == "active" else show(standby)["role"],
                 count=40, wait=0.25)
        sw = show(standby)["switchovers"][-1]
        assert sw["reason"] == "link-loss" and sw["epoch"] == epoch + 1, sw
        takeovers = [line for line in rp_log(tgen.gears[HOSTS[standby]], standby).splitlines()
                     if "shadow sessions continued" in line]
        assert "3 of 4 shadow sessions continued" in takeovers[-1], takeovers
        assert f"switchover on link loss ({ifname})" in rp_log(tgen.gears[HOSTS[active]], active)
        wait_service_on_host(standby)

        why = f"the service interface {ifname} has no link on this host"

        def not_ready_for_its_link():
            old, new = show(active), show(standby)
            got = (old["role"], old["serviceLink"]["hasLink"], old.get("notReadyReason"),
                   new["partner"].get("notReadyReason"))
            return None if got == ("standby", False, why, why) else f"got {got}"

        wait_for(f"rp {active} a standby not ready for its link, rp {standby} knows why",
                 not_ready_for_its_link, count=20, wait=0.25)
        out = rp_vtysh(tgen.gears[HOSTS[standby]], standby, "bgp ha switchover")
        assert why in out, out
        assert show(standby)["role"] == "active"
        wait_leased(standby, active)
        wait_peers_hold_full_tables()

        tgen.gears["s1"].cmd(f"ip link set {port} up")
        wait_roles(standby, active, epoch + 1)
        wait_shadow_on(active, standby)
        wait_r5_shadowed(active)
        after = wait_peers_hold_full_tables()
        time.sleep(1)
    finally:
        tgen.gears["s1"].cmd(f"ip link set {port} up")
        capture.stop()
    assert_service_peers_never_dropped()
    assert_service_wire_clean(capture)
    assert after["r3"] == before["r3"]
    assert after["r5"] == before["r5"]
    assert set(after["r4"]) == set(before["r4"])


def churned_prefixes():
    """The churn's prefixes as r3 announces them and as r4 (GoBGP), r5
    (BIRD) and each RP hold them."""
    tgen = get_topogen()
    r3 = vtysh_json(tgen.gears["r3"], "show ip bgp 198.18.0.0/16 longer-prefixes json")
    r4 = tgen.gears["r4"].cmd(f"gobgp neighbor {SERVICE} adj-in -a ipv4")
    r5 = tgen.gears["r5"].cmd(f"birdc -s {BIRD_DIR}/bird.ctl show route protocol r1")
    held = {"r3": set(r3.get("routes", {})),
            "r4": set(re.findall(r"198\.18\.\d+\.0/24", r4)),
            "r5": {p for p in BIRD_ROUTE.findall(r5) if p.startswith("198.18.")}}
    for rp, host in HOSTS.items():
        routes = json.loads(rp_vtysh(tgen.gears[host], rp,
                                     "show ip bgp 198.18.0.0/16 longer-prefixes json"))
        held[f"rp {rp}"] = set(routes.get("routes", {}))
    return held


@contextmanager
def r3_churns():
    """r3 churns (ha_lib.route_churn) until the block ends."""
    with route_churn(get_topogen().gears["r3"], 65003, "/tmp/ha_pair_dual_rp.r3-churn.sh"):
        yield


def assert_service_peers_untouched(heard, capture, since):
    """Since `heard` (r3's view then): r3 and r4 were never dropped, r3 got
    no NOTIFICATION, and their wires stayed clean from the capture's mark
    `since` on."""
    later = assert_service_peers_never_dropped()
    assert (later["messageStats"]["notificationsRecv"]
            == heard["messageStats"]["notificationsRecv"])
    assert_service_wire_clean(capture, since=since)


def assert_churn_went_through(heard, capture, label, since=None):
    """Since `heard` (r3's view then): r3 and r4 were never dropped, their
    wires stayed clean, and r3 sent at least 20 UPDATEs (the churn ran
    through what happened). Returns r3's view now."""
    later = assert_service_peers_never_dropped()
    churned = later["messageStats"]["updatesSent"] - heard["messageStats"]["updatesSent"]
    print(f"{label}: r3 sent {churned} UPDATEs while it churned")
    assert churned >= 20, (label, churned)
    assert_service_wire_clean(capture, since=since)
    return later


def wait_churn_in_step(label):
    """Once r3's churn stopped, r4, r5 and both RPs hold exactly the churned
    prefixes r3 still announces."""
    def in_step():
        held = churned_prefixes()
        want = held["r3"]
        if len(want) != CHURN_WINDOW:
            return f"r3 announces {len(want)} churned prefixes"
        differ = {who: sorted(got ^ want)[:4] for who, got in held.items() if got != want}
        return f"differ from r3's: {differ}" if differ else None

    wait_for(f"{label}: every peer and RP holds exactly r3's churned prefixes",
             in_step, count=30, wait=1)


def commands_refused_on_the_standby(standby, active):
    """What an operator types on the standby host, sessions reset or
    configuration changed, is refused, naming the active."""
    host = get_topogen().gears[HOSTS[standby]]
    for command in ("clear bgp *", f"clear bgp {R3}", f"clear bgp ipv4 unicast {R4} soft"):
        out = rp_vtysh(host, standby, command)
        assert f"(rp {standby}) is the standby" in out and f"rp {active}" in out, (command, out)
    out = host.cmd(f"vtysh -d bgpd --vty_socket {rp_vty_dir(standby)} -c 'configure terminal' "
                   f"-c 'router bgp 65001' -c 'neighbor {R3} shutdown' 2>&1")
    assert "its configuration follows the active's" in out and f"rp {active}" in out, out


def dies(rp, whole_host):
    """rp's bgpd is killed (kill -9); with whole_host, its links go down in
    the same instant (a host's death), else its kernel lives on."""
    host = get_topogen().gears[HOSTS[rp]]
    pid = rp_pid(host, rp)
    if whole_host:
        host.cmd(f"kill -STOP {pid} && ip link set {HOSTS[rp]}-eth0 down && "
                 f"ip link set {HOSTS[rp]}-eth1 down && kill -9 {pid}")
    else:
        host.cmd(f"kill -9 {pid}")


def test_deaths_and_a_switchover_at_random_instants_under_churn_with_standby_commands():
    """r3 adds and withdraws prefixes without pause (tables loaded) while
    the operator types commands on the standby host (each refused, naming
    the active) and the active dies at a random instant: its bgpd alone
    first (its kernel lives on, and the connections it leaves must not end
    the sessions), then its whole host; last the operator switches over
    (planned) at a random instant. The dead RP restarts while the
    churn goes on, so it catches up under churn: the operator types the
    commands there as soon as it is standby (on the old active too, after
    the planned switchover), and adds a route on the active. Each time
    r3's and r4's sessions are never dropped and their wires stay clean;
    once the churn stops r4 (GoBGP), r5 (BIRD) and both RPs hold exactly
    the churned prefixes r3 still announces, the standby shadows every
    session, and the route added meanwhile is in its configuration and at
    r4."""
    tgen = get_topogen()
    seed = int(os.environ.get("FRR_HA_CHURN_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    active = "a" if show("a")["role"] == "active" else "b"
    for cycle, event in enumerate(("bgpd", "host", "planned")):
        standby = "b" if active == "a" else "a"
        wait_leased(active, standby)
        wait_shadow_on(standby, active)
        wait_r5_shadowed(standby)
        heard = assert_service_peers_never_dropped()
        epoch = show(active)["epoch"]
        delay = round(rng.uniform(0.3, 3.0), 2)
        label = (f"seed {seed}, cycle {cycle}: " + ("switchover" if event == "planned"
                                                     else f"{event} killed") + f" after {delay} s")
        print(label)
        added = f"10.1.{30 + cycle}.0/24"
        survivor_host, old_host = tgen.gears[HOSTS[standby]], tgen.gears[HOSTS[active]]
        if event == "planned":
            wait_active_sees_ready(active, standby)
        capture = service_wire(tgen)
        try:
            with r3_churns():
                commands_refused_on_the_standby(standby, active)
                time.sleep(delay)
                capture.mark("death")
                if event == "planned":
                    out = rp_vtysh(old_host, active, "bgp ha switchover")
                    assert "Switchover started" in out, (label, out)
                else:
                    dies(active, whole_host=event == "host")
                wait_for(f"{label}: rp {standby} takes over",
                         lambda: None if show(standby)["role"] == "active"
                         else show(standby)["role"], count=20, wait=0.25)
                takeovers = [line for line in rp_log(survivor_host, standby).splitlines()
                             if "shadow sessions continued" in line]
                assert "3 of 4 shadow sessions continued" in takeovers[-1], (label, takeovers)
                wait_service_on_host(standby)
                # The dead RP comes back and catches up while r3 churns.
                if event == "host":
                    old_host.cmd(f"ip link set {HOSTS[active]}-eth0 up && "
                                 f"ip link set {HOSTS[active]}-eth1 up")
                if event != "planned":
                    start_rp(old_host, active)
                wait_for(f"{label}: rp {active} is standby again",
                         lambda: None if show(active)["role"] == "standby"
                         else show(active)["role"], count=40, wait=0.25)
                commands_refused_on_the_standby(active, standby)
                out = rp_vtysh(survivor_host, standby, "configure terminal\nrouter bgp 65001\n"
                               f"address-family ipv4 unicast\nnetwork {added}")
                assert "%" not in out, out
                time.sleep(2)  # the churn goes on through the new active
            active, standby = standby, active
            wait_roles(active, standby, epoch + 1)
            wait_service_on(active)  # the old active's host released the address
            wait_shadow_on(standby, active)
            wait_r5_shadowed(standby)

            wait_churn_in_step(label)
            wait_for(f"{label}: r4 has the route added during the catch-up",
                     lambda: None if added in tgen.gears["r4"].cmd(
                         f"gobgp neighbor {SERVICE} adj-in -a ipv4 {added}") else "not yet",
                     count=20, wait=0.5)
            assert f"network {added}" in rp_vtysh(old_host, standby, "show running-config")
            time.sleep(1)
        finally:
            capture.stop()
        later = assert_churn_went_through(heard, capture, label, since="death")
        assert (later["messageStats"]["notificationsRecv"]
                == heard["messageStats"]["notificationsRecv"]), label
        # Withdrawn all at once, dropped everywhere.
        r3 = tgen.gears["r3"]
        gone = sorted(churned_prefixes()["r3"])
        r3.cmd("vtysh -c 'configure terminal' -c 'router bgp 65003' "
               "-c 'address-family ipv4 unicast' " + " ".join(f"-c 'no network {p}'" for p in gone))
        wait_for(f"{label}: every peer and RP dropped the churned prefixes",
                 lambda: None if not any(churned_prefixes().values())
                 else {who: len(got) for who, got in churned_prefixes().items()},
                 count=30, wait=1)


def protected_pair():
    """The RPs' roles now, (active, standby), once the active holds its
    lease and the standby host protects every session, r5's too."""
    active = "a" if show("a")["role"] == "active" else "b"
    standby = "b" if active == "a" else "a"
    wait_leased(active, standby)
    wait_shadow_on(standby, active)
    wait_r5_shadowed(standby)
    return active, standby


def test_active_whose_main_thread_hangs_is_fenced_and_steps_down():
    """The active's bgpd hangs: its main thread stops (as in a deadlock)
    while its I/O pthread runs on. It renews no lease, so its kernel fences
    it at the lease's end, and the standby host takes over once the lease
    it granted has expired, continuing r3's and r4's sessions. When the
    thread runs again the old active finds its lease lapsed and steps down
    without a word to the peers, and shadows the sessions as standby."""
    tgen = get_topogen()
    active, standby = protected_pair()
    heard = assert_service_peers_never_dropped()
    epoch = show(active)["epoch"]
    hung_host = tgen.gears[HOSTS[active]]
    capture = service_wire(tgen)
    try:
        capture.mark("hang")
        hang_main_thread(hung_host, rp_pid(hung_host, active), 4,
                         "/tmp/ha_pair_dual_rp.hang-ready")
        wait_for(f"rp {standby} takes over from the hung active",
                 lambda: None if show(standby)["role"] == "active" else show(standby)["role"],
                 count=20, wait=0.25)
        assert show(standby)["switchovers"][-1]["reason"] == "partner-lost"
        takeovers = [line for line in rp_log(tgen.gears[HOSTS[standby]], standby).splitlines()
                     if "shadow sessions continued" in line]
        assert "3 of 4 shadow sessions continued" in takeovers[-1], takeovers
        # The hung RP answers no vty until its thread runs again, and then
        # steps down: one active.
        wait_roles(standby, active, epoch + 1)
        lease = show(active)["lease"]
        assert lease["lapses"] >= 1 and lease["fence"]["state"] == "shut", lease
        assert "stepping down" in rp_log(hung_host, active)
        wait_service_on(standby)
        wait_shadow_on(active, standby)
        wait_r5_shadowed(active)
        time.sleep(1)
    finally:
        capture.stop()
    assert_service_peers_untouched(heard, capture, since="hang")


@contextmanager
def runs_slowly(host, pid, stopped_ms=70, period_ms=100):
    """The process pid on host runs only part of the time, as on a host
    busy with other work: stopped stopped_ms of every period_ms (SIGSTOP,
    SIGCONT) until the block ends, then left running."""
    run_s, stop_s = (period_ms - stopped_ms) / 1000, stopped_ms / 1000
    loop = host.cmd(f"(while kill -STOP {pid}; do sleep {stop_s}; kill -CONT {pid}; "
                    f"sleep {run_s}; done) >/dev/null 2>&1 & echo $!").strip()
    try:
        yield
    finally:
        host.cmd(f"kill {loop}; while kill -0 {loop} 2>/dev/null; do sleep 0.01; done; "
                 f"kill -CONT {pid}")


def test_slow_standby_host_under_churn_holds_no_session_back():
    """The standby host's bgpd gets the CPU 30 ms of every 100 ms for 8 s
    while r3 churns: the active goes on relaying r3's churn to r4 all
    along, and r3 and r4 never see a drop and their wires stay clean. (The
    slow standby answers heartbeats late, on bgpd's main thread: the
    active's lease may lapse for a moment, and the channel close, which the
    test prints.) At full speed again the standby host holds exactly the
    churned prefixes and shadows every session, and a planned switchover
    to it continues them."""
    tgen = get_topogen()
    active, standby = protected_pair()
    heard = assert_service_peers_never_dropped()
    lease = show(active)["lease"]
    slow_host = tgen.gears[HOSTS[standby]]
    log = rp_log(tgen.gears[HOSTS[active]], active)
    warned, silent = log.count("not protected:"), log.count("partner silent for more than")
    capture = service_wire(tgen)
    try:
        with r3_churns():
            with runs_slowly(slow_host, rp_pid(slow_host, standby)):
                time.sleep(1)
                early = churned_prefixes()["r4"]
                timeline = [slow_window_sample(active) for _ in range(7)]
                late = churned_prefixes()["r4"]
                slowed = show(active)["lease"]
            time.sleep(1)
        wait_churn_in_step(f"rp {standby} slowed")
        wait_shadow_on(standby, active)
        wait_r5_shadowed(standby)
        time.sleep(1)
    finally:
        capture.stop()
    for second, sample in enumerate(timeline, start=2):
        print(f"slow standby, second {second}: {sample}")
    # r4 went on getting r3's churn through the active while the standby
    # host was slow: the prefixes it held changed.
    assert early != late and late, (sorted(early)[:4], sorted(late)[:4], timeline)
    log = rp_log(tgen.gears[HOSTS[active]], active)
    print(f"rp {active} while rp {standby} was slow: lease lapsed "
          f"{slowed['lapses'] - lease['lapses']} times, channel closed "
          f"{log.count('partner silent for more than') - silent} times, "
          f"{log.count('not protected:') - warned} sessions unprotected")
    assert_churn_went_through(heard, capture, f"rp {standby} slow")
    planned_switchover(active, standby)
    assert_service_peers_never_dropped()


def data_channel_ports(rp):
    """(local port, remote port) of rp's data channel, as show names it."""
    ends = show(rp)["partner"]["dataChannelEndpoints"]
    control = show(rp)["partner"]["channelEndpoints"]
    assert ends != control, (ends, control)
    return tuple(int(ends[side].rsplit(":", 1)[1]) for side in ("local", "remote"))


@contextmanager
def slow_data_channel(rp, rate_kbit):
    """What rp sends on its data channel (the active's streams) goes at
    rate_kbit, its heartbeats on the control channel at the link's speed:
    a channel link busy with other traffic, for the streams only."""
    local, remote = data_channel_ports(rp)
    host = get_topogen().gears[HOSTS[rp]]
    link = f"{host.name}-eth0"
    host.cmd(f"tc qdisc add dev {link} root handle 1: htb default 10 && "
             f"tc class add dev {link} parent 1: classid 1:10 htb rate 1gbit && "
             f"tc class add dev {link} parent 1: classid 1:20 htb rate {rate_kbit}kbit "
             f"ceil {rate_kbit}kbit && "
             f"tc filter add dev {link} parent 1: protocol ip u32 "
             f"match ip sport {local} 0xffff match ip dport {remote} 0xffff flowid 1:20")
    try:
        assert "flowid 1:20" in host.cmd(f"tc filter show dev {link}")
        yield
        print(f"slow data channel {local} > {remote}:",
              host.cmd(f"tc -s class show dev {link} classid 1:20"))
    finally:
        host.cmd(f"tc qdisc del dev {link} root")


def test_slow_data_channel_under_churn_holds_no_session_back():
    """The data channel's link is slow for 6 s while r3 churns: what the
    active sends on it (the streams) goes at 4 kbit/s, its heartbeats at
    full speed, so the standby host's confirmations come seconds late.
    Past the lag limit (500 ms) the active goes on without the standby host
    for each session it held back, whether by a link the relay could not
    empty or by the hold (a peer's acknowledgement waiting for a
    confirmation, which no link shows): at least one at the hold's limit,
    said and counted. r3 and r4 never see a drop, their wires stay clean,
    r4 goes on getting r3's churn; the link fast again, the standby host
    shadows every session and a planned switchover continues them."""
    tgen = get_topogen()
    active, standby = protected_pair()
    heard = assert_service_peers_never_dropped()
    active_host = tgen.gears[HOSTS[active]]
    warned = rp_log(active_host, active).count("not protected:")
    lagging = show(active)["streamsAcrossHosts"]["hold"]["sessionsLagging"]
    capture = service_wire(tgen)
    try:
        with r3_churns():
            with slow_data_channel(active, 4):
                time.sleep(1)
                early = churned_prefixes()["r4"]
                time.sleep(5)
                late = churned_prefixes()["r4"]
            time.sleep(1)
        wait_churn_in_step(f"rp {active}'s data channel slow")
        wait_shadow_on(standby, active)
        wait_r5_shadowed(standby)
        time.sleep(1)
    finally:
        capture.stop()
    assert early != late and late, (sorted(early)[:4], sorted(late)[:4])
    log = rp_log(active_host, active)
    ended = show(active)["streamsAcrossHosts"]["hold"]["sessionsLagging"] - lagging
    print(f"rp {active} while its data channel was slow: "
          f"{log.count('not protected:') - warned} sessions unprotected, "
          f"{ended} of them at the hold's lag limit")
    # Whichever held a session back first ended it: a link the relay could
    # not empty, or (counted apart) the hold, whose lag limit says so.
    by_hold = re.findall(r"frr-ha: (\S+): not protected: .*standby lagging: the peer's "
                         r"acknowledgement waited \d+ ms", log)
    print(f"sessions that went on at the hold's lag limit: {by_hold}")
    assert ended >= 1 and by_hold, (ended, by_hold)
    assert_churn_went_through(heard, capture, f"rp {active}'s data channel slow")
    planned_switchover(active, standby)
    assert_service_peers_never_dropped()


def settled_pair(label):
    """Once the roles settle after a fault: one RP active, the other a ready
    standby on an open data channel, both at one epoch. (active, standby)."""
    def settled():
        a, b = show("a"), show("b")
        roles = {a["role"], b["role"]}
        standby = a if a["role"] == "standby" else b
        if roles != {"active", "standby"} or not standby.get("ready"):
            return (a["role"], b["role"], standby.get("ready"))
        if a["epoch"] != b["epoch"]:
            return ("epochs", a["epoch"], b["epoch"])
        if not (a["partner"].get("dataChannel") and b["partner"].get("dataChannel")):
            return ("data channels", a["partner"], b["partner"])
        return None

    wait_for(f"{label}: one active and one ready standby", settled, count=60, wait=0.5)
    return protected_pair()


def test_active_frozen_while_its_sessions_catch_up_keeps_the_role():
    """A standby frozen past the lease and thawed: the active's relays were
    cut, so it hands every session over anew, and tells the standby how
    many it could not continue yet. The active's bgpd is then frozen for
    650 ms, longer than the detection time (500 ms): the standby loses it,
    but with sessions it could not continue it takes over only after twice
    the detection time of silence, so the thawed active, heard again
    before, keeps the role, and r3's and r4's sessions never drop. (With
    every session protected the standby takes over a frozen active at the
    detection time: test_frozen_active_is_fenced_by_its_kernel.)"""
    tgen = get_topogen()
    active, standby = protected_pair()
    heard = assert_service_peers_never_dropped()
    epoch = show(active)["epoch"]
    active_host, standby_host = tgen.gears[HOSTS[active]], tgen.gears[HOSTS[standby]]
    assert show(standby)["partner"]["sessionsUnprotected"] == 0
    losses = rp_log(standby_host, standby).count("sessions were not protected by this RP")
    capture = service_wire(tgen)
    try:
        capture.mark("freeze")
        spid = rp_pid(standby_host, standby)
        standby_host.cmd(f"kill -STOP {spid} && sleep 1.5 && kill -CONT {spid}")
        wait_for(f"rp {standby} counts sessions of the active it cannot continue",
                 lambda: None if show(standby)["partner"].get("sessionsUnprotected", 0) > 0
                 else show(standby)["partner"], count=100, wait=0.05)
        apid = rp_pid(active_host, active)
        active_host.cmd(f"kill -STOP {apid} && sleep 0.65 && kill -CONT {apid}")
        wait_for(f"rp {active} is heard again, active",
                 lambda: None if show(standby)["partner"].get("role") == "active"
                 else show(standby)["partner"], count=40, wait=0.25)
        log = rp_log(standby_host, standby)
        assert log.count("sessions were not protected by this RP") == losses + 1, log[-3000:]
        assert "twice the detection time" in log
        wait_roles(active, standby, epoch)
        assert show(active)["epoch"] == epoch and show(standby)["epoch"] == epoch
        wait_shadow_on(standby, active)
        wait_r5_shadowed(standby)
        wait_for(f"rp {standby} counts no session it could not continue",
                 lambda: None if show(standby)["partner"]["sessionsUnprotected"] == 0
                 else show(standby)["partner"], count=20, wait=0.25)
        time.sleep(1)
    finally:
        capture.stop()
    assert_service_peers_untouched(heard, capture, since="freeze")


def test_flapping_channel_link_under_churn_drops_no_session():
    """The link between the hosts goes down for 300 ms six times, a second
    apart, while r3 churns. A flap may close the channel (TCP's
    retransmission on it can outlast the detection time), lapse the
    active's lease, or let the standby take over and the old active step
    down at the heal; the test prints what happened. Whatever did: the
    roles settle to one active and one standby that shadows every session,
    r3 and r4 never see a drop and their wires stay clean (no FIN, RST or
    NOTIFICATION, every message frames: one writer at a time), and every
    peer and RP holds exactly r3's churned prefixes."""
    tgen = get_topogen()
    active, standby = protected_pair()
    heard = assert_service_peers_never_dropped()
    epoch = show(active)["epoch"]
    before = {rp: show(rp)["lease"]["lapses"] for rp in HOSTS}
    silent = {rp: rp_log(tgen.gears[host], rp).count("partner silent for more than")
              for rp, host in HOSTS.items()}
    flapped, link = tgen.gears[HOSTS[standby]], f"{HOSTS[standby]}-eth0"
    capture = service_wire(tgen)
    try:
        with r3_churns():
            for _ in range(6):
                flapped.cmd(f"ip link set {link} down")
                time.sleep(0.3)
                flapped.cmd(f"ip link set {link} up")
                time.sleep(0.7)
            time.sleep(1)
        active_now = settled_pair("the channel link flapped")[0]
        wait_churn_in_step("the channel link flapped")
        time.sleep(1)
    finally:
        flapped.cmd(f"ip link set {link} up")
        capture.stop()
    print(f"channel link of rp {standby} flapped 6 times: rp {active_now} active, "
          f"{show(active_now)['epoch'] - epoch} switchovers, lease lapses "
          f"{ {rp: show(rp)['lease']['lapses'] - before[rp] for rp in HOSTS} }, channel closed "
          f"{ {rp: rp_log(tgen.gears[host], rp).count('partner silent for more than') - silent[rp] for rp, host in HOSTS.items()} } times")
    assert_churn_went_through(heard, capture, "the channel link flapped")


def slow_window_sample(active):
    """One second later: what r3 sent, what r4 got and how the active
    relays r3's session (in) and r4's (out): to say where a stall was, if
    r4 got nothing."""
    time.sleep(1)
    state = show(active)

    def relayed(neighbor, fields):
        session = state["neighbors"].get(neighbor, {}).get("session", {})
        return {k: session.get(k) for k in ("stream", "heldMs", "notProtectedReason") + fields}

    streams = state.get("streamsAcrossHosts", {})
    # How long each session's oldest segment waits in the hold (the peer's
    # acknowledgement waiting for the standby host's confirmation).
    hold_wait = {s["neighbor"]: s.get("holdWaitMs") for s in streams.get("sessions", [])
                 if s.get("side") == "active"}
    return {"r3UpdatesSent": r3_heard()["messageStats"]["updatesSent"],
            "r4UpdatesRecv": (r4_heard() or {}).get("updates"),
            "activeMayWrite": state["lease"]["mayWrite"],
            "activeFromR3": relayed(R3, ("bytesConsumed", "mirroredToStandby")),
            "activeToR4": relayed(R4, ("bytesWritten", "loggedToStandby", "standbyLagBytes")),
            "holdWaitMs": {"r3": hold_wait.get(R3), "r4": hold_wait.get(R4)},
            "holdSessionsLagging": streams.get("hold", {}).get("sessionsLagging"),
            "fenceDropped": state["lease"].get("fence", {}).get("segmentsDropped"),
            "activeTcpToR4": tcp_to(active, R4)}


def tcp_to(rp, peer):
    """The kernel's view of rp's connection with peer (the service
    address's): retransmission timer, backoff, what is unacknowledged."""
    host = get_topogen().gears[HOSTS[rp]]
    info = host.cmd(f"ss -tinH state established dst {peer}").split()
    return " ".join(f for f in info if f.split(":")[0] in (
        "rto", "backoff", "unacked", "retrans", "lastsnd", "lastrcv", "lastack", "cwnd"))


def r3_hold_timer_expiries():
    """How many times r3 ended a session with the service addresses at its
    hold timer."""
    return int(get_topogen().gears["r3"].cmd(
        f"grep -cE 'NOTIFICATION: sent to neighbor ({SERVICE}|{SERVICE6}) 4/0' bgpd.log").strip()
        or 0)


def test_active_host_death_before_the_standby_is_ready_restarts_what_it_lacks():
    """Last, for its peers' sessions restart: the standby's bgpd is
    restarted and, while it still catches up (not ready: it runs 20 ms of
    every 100), the active's host dies. The standby takes the role all the
    same (an active with what it has beats none): what its shadows did not
    protect restarts, and what they did is continued. Every peer ends
    Established with the new host and holds the pair's routes, the new host
    holds every peer's, and the dead host comes back as standby and shadows
    every session."""
    tgen = get_topogen()
    active, standby = protected_pair()
    survivor_host, dead_host = tgen.gears[HOSTS[standby]], tgen.gears[HOSTS[active]]
    epoch = show(active)["epoch"]
    # A line the active runs and nobody saves: the standby restarts from an
    # older file, and is not ready before it has adopted the active's.
    out = rp_vtysh(dead_host, active, "configure terminal\nrouter bgp 65001\n"
                   "address-family ipv4 unicast\nnetwork 10.1.50.0/24")
    assert "%" not in out, out
    kill_rp(survivor_host, standby)
    start_rp(survivor_host, standby)
    expired = r3_hold_timer_expiries()
    with runs_slowly(survivor_host, rp_pid(survivor_host, standby), stopped_ms=80):
        wait_for(f"rp {standby} pairs again as standby",
                 lambda: None if show(standby)["role"] == "standby" else show(standby)["role"],
                 count=40, wait=0.25)
        joined = show(standby)
        dies(active, whole_host=True)
    assert joined["ready"] is False, joined
    print(f"rp {standby} at the death: {joined.get('notReadyReason')}")
    wait_for(f"rp {standby} takes over though it was not ready",
             lambda: None if show(standby)["role"] == "active" else show(standby)["role"],
             count=20, wait=0.25)
    wait_service_on_host(standby)
    assert_new_active_accepts()
    wait_service_peers()
    # r3's session, not continued, ended at the new host's RST to r3's next
    # segment, not at r3's hold timer.
    assert r3_hold_timer_expiries() == expired, r3_why_dropped(SERVICE, r3_heard())
    wait_for("r5 (BIRD) peers with the new active",
             lambda: None if r5_heard()["state"] == "Established" and r5_heard()["prefixes"] >= 1
             else r5_heard()["text"], count=40, wait=0.5)
    routes = json.loads(rp_vtysh(survivor_host, standby, "show ip bgp json"))["routes"]
    for prefix in ("10.3.1.0/24", "10.4.0.0/24", "10.5.0.0/24"):
        wait_for(f"rp {standby} holds {prefix}",
                 lambda: None if prefix in json.loads(rp_vtysh(
                     survivor_host, standby, "show ip bgp json"))["routes"] else sorted(routes),
                 count=40, wait=0.5)
    wait_for("r4 (GoBGP) has the pair's route again",
             lambda: None if "10.1.0.0/24" in tgen.gears["r4"].cmd(
                 f"gobgp neighbor {SERVICE} adj-in -a ipv4") else "not yet", count=20, wait=0.5)
    dead_host.cmd(f"ip link set {HOSTS[active]}-eth0 up && ip link set {HOSTS[active]}-eth1 up")
    start_rp(dead_host, active)
    wait_roles(standby, active, epoch + 1)
    wait_service_on(standby)
    wait_shadow_on(active, standby)
    wait_r5_shadowed(active)


def route_origin(prefix):
    """Which peer a prefix of the last test comes from."""
    for name, table in FULL_TABLES.items():
        if prefix.split(".")[0] == table[0].split(".")[0]:
            return name
    return {"10.2": "r2", "10.4": "r4", "10.5": "r5"}.get(".".join(prefix.split(".")[:2]), "pair")


if __name__ == "__main__":
    sys.exit(pytest.main(["-s"] + sys.argv[1:]))
