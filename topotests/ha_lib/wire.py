"""What crossed the wire: packet captures on peer routers, read with tshark.

Debian's wireshark does not know RFC 8654 extended messages (UPDATEs longer
than 4096 bytes, which FRR peers negotiate) and flags them as malformed; so
besides tshark's verdict on everything else, each of r1's byte streams is
cut into BGP messages here: every message must have the marker, a length
of 19 to 65535 and a known type, back to back. A byte sent twice, lost, or
a message cut short breaks that framing.
"""
import subprocess
import time

BGP_TYPES = {1, 2, 3, 4, 5}


def tshark(*args):
    return subprocess.run(["tshark", "-n", *args], capture_output=True, text=True,
                          check=True).stdout


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
        for name, path in self.files.items():
            self.tgen.gears[name].cmd(f"kill -INT $(cat {path}.pid) 2>/dev/null; sleep 0.3")

    def _count(self, path, display_filter):
        out = tshark("-r", path, "-Y", display_filter)
        return len([line for line in out.splitlines() if line.strip()])

    def _r1_streams(self, path):
        """r1's side of every TCP connection in the capture, as bytes."""
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
                if host in self.r1:
                    result.append((sid, b"".join(chunks[side])))
        return result

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
        framing = [(sid, *frame_bgp_stream(data)) for sid, data in self._r1_streams(path)]
        return {
            "frames": self._count(path, "tcp"),
            "fin_or_rst_from_r1": self._count(
                path, f"({src}) && (tcp.flags.fin == 1 || tcp.flags.reset == 1){when}"),
            "malformed": self._count(
                path, "(_ws.malformed || _ws.expert.severity == error) && "
                      "!(_ws.expert.message contains \"Length is invalid\")"),
            "notifications": self._count(path, f"bgp.type == 3{when}"),
            "bgp_messages_from_r1": sum(n for _, n, _ in framing),
            "framing_problems": [(sid, p) for sid, _, p in framing if p],
        }
