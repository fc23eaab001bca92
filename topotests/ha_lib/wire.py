"""What crossed the wire: packet captures on peer routers, read with tshark.

Debian's wireshark does not know RFC 8654 extended messages (UPDATEs longer
than 4096 bytes, which FRR peers negotiate): it reports each as an error,
"Length is invalid N". That one error, for a length of 4097 to 65535, is
the only one forgiven; every other error tshark reports counts, also in a
frame that holds an extended message. Besides tshark's verdict, each of
r1's byte streams is cut into BGP messages here: every message must have
the marker, a length of 19 to 65535 and a known type, back to back. A byte
sent twice, lost, or a message cut short breaks that framing.

A frame tshark calls malformed is reported with where it lies in its
stream and the messages there, so that a failure names the message.
"""
import re
import subprocess
import time

BGP_TYPES = {1, 2, 3, 4, 5}

PI_ERROR = 0x00800000  # tshark's _ws.expert.severity of an error
# tshark 4.0 packet-bgp.c: BGP_MAX_PACKET_SIZE 4096, "Length is invalid %u".
EXTENDED_LENGTH = re.compile(r"^Length is invalid (\d+)$")
# -T fields output: fields apart, and the items of one field apart.
SEP, AGG = "\x1f", "\x1e"


# A segment sent again over bytes already captured, the same bytes (a TCP
# retransmission, cut differently). Different bytes are another error,
# "Conflicting data in fragment overlap", which stays one.
RETRANSMITTED_OVERLAP = "New fragment overlaps old data (retransmission?)"


def forgiven(message):
    """tshark's error on an RFC 8654 extended message or on a retransmission
    of the same bytes, and nothing else."""
    if message == RETRANSMITTED_OVERLAP:
        return True
    m = EXTENDED_LENGTH.match(message)
    return bool(m) and 4096 < int(m.group(1)) <= 65535


def tshark(*args):
    return subprocess.run(["tshark", "-n", *args], capture_output=True, text=True,
                          check=True).stdout


def fields(path, display_filter, names):
    """One dict per frame: field name -> list of its items."""
    out = tshark("-r", path, "-Y", display_filter, "-T", "fields", "-E", f"separator={SEP}",
                 "-E", f"aggregator={AGG}", *[a for n in names for a in ("-e", n)])
    rows = []
    for line in out.split("\n"):  # not splitlines(): SEP and AGG are line breaks to it
        if not line:
            continue
        values = line.split(SEP)
        rows.append({n: (v.split(AGG) if v else []) for n, v in zip(names, values)})
    return rows


def bgp_messages(data):
    """(offset, type, length) of each message of a stream, as framed below."""
    start = data.find(b"\xff" * 16)
    out, pos = [], max(start, 0)
    while start >= 0 and pos + 19 <= len(data) and data[pos:pos + 16] == b"\xff" * 16:
        length = int.from_bytes(data[pos + 16:pos + 18], "big")
        if length < 19:
            break
        out.append((pos, data[pos + 18], length))
        pos += length
    return out


def frame_bgp_stream(data):
    """(messages, problem or None) for a BGP byte stream seen from its start
    or, for a capture begun mid-stream, from its first marker."""
    start = data.find(b"\xff" * 16)
    if start < 0:
        return 0, None if not data else "no BGP marker in the stream"
    pos, count = start, 0
    while pos + 19 <= len(data):
        if data[pos:pos + 16] != b"\xff" * 16:
            return count, f"no marker at offset {pos}"
        length = int.from_bytes(data[pos + 16:pos + 18], "big")
        mtype = data[pos + 18]
        if length < 19 or mtype not in BGP_TYPES:
            return count, f"bad header at offset {pos}: length {length} type {mtype}"
        if pos + length > len(data):
            break  # the capture ended inside this message
        pos += length
        count += 1
    return count, None


