"""
The other BGP speakers of our topotests (stock FRR, BIRD, GoBGP): writing
their configuration, starting them, and what each one sees of its session
to r1, in one shape: state, established-since, NOTIFICATIONs, prefixes.
"""
import json

from .frr_ha import rp_pid, stop_pairs, vtysh_json


def write_conf(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def frr_session(router, r1_address):
    """A stock FRR peer's view of its session to r1."""
    s = vtysh_json(router, f"show bgp neighbors {r1_address} json")[r1_address]
    return {
        "state": s.get("bgpState"),
        "establishedEpoch": s.get("bgpTimerUpEstablishedEpoch"),
        "established": s.get("connectionsEstablished"),
        "dropped": s.get("connectionsDropped"),
        "notificationsSent": s["messageStats"]["notificationsSent"],
        "notificationsRecv": s["messageStats"]["notificationsRecv"],
        "prefixes": s.get("addressFamilyInfo", {}).get("ipv4Unicast", {})
        .get("acceptedPrefixCounter"),
    }


def start_bird(host, confdir):
    """Starts BIRD on a host with confdir/bird.conf (control socket and pid
    file beside it)."""
    parsed = host.cmd(f"bird -p -c {confdir}/bird.conf 2>&1")
    assert not parsed.strip(), f"BIRD refuses {confdir}/bird.conf: {parsed}"
    out = host.cmd(f"bird -c {confdir}/bird.conf -s {confdir}/bird.ctl -P {confdir}/bird.pid 2>&1")
    assert not out.strip(), out


def stop_bird(host, confdir):
    host.cmd(f"kill $(cat {confdir}/bird.pid) 2>/dev/null")


def birdc(host, confdir, command):
    return host.cmd(f"birdc -s {confdir}/bird.ctl {command}")


def bird_session(host, confdir, protocol="r1"):
    """BIRD's view of its session to r1: state, routes imported, since when
    the protocol is in its state (a session that went down and up again has
    a later one) and its last error (a NOTIFICATION, a hold timer)."""
    out = birdc(host, confdir, f"show protocols all {protocol}")
    state = "Established" if "BGP state:          Established" in out else "down"
    imported, since, last_error = 0, None, ""
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == protocol and len(fields) >= 5:
            since = " ".join(fields[4:-1]) if len(fields) > 5 else fields[4]
        if line.strip().startswith("Routes:"):
            imported = int(line.split()[1])
        if line.strip().startswith("Last error:"):
            last_error = line.split(":", 1)[1].strip()
    return {"state": state, "prefixes": imported, "since": since, "last_error": last_error,
            "text": out}


def gobgp_session(host, api=None):
    """The first session of a GoBGP process (its gRPC address `api`, or the
    default one): state, flops, NOTIFICATIONs received, prefixes accepted;
    None while GoBGP does not answer."""
    where = f"-u {api.split(':')[0]} -p {api.split(':')[1]} " if api else ""
    out = host.cmd(f"gobgp {where}neighbor -j 2>&1")
    try:
        data = json.loads(out)
    except ValueError:
        return None
    if not isinstance(data, list) or not data:
        return None
    n = data[0]
    st = n.get("state", {})
    received = st.get("messages", {}).get("received", {})
    accepted = sum(int((af.get("state") or {}).get("accepted", 0) or 0)
                   for af in n.get("afi_safis") or [])
    return {
        "state": "Established" if st.get("session_state") in (6, "established", "ESTABLISHED")
        else str(st.get("session_state")),
        "flops": int(st.get("flops", 0) or 0),
        "notificationsRecv": int(received.get("notification", 0) or 0),
        "updates": int(received.get("update", 0) or 0),
        "prefixes": accepted,
    }


def stop_pair_router(tgen, router="r1", rps=("a", "b")):
    """Stops the RPs of a router, waking a stopped one first (a stopped
    process would not act on SIGTERM), then the topology."""
    for rp in rps:
        pid = rp_pid(tgen.gears[router], rp)
        if pid:
            tgen.gears[router].cmd(f"kill -CONT {pid}")
    stop_pairs({router: rps})
