"""
A table for GoBGP in one step: an MRT TABLE_DUMP_V2 file (RFC 6396) that
`gobgp mrt inject global` loads in a second, where adding prefixes one
`gobgp global rib add` at a time takes tens of milliseconds each.
"""
import ipaddress
import struct
import time

MRT_TABLE_DUMP_V2 = 13
PEER_INDEX_TABLE = 1
RIB_IPV4_UNICAST = 2
AS4_PEER = 0x02  # peer type: 4-byte AS, IPv4 address


def _record(subtype, body, stamp):
    return struct.pack(">IHHI", stamp, MRT_TABLE_DUMP_V2, subtype, len(body)) + body


def _attribute(code, value):
    return struct.pack(">BBB", 0x40, code, len(value)) + value  # well-known transitive


def write_ipv4_rib(path, prefixes, next_hop, peer_as, peer_id=None):
    """Writes prefixes (ip_network or text) as one peer's routes: origin IGP,
    an empty AS path (the injecting speaker's own routes) and next_hop.

    Every route is written twice: gobgp 3.10's `mrt inject` ends its stream
    before the server has taken the last entries (hundreds of 10 000 lost
    per call, seen here), so the loss falls on the second copy. Injecting
    a route again with the same attributes changes nothing."""
    prefixes = list(prefixes)
    stamp = int(time.time())
    peer = ipaddress.IPv4Address(next_hop).packed
    peer_id = ipaddress.IPv4Address(peer_id or next_hop).packed
    index = (peer_id + struct.pack(">H", 0) + struct.pack(">H", 1) +
             struct.pack(">B", AS4_PEER) + peer_id + peer + struct.pack(">I", peer_as))
    attributes = (_attribute(1, b"\x00") + _attribute(2, b"") + _attribute(3, peer))
    entry = struct.pack(">HIH", 0, stamp, len(attributes)) + attributes
    with open(path, "wb") as f:
        f.write(_record(PEER_INDEX_TABLE, index, stamp))
        for seq, prefix in enumerate(prefixes + prefixes):
            net = ipaddress.IPv4Network(prefix)
            length = net.prefixlen
            body = (struct.pack(">IB", seq, length) +
                    net.network_address.packed[:(length + 7) // 8] +
                    struct.pack(">H", 1) + entry)
            f.write(_record(RIB_IPV4_UNICAST, body, stamp))
