"""The namespaces and links of one size."""
import time

from .common import (
    CHANNEL_A,
    CHANNEL_B,
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

# --------------------------------------------------------------------------- topology

def build_topology(af, peers):
    for ns in (NS_R1, NS_FEED, NS_PEERS):
        sh(f"ip netns del {ns}", check=False)
        sh(f"ip netns add {ns}")
        NAMESPACES.append(ns)
        sh("ip link set lo up", ns=ns)
    sh(f"ip link add r1-feed netns {NS_R1} type veth peer name feed-r1 netns {NS_FEED}")
    sh(f"ip link add r1-peers netns {NS_R1} type veth peer name peers-r1 netns {NS_PEERS}")
    a, b, plen = feed_addrs(af)
    fam = "-6" if af == 6 else "-4"
    sh(f"ip {fam} addr add {a}/{plen} dev r1-feed nodad" if af == 6 else
       f"ip addr add {a}/{plen} dev r1-feed", ns=NS_R1)
    sh(f"ip {fam} addr add {b}/{plen} dev feed-r1 nodad" if af == 6 else
       f"ip addr add {b}/{plen} dev feed-r1", ns=NS_FEED)
    plen = 12 if af == 4 else 64
    extra = " nodad" if af == 6 else ""
    for ns, dev, fn in ((NS_R1, "r1-peers", r1_addr), (NS_PEERS, "peers-r1", peer_addr)):
        batch = f"{STATE}/addr-{ns}.batch"
        with open(batch, "w") as f:
            for i in range(peers):
                f.write(f"addr add {fn(af, i)}/{plen} dev {dev}{extra}\n")
        sh(f"ip -batch {batch}", ns=ns)
    for ns, dev in ((NS_R1, "r1-feed"), (NS_R1, "r1-peers"), (NS_FEED, "feed-r1"),
                    (NS_PEERS, "peers-r1")):
        sh(f"ip link set {dev} up", ns=ns)
    # ha-dual: rp b's host, with a link to rp a's for the pair's channels
    sh(f"ip netns del {NS_R1B}", check=False)
    sh(f"ip netns add {NS_R1B}")
    NAMESPACES.append(NS_R1B)
    sh("ip link set lo up", ns=NS_R1B)
    sh(f"ip link add r1-rpb netns {NS_R1} type veth peer name rpb-r1 netns {NS_R1B}")
    sh(f"ip addr add {CHANNEL_A}/30 dev r1-rpb", ns=NS_R1)
    sh(f"ip addr add {CHANNEL_B}/30 dev rpb-r1", ns=NS_R1B)
    sh("ip link set r1-rpb up", ns=NS_R1)
    sh("ip link set rpb-r1 up", ns=NS_R1B)
    # the peers reach r1's addresses on the link; the feed needs no route
    time.sleep(0.5)


def teardown_topology():
    for ns in list(NAMESPACES):
        sh(f"ip netns del {ns}", check=False)
        NAMESPACES.remove(ns)
