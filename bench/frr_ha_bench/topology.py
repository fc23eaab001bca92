"""The namespaces and links of one size.

    bench-feed --- r1-feed link -------------------------- bench-r1 (rp a's host)
         |                                                   |   |
         +-- feed-lan ---+                          r1-peers +   + r1-rpb (channel)
                         |                                   |   |
    bench-peers:  bridge `lan` (the peers' addresses) -------+   |
                         |                                       |
                         +-- rpb-peers ---- bench-r1b (rp b's host, ha-dual)

Every case but ha-dual uses the feed's link and one r1 address per peer on
rp a's host; ha-dual uses the LAN alone: the feed, the peers and the pair's
service address, which either host can claim.
"""
import time

from .common import (
    CHANNEL_A,
    CHANNEL_B,
    FEED_LAN,
    HOST_LAN,
    LAN,
    LAN_PLEN,
    NAMESPACES,
    NS_R1B,
    NS_FEED,
    NS_PEERS,
    NS_R1,
    STATE,
    feed_addrs,
    peer_addr,
    r1_addr,
    sh,
)

# each host's links, as a host death takes them down
HOST_LINKS = {"a": (NS_R1, ("r1-peers", "r1-rpb", "r1-feed")),
              "b": (NS_R1B, ("rpb-peers", "rpb-r1"))}


def veth(ns1, dev1, ns2, dev2):
    sh(f"ip link add {dev1} netns {ns1} type veth peer name {dev2} netns {ns2}")


def build_topology(af, peers):
    for ns in (NS_R1, NS_R1B, NS_FEED, NS_PEERS):
        sh(f"ip netns del {ns}", check=False)
        sh(f"ip netns add {ns}")
        NAMESPACES.append(ns)
        sh("ip link set lo up", ns=ns)
    sh(f"ip link add {LAN} type bridge", ns=NS_PEERS)
    veth(NS_R1, "r1-feed", NS_FEED, "feed-r1")
    veth(NS_R1, "r1-peers", NS_PEERS, "peers-r1")
    veth(NS_R1B, "rpb-peers", NS_PEERS, "peers-rpb")
    veth(NS_FEED, "feed-lan", NS_PEERS, "lan-feed")
    veth(NS_R1, "r1-rpb", NS_R1B, "rpb-r1")
    for port in ("peers-r1", "peers-rpb", "lan-feed"):
        sh(f"ip link set {port} master {LAN}", ns=NS_PEERS)
    a, b, plen = feed_addrs(af)
    fam = "-6" if af == 6 else "-4"
    sh(f"ip {fam} addr add {a}/{plen} dev r1-feed nodad" if af == 6 else
       f"ip addr add {a}/{plen} dev r1-feed", ns=NS_R1)
    sh(f"ip {fam} addr add {b}/{plen} dev feed-r1 nodad" if af == 6 else
       f"ip addr add {b}/{plen} dev feed-r1", ns=NS_FEED)
    plen = 12 if af == 4 else 64
    extra = " nodad" if af == 6 else ""
    for ns, dev, fn in ((NS_R1, "r1-peers", r1_addr), (NS_PEERS, LAN, peer_addr)):
        batch = f"{STATE}/addr-{ns}.batch"
        with open(batch, "w") as f:
            for i in range(peers):
                f.write(f"addr add {fn(af, i)}/{plen} dev {dev}{extra}\n")
        sh(f"ip -batch {batch}", ns=ns)
    # the LAN's IPv4 host addresses (ha-dual: the service address's subnet)
    sh(f"ip addr add {HOST_LAN['a']}/{LAN_PLEN} dev r1-peers", ns=NS_R1)
    sh(f"ip addr add {HOST_LAN['b']}/{LAN_PLEN} dev rpb-peers", ns=NS_R1B)
    sh(f"ip addr add {FEED_LAN}/{LAN_PLEN} dev feed-lan", ns=NS_FEED)
    sh(f"ip addr add {CHANNEL_A}/30 dev r1-rpb", ns=NS_R1)
    sh(f"ip addr add {CHANNEL_B}/30 dev rpb-r1", ns=NS_R1B)
    for ns, devs in ((NS_R1, ("r1-feed", "r1-peers", "r1-rpb")),
                     (NS_R1B, ("rpb-peers", "rpb-r1")),
                     (NS_FEED, ("feed-r1", "feed-lan")),
                     (NS_PEERS, ("peers-r1", "peers-rpb", "lan-feed", LAN))):
        for dev in devs:
            sh(f"ip link set {dev} up", ns=ns)
    # the peers reach r1's addresses on the LAN; the feed needs no route
    time.sleep(0.5)


# ha-dual's ping flow: from the first peer's address to an address behind
# the feed that the feed announces (prefix 1 of its host routes), through
# the pair's service address
FLOW_TARGET = "10.0.0.1"


def route_flow_through_service(service):
    """The peers send FLOW_TARGET to the service address and the feed
    answers for it; no ICMP redirect may send the peers around r1 (r1
    forwards out of the interface the flow came in on)."""
    sh(f"ip addr add {FLOW_TARGET}/32 dev lo", ns=NS_FEED, check=False)
    sh(f"ip route replace {FLOW_TARGET}/32 via {service}", ns=NS_PEERS)
    sh("sysctl -qw net.ipv4.conf.all.accept_redirects=0", ns=NS_PEERS)
    for ns in (NS_R1, NS_R1B):
        sh("sysctl -qw net.ipv4.conf.all.send_redirects=0", ns=ns)
        sh("sysctl -qw net.ipv4.conf.default.send_redirects=0", ns=ns)
        for dev in ("r1-peers",) if ns == NS_R1 else ("rpb-peers",):
            sh(f"sysctl -qw net.ipv4.conf.{dev}.send_redirects=0", ns=ns)


def host_links(rp, up):
    """Takes rp's host's links down or up."""
    ns, devs = HOST_LINKS[rp]
    sh(" && ".join(f"ip -n {ns} link set {d} {'up' if up else 'down'}" for d in devs))


def teardown_topology():
    for ns in list(NAMESPACES):
        sh(f"ip netns del {ns}", check=False)
        NAMESPACES.remove(ns)
