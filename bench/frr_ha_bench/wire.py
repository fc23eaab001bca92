"""What crossed the wire at the peers: the capture and its BGP messages."""
import os
import signal
import struct
import subprocess
import time

from .common import LAN, NS_PEERS, STATE, track, wait

# --------------------------------------------------------------------------- wire

class Capture:
    def __init__(self, name):
        self.path = f"{STATE}/{name}.pcap"
        if os.path.exists(self.path):
            os.unlink(self.path)
        # a 256 MiB capture buffer: a stock restart at hundreds of peers
        # sends millions of prefixes at once, and a dropped segment cuts
        # the stream's parse short
        self.p = subprocess.Popen(["ip", "netns", "exec", NS_PEERS, "dumpcap", "-q", "-P",
                                   "-B", "256", "-i", LAN, "-f", "tcp port 179", "-w", self.path],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        track("dumpcap", self.p.pid)
        wait("dumpcap starts", lambda: os.path.exists(self.path), 10)
        time.sleep(0.3)

    def stop(self):
        time.sleep(0.3)
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=30)


def pcap_packets(path):
    """(time, src, sport, dst, dport, flags, seq, payload) of each TCP packet."""
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
            tcp = ip[ihl:tot]
        elif etype == 0x86dd:
            if ip[6] != 6:
                continue
            plen = struct.unpack(">H", ip[4:6])[0]
            src, dst = ip[8:24].hex(), ip[24:40].hex()
            tcp = ip[40:40 + plen]
        else:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        flags = tcp[13]
        yield t, src, sport, dst, dport, flags, seq, tcp[doff:]


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