class Capture:
    """Captures BGP traffic on each peer's first interface until stop()."""

    def __init__(self, tgen, peers, r1_addresses):
        self.tgen = tgen
        self.peers = list(peers)
        self.r1 = r1_addresses
        self.files = {}
        for name in self.peers:
            router = tgen.gears[name]
            path = f"/tmp/{tgen.modname}-{name}.pcap"
            router.cmd(f"rm -f {path}")
            router.cmd(f"dumpcap -q -i {name}-eth0 -f 'tcp port 179' -w {path} "
                       f"> /dev/null 2>&1 & echo $! > {path}.pid")
            self.files[name] = path
        for name in self.peers:  # dumpcap writes its header once it captures
            router = tgen.gears[name]
            router.cmd(f"for i in $(seq 50); do [ -s {self.files[name]} ] && break; sleep 0.1; done")
        self.marks = {}

    def mark(self, label):
        """Remembers the time of an event (e.g. the kill) for summary(since=)."""
        self.marks[label] = time.time()

    def stop(self):
        """Stops every capture and waits until dumpcap has written it all."""
        for name, path in self.files.items():
            self.tgen.gears[name].cmd(
                f"pid=$(cat {path}.pid); kill -INT $pid 2>/dev/null; "
                f"for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done")

    def keep(self, directory, label):
        """Copies the captures, as <label>-<peer>.pcap (e.g. into the test's
        log folder, on failure)."""
        kept = []
        for name, path in self.files.items():
            dest = f"{directory}/{label}-{name}.pcap"
            if subprocess.run(["cp", path, dest], check=False).returncode == 0:
                kept.append(dest)
        return kept

    def count(self, name, display_filter):
        """Frames of one peer's capture that match a tshark display filter."""
        return self._count(self.files[name], display_filter)

    def _count(self, path, display_filter):
        out = tshark("-r", path, "-Y", display_filter)
        return len([line for line in out.splitlines() if line.strip()])

    def _r1_streams(self, path):
        """r1's side of every TCP connection in the capture, as bytes."""
        return [(sid, data) for sid, host, data in self._streams(path) if host in self.r1]

    def _streams(self, path):
        """Both sides of every TCP connection in the capture: (stream,
        sender's address, bytes), as TCP delivered them (tshark's follow)."""
        streams = set(tshark("-r", path, "-T", "fields", "-e", "tcp.stream").split())
        result = []
        for sid in sorted(streams, key=int):
            out = tshark("-r", path, "-q", "-z", f"follow,tcp,raw,{sid}")
            nodes, chunks = {}, {0: [], 1: []}
            for line in out.splitlines():
                if line.startswith("Node 0:") or line.startswith("Node 1:"):
                    nodes[int(line[5])] = line.split(":", 1)[1].strip()
                elif line.startswith("===") or not line.strip() or line.startswith("Follow") \
                        or line.startswith("Filter"):
                    continue
                else:
                    side = 1 if line.startswith("\t") else 0
                    chunks[side].append(bytes.fromhex(line.strip()))
            for side, addr in nodes.items():
                host = addr.rsplit(":", 1)[0].strip("[]")
                result.append((sid, host, b"".join(chunks[side])))
        return result

    def malformed_frames(self, name):
        """The frames tshark reports an error in, besides the one it gets
        wrong: each with its errors, where it lies in its stream and the
        BGP messages (as the stream frames) that its bytes belong to."""
        path = self.files[name]
        names = ["frame.number", "frame.time_epoch", "tcp.stream", "ip.src", "ipv6.src",
                 "tcp.seq_raw", "tcp.len", "_ws.expert.severity", "_ws.expert.message",
                 "_ws.col.Info"]
        found = []
        for row in fields(path, "_ws.malformed || _ws.expert.severity == error", names):
            errors = [m for sev, m in zip(row["_ws.expert.severity"], row["_ws.expert.message"])
                      if int(sev) == PI_ERROR and not forgiven(m)]
            if errors:
                found.append({"frame": int(row["frame.number"][0]),
                              "time": float(row["frame.time_epoch"][0]),
                              "stream": row["tcp.stream"][0],
                              "src": (row["ip.src"] or row["ipv6.src"])[0],
                              "seq_raw": int(row["tcp.seq_raw"][0]),
                              "len": int(row["tcp.len"][0]), "errors": errors,
                              "info": row["_ws.col.Info"][0] if row["_ws.col.Info"] else ""})
        if not found:
            return found
        # Where each sender's bytes start in sequence space: after its SYN
        # when the capture has it, else its lowest sequence number seen.
        base = {}
        for row in fields(path, "tcp", ["tcp.stream", "ip.src", "ipv6.src", "tcp.flags.syn",
                                        "tcp.seq_raw", "tcp.len"]):
            key = (row["tcp.stream"][0], (row["ip.src"] or row["ipv6.src"])[0])
            seq, syn = int(row["tcp.seq_raw"][0]), row["tcp.flags.syn"][0] in ("1", "True")
            if syn:
                base[key] = ("syn", (seq + 1) % 2**32)
            elif int(row["tcp.len"][0]) > 0 and base.get(key, ("", 0))[0] != "syn":
                base[key] = ("data", min(seq, base.get(key, ("", seq))[1]))
        streams = {(sid, host): data for sid, host, data in self._streams(path)}
        for f in found:
            data = streams.get((f["stream"], f["src"]), b"")
            first = base.get((f["stream"], f["src"]), ("", f["seq_raw"]))[1]
            at = (f["seq_raw"] - first) % 2**32
            f["stream_offset"] = at
            f["messages"] = [
                {"offset": off, "type": mtype, "length": length,
                 "head": data[off + 19:off + min(length, 19 + 48)].hex()}
                for off, mtype, length in bgp_messages(data)
                if off < at + max(f["len"], 1) and off + length > at]
            f["stream_framing"] = frame_bgp_stream(data)[1]
        return found

    def first_from_r1_after(self, name, mark):
        """Seconds from a mark to r1's first TCP payload on each connection."""
        src = " || ".join(f"{'ipv6' if ':' in a else 'ip'}.src == {a}" for a in self.r1)
        out = tshark("-r", self.files[name], "-Y",
                     f"({src}) && tcp.len > 0 && frame.time_epoch >= {self.marks[mark]}",
                     "-T", "fields", "-e", "tcp.stream", "-e", "frame.time_epoch")
        first = {}
        for line in out.splitlines():
            sid, when = line.split("\t")
            first.setdefault(sid, float(when) - self.marks[mark])
        return {sid: round(t, 3) for sid, t in sorted(first.items())}

    def summary(self, name, since=None):
        """Counts in one peer's capture (frames), from `since` (a mark) on."""
        path = self.files[name]
        src = " || ".join(f"{'ipv6' if ':' in a else 'ip'}.src == {a}" for a in self.r1)
        when = f" && frame.time_epoch >= {self.marks[since]}" if since else ""
        streams = self._streams(path)
        framing = [(sid, *frame_bgp_stream(data)) for sid, host, data in streams
                   if host in self.r1]
        peer_framing = [(sid, *frame_bgp_stream(data)) for sid, host, data in streams
                        if host not in self.r1]
        malformed = self.malformed_frames(name)
        summary = {
            "frames": self._count(path, "tcp"),
            "fin_or_rst_from_r1": self._count(
                path, f"({src}) && (tcp.flags.fin == 1 || tcp.flags.reset == 1){when}"),
            "malformed": len(malformed),
            "notifications": self._count(path, f"bgp.type == 3{when}"),
            "bgp_messages_from_r1": sum(n for _, n, _ in framing),
            "framing_problems": [(sid, p) for sid, _, p in framing if p],
        }
        if malformed:  # what a failure needs to name the message
            summary["malformed_frames"] = malformed
            summary["peer_framing_problems"] = [(sid, p) for sid, _, p in peer_framing if p]
            summary["tcp_anomalies"] = self._count(
                path, "tcp.analysis.lost_segment || tcp.analysis.retransmission || "
                      "tcp.analysis.out_of_order || tcp.analysis.ack_lost_segment")
        return summary
