"""What crossed the wire at the peers: the capture and its BGP messages."""
import os
import signal
import struct
import subprocess
import time

from .common import LAN, NS_PEERS, STATE, track, wait

# --------------------------------------------------------------------------- wire

class Capture:
    """dumpcap on the LAN bridge (promiscuous, so it also sees the frames
    the bridge forwards between its ports: the feed's and the RP hosts').
    `snaplen`: keep only that many bytes of each frame (headers, for
    pcap_segments; pcap_packets needs whole frames)."""

    def __init__(self, name, snaplen=None):
        self.path = f"{STATE}/{name}.pcap"
        if os.path.exists(self.path):
            os.unlink(self.path)
        # a 256 MiB capture buffer: a stock restart at hundreds of peers
        # sends millions of prefixes at once, and a dropped segment cuts
        # the stream's parse short
        snap = ["-s", str(snaplen)] if snaplen else []
        self.p = subprocess.Popen(["ip", "netns", "exec", NS_PEERS, "dumpcap", "-q", "-P",
                                   "-B", "256", *snap, "-i", LAN, "-f", "tcp port 179",
                                   "-w", self.path],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        track("dumpcap", self.p.pid)
        wait("dumpcap starts", lambda: os.path.exists(self.path), 10)
        time.sleep(0.3)

    def stop(self):
        time.sleep(0.3)
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=30)


