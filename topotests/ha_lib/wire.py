"""What crossed the wire: packet captures on peer routers, read with tshark."""
import subprocess


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

    def stop(self):
        for name, path in self.files.items():
            self.tgen.gears[name].cmd(f"kill -INT $(cat {path}.pid) 2>/dev/null; sleep 0.3")

    def _count(self, path, display_filter):
        out = subprocess.run(["tshark", "-n", "-r", path, "-Y", display_filter],
                             capture_output=True, text=True, check=True).stdout
        return len([line for line in out.splitlines() if line.strip()])

    def summary(self, name):
        """Counts in one peer's capture (frames)."""
        path = self.files[name]
        src = " || ".join(f"{'ipv6' if ':' in a else 'ip'}.src == {a}" for a in self.r1)
        return {
            "frames": self._count(path, "tcp"),
            "fin_or_rst_from_r1": self._count(path, f"({src}) && (tcp.flags.fin == 1 || tcp.flags.reset == 1)"),
            "malformed": self._count(path, "_ws.malformed || _ws.expert.severity == error"),
            "notifications": self._count(path, "bgp.type == 3"),
            "bgp_messages_from_r1": self._count(path, f"({src}) && bgp"),
        }
