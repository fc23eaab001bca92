"""Whether a BGP listener answers a TCP-MD5-signed SYN: run inside a
namespace as `python3 md5_probe.py SOURCE DEST KEY` (IPv4); prints
`accepted` or `no answer`. A listener without the key for SOURCE drops a
signed SYN without a word (the kernel's TCPMD5Unexpected)."""
import socket
import struct
import sys

TCP_MD5SIG = 14  # linux/tcp.h


def signed_connect(source, dest, key, port=179, timeout=3):
    s = socket.socket()
    try:
        s.bind((source, 0))
        # struct tcp_md5sig: the peer's sockaddr_storage (128 bytes), flags,
        # prefix length, key length, ifindex, then the key (80 bytes).
        peer = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 0) + socket.inet_aton(dest)
        raw = key.encode()
        sig = peer.ljust(128, b"\0") + struct.pack("=BBHi", 0, 0, len(raw), 0) + raw.ljust(80, b"\0")
        s.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, sig)
        s.settimeout(timeout)
        try:
            s.connect((dest, port))
        except socket.timeout:
            return "no answer"
        return "accepted"
    finally:
        s.close()


if __name__ == "__main__":
    print(signed_connect(sys.argv[1], sys.argv[2], sys.argv[3]))
