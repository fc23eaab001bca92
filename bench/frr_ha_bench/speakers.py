"""The route feed (BIRD) and the peers (one gobgpd with N sessions)."""
import json
import os
import subprocess

from .common import (
    FEED_AS,
    GOBGP_API,
    HOLD,
    KEEPALIVE,
    NS_FEED,
    NS_PEERS,
    PEER_AS,
    R1_AS,
    STATE,
    feed_addrs,
    peer_addr,
    prefix,
    r1_addr,
    sh,
    track,
    write,
)

# --------------------------------------------------------------------------- speakers

def start_feed(af, prefixes, table_conf=None):
    """BIRD sending r1 `prefixes` host routes with one attribute set, or,
    with `table_conf`, the static protocol `feed` of that file (a generated
    table: table.write_bird_static)."""
    d = f"{STATE}/feed"
    os.makedirs(d, exist_ok=True)
    r1, me, _ = feed_addrs(af)
    chan = "ipv4" if af == 4 else "ipv6"
    with open(f"{d}/bird.conf", "w") as f:
        f.write("router id 192.0.2.200;\nprotocol device { }\n")
        if table_conf:
            f.write(f'include "{table_conf}";\n')
        else:
            f.write(f"protocol static feed {{ {chan};\n")
            for i in range(prefixes):
                f.write(f"  route {prefix(af, i)} blackhole;\n")
            f.write("}\n")
        f.write(f"protocol bgp r1 {{\n  local {me} as {FEED_AS};\n  neighbor {r1} as {R1_AS};\n"
                f"  hold time {HOLD}; keepalive time {KEEPALIVE}; connect retry time 1;\n"
                f"  error wait time 1, 5;\n  graceful restart on;\n"
                f"  {chan} {{ import none; export where source = RTS_STATIC; }};\n}}\n")
    p = subprocess.Popen(["ip", "netns", "exec", NS_FEED, "bird", "-f", "-c", f"{d}/bird.conf",
                          "-s", f"{d}/bird.ctl"], stdout=subprocess.DEVNULL,
                         stderr=open(f"{d}/bird.err", "w"))
    track("bird", p.pid)
    return p


def birdc(cmd):
    return sh(f"birdc -s {STATE}/feed/bird.ctl {cmd}", ns=NS_FEED, check=False)


def start_peers(af, peers, gr, tag, keepalive=KEEPALIVE, hold=HOLD):
    d = f"{STATE}/peers"
    os.makedirs(d, exist_ok=True)
    afi = "ipv4-unicast" if af == 4 else "ipv6-unicast"
    parts = [f'[global.config]\n  as = {PEER_AS}\n  router-id = "192.0.2.100"\n']
    for i in range(peers):
        parts.append(f"""[[neighbors]]
  [neighbors.config]
    neighbor-address = "{r1_addr(af, i)}"
    peer-as = {R1_AS}
  [neighbors.transport.config]
    local-address = "{peer_addr(af, i)}"
    passive-mode = false
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = {hold}
    keepalive-interval = {keepalive}
    idle-hold-time-after-reset = 1
  [neighbors.graceful-restart.config]
    enabled = {str(gr).lower()}
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "{afi}"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = {str(gr).lower()}
""")
    write(f"{d}/gobgpd.toml", "".join(parts))
    p = subprocess.Popen(["ip", "netns", "exec", NS_PEERS, "gobgpd", "-f", f"{d}/gobgpd.toml",
                          "--api-hosts", GOBGP_API, "-l", "warn", "-p", "--pprof-disable"],
                         stdout=open(f"{d}/gobgpd-{tag}.log", "w"), stderr=subprocess.STDOUT)
    track("gobgpd", p.pid)
    return p


def gobgp_neighbors():
    out = sh("gobgp -u 127.0.0.1 -p 50151 neighbor -j", ns=NS_PEERS, check=False)
    try:
        data = json.loads(out)
    except ValueError:
        return {}
    if not isinstance(data, list):  # gobgpd busy or restarting: an error object
        return {}
    view = {}
    for n in data:
        st = n.get("state", {})
        afs = n.get("afi_safis") or [{}]
        a = afs[0].get("state", {})
        msgs = st.get("messages", {}).get("received", {})
        view[st.get("neighbor_address")] = {
            "state": st.get("session_state"),  # 6 = established
            "accepted": int(a.get("accepted", 0) or 0),
            "updates": int(msgs.get("update", 0) or 0),
            "notifications": int(msgs.get("notification", 0) or 0),
            "flops": int(st.get("flops", 0) or 0),
            "uptime": n.get("timers", {}).get("state", {}).get("uptime", {}).get("seconds"),
        }
    return view


def peers_full(prefixes):
    v = gobgp_neighbors()
    return bool(v) and all(x["state"] == 6 and x["accepted"] == prefixes for x in v.values())


def peers_count(count):
    v = gobgp_neighbors()
    return bool(v) and all(x["accepted"] == count for x in v.values())