def pcap_tcp(path):
    """(time, src, sport, dst, dport, tcp, length) of each TCP packet: tcp
    is the captured part of the TCP header and payload, length the TCP
    header and payload's length on the wire (from the IP header), which is
    more than len(tcp) when the capture kept only the frame's first bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    link = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        ts, tfrac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = ts + tfrac / (1e9 if nano else 1e6)
        if link == 1:
            etype = struct.unpack(">H", pkt[12:14])[0]
            ip = pkt[14:]
        elif link == 113:  # Linux cooked
            etype = struct.unpack(">H", pkt[14:16])[0]
            ip = pkt[16:]
        else:
            continue
        if etype == 0x0800:
            ihl = (ip[0] & 15) * 4
            if ip[9] != 6:
                continue
            tot = struct.unpack(">H", ip[2:4])[0]
            src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
            tcp, length = ip[ihl:tot], tot - ihl
        elif etype == 0x86dd:
            if ip[6] != 6:
                continue
            plen = struct.unpack(">H", ip[4:6])[0]
            src, dst = ip[8:24].hex(), ip[24:40].hex()
            tcp, length = ip[40:40 + plen], plen
        else:
            continue
        if len(tcp) < 20:
            continue
        sport, dport = struct.unpack(">HH", tcp[:4])
        yield t, src, sport, dst, dport, tcp, length


def pcap_packets(path):
    """(time, src, sport, dst, dport, flags, seq, payload) of each TCP packet."""
    for t, src, sport, dst, dport, tcp, _ in pcap_tcp(path):
        seq = struct.unpack(">I", tcp[4:8])[0]
        doff = (tcp[12] >> 4) * 4
        yield t, src, sport, dst, dport, tcp[13], seq, tcp[doff:]


def pcap_segments(path):
    """(time, src, sport, dst, dport, flags, seq, ack, payload length) of
    each TCP packet; headers suffice (Capture's snaplen)."""
    for t, src, sport, dst, dport, tcp, length in pcap_tcp(path):
        seq, ack = struct.unpack(">II", tcp[4:12])
        yield t, src, sport, dst, dport, tcp[13], seq, ack, length - (tcp[12] >> 4) * 4


def ack_delays(path, local, t_from, t_to):
    """How long `local` (the router's address) took to acknowledge what its
    peers sent: for every data segment to `local` first sent between t_from
    and t_to, the time until the first segment from `local` on the same
    connection whose ACK field covers the segment's end (seq + length, mod
    2^32), both seen on the same wire. Returns {remote address: {"ms":
    [delays], "bytes": [each one's segment's payload length],
    "retransmitted": segments whose bytes were sent before, "unanswered":
    segments no ACK covered before the capture ended, "span": seconds from
    the first to the last segment of more than a KEEPALIVE's 19 bytes}}."""
    conns, out = {}, {}
    for t, src, sport, dst, dport, flags, seq, ack, plen in pcap_segments(path):
        if dst == local and plen > 0 and not flags & 0x02:
            c = conns.setdefault((src, sport, dport), {"pending": [], "head": 0, "end": None})
            r = out.setdefault(src, {"ms": [], "bytes": [], "retransmitted": 0,
                                     "unanswered": 0})
            end = (seq + plen) & 0xffffffff
            if c["end"] is not None and (end - c["end"]) & 0xffffffff >= 1 << 31 or \
                    end == c["end"]:
                if t_from <= t <= t_to:
                    r["retransmitted"] += 1  # nothing new: its first sending counts
                continue
            c["end"] = end
            if t_from <= t <= t_to:
                c["pending"].append((end, t, plen))
                if plen > 19:
                    r["first"] = min(r.get("first", t), t)
                    r["last"] = t
        elif src == local and flags & 0x10:
            c = conns.get((dst, dport, sport))
            if not c:
                continue
            p, i = c["pending"], c["head"]
            # the ACK field covers `end` when end is not after it
            while i < len(p) and (ack - p[i][0]) & 0xffffffff < 1 << 31:
                out[dst]["ms"].append((t - p[i][1]) * 1000)
                out[dst]["bytes"].append(p[i][2])
                i += 1
            c["head"] = i
    for (src, _, _), c in conns.items():
        out[src]["unanswered"] += len(c["pending"]) - c["head"]
    for r in out.values():
        r["span"] = r.pop("last", 0) - r.pop("first", 0)
    return out


def count_prefixes(buf):
    n, i = 0, 0
    while i < len(buf):
        i += 1 + (buf[i] + 7) // 8
        n += 1
    return n


def parse_update(msg):
    """(withdrawn, announced, end_of_rib) prefix counts of one UPDATE body."""
    wl = struct.unpack(">H", msg[:2])[0]
    withdrawn = count_prefixes(msg[2:2 + wl])
    al = struct.unpack(">H", msg[2 + wl:4 + wl])[0]
    attrs = msg[4 + wl:4 + wl + al]
    announced = count_prefixes(msg[4 + wl + al:])
    i, mp = 0, False
    while i < len(attrs):
        flags, code = attrs[i], attrs[i + 1]
        if flags & 0x10:
            ln, hl = struct.unpack(">H", attrs[i + 2:i + 4])[0], 4
        else:
            ln, hl = attrs[i + 2], 3
        body = attrs[i + hl:i + hl + ln]
        if code == 14:  # MP_REACH_NLRI
            nhl = body[3]
            announced += count_prefixes(body[5 + nhl:])
            mp = True
        elif code == 15:  # MP_UNREACH_NLRI
            w = count_prefixes(body[3:])
            withdrawn += w
            mp = mp or w > 0
        i += hl + ln
    eor = withdrawn == 0 and announced == 0 and (al == 0 or (not mp and al <= 6) or
                                                 (len(attrs) == 6 and attrs[1] == 15))
    return withdrawn, announced, eor


def analyse_wire(path, t_kill, r1_addresses):
    """What r1 sent to the peers after t_kill: per session (r1 address, peer
    address), first segment and first byte times, FIN/RST, messages by
    type, prefixes."""
    streams = {}
    for t, src, sport, dst, dport, flags, seq, payload in pcap_packets(path):
        if src not in r1_addresses:
            continue  # only r1 -> peers
        key = (src, dst, dport)
        s = streams.setdefault(key, {"segs": {}, "fin": 0, "rst": 0, "syn": 0, "base": seq,
                                     "first_segment": None})
        if t >= t_kill and s["first_segment"] is None:
            s["first_segment"] = t  # an ACK counts: the connection answers
        if flags & 0x01:
            s["fin"] += t >= t_kill
        if flags & 0x04:
            s["rst"] += t >= t_kill
        if flags & 0x02:
            s["syn"] += 1
            s["isn"] = seq + 1
        if payload:
            s["segs"].setdefault(seq, (t, payload))
    sessions = {}
    for (src, dst, dport), s in streams.items():
        peer = (src, dst)
        agg = sessions.setdefault(peer, {"first_byte": None, "first_segment": None,
                                         "fin": 0, "rst": 0, "connections": 0,
                                         "updates": 0, "notifications": 0, "opens": 0,
                                         "withdrawn": 0, "announced": 0, "eor": 0,
                                         "last_update": None})
        if s["first_segment"] is not None:
            agg["first_segment"] = min(agg["first_segment"] or s["first_segment"],
                                       s["first_segment"])
        agg["fin"] += s["fin"]
        agg["rst"] += s["rst"]
        agg["connections"] += 1 if s["syn"] else 0
        base = s.get("isn", s["base"])
        segs = sorted(s["segs"].items(), key=lambda kv: (kv[0] - base) % (1 << 32))
        data, times, expect = bytearray(), [], None
        for seq, (t, payload) in segs:
            if expect is not None and (seq - expect) % (1 << 32) > (1 << 31):
                cut = (expect - seq) % (1 << 32)  # overlap: a retransmission
                payload, seq = payload[cut:], expect
                if not payload:
                    continue
            times.append((len(data), t))
            data += payload
            expect = (seq + len(payload)) % (1 << 32)
            if t >= t_kill and (agg["first_byte"] is None or t < agg["first_byte"]):
                agg["first_byte"] = t
        start = data.find(b"\xff" * 16)
        i, ti = max(start, 0), 0
        while start >= 0 and i + 19 <= len(data):
            ln, typ = struct.unpack(">HB", data[i + 16:i + 19])
            if ln < 19 or i + ln > len(data):
                break
            while ti + 1 < len(times) and times[ti + 1][0] <= i:
                ti += 1
            t = times[ti][1] if times else 0
            if t >= t_kill:
                if typ == 1:
                    agg["opens"] += 1
                elif typ == 3:
                    agg["notifications"] += 1
                elif typ == 2:
                    agg["updates"] += 1
                    w, a, eor = parse_update(bytes(data[i + 19:i + ln]))
                    agg["withdrawn"] += w
                    agg["announced"] += a
                    agg["eor"] += eor
                    agg["last_update"] = max(agg["last_update"] or 0, t)
            i += ln
    return sessions
