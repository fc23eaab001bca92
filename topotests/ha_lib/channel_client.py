#!/usr/bin/env python3
"""
A misbehaving partner for the HA channel: connects to an RP's unix socket and
sends one kind of bad input, then reports how the RP answered.

    channel_client.py SOCKET CASE

CASE is one of: garbage, oversized, version, truncated, silent.
Prints "closed after N bytes from the RP" or "still open".
"""
import socket
import struct
import sys
import time

MAGIC = b"\xfa\x4a"
VERSION = 1
CONTROL = 1


def header(length, version=VERSION, ftype=CONTROL):
    return MAGIC + bytes([version, ftype]) + struct.pack(">I", length)


CASES = {
    # An HTTP request is not an HA frame.
    "garbage": lambda: b"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
    # A header announcing 16 MiB: refused before any payload.
    "oversized": lambda: header(16 << 20),
    # A frame of another protocol version.
    "version": lambda: header(0, version=VERSION + 1),
    # Half a frame, then EOF.
    "truncated": lambda: header(100) + b"x" * 10,
    # Nothing at all.
    "silent": lambda: b"",
}


def main():
    path, case = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    payload = CASES[case]()
    if payload:
        sock.sendall(payload)
    if case == "truncated":
        sock.shutdown(socket.SHUT_WR)
    sock.settimeout(0.2)
    received = 0
    deadline = time.time() + 3
    while time.time() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            data = b""
        if not data:
            print(f"closed after {received} bytes from the RP")
            return 0
        received += len(data)
    print("still open")
    return 0


if __name__ == "__main__":
    sys.exit(main())
