#!/usr/bin/env python3
# Persistent frame injector for kernel-tcp.test.ts: opens AF_PACKET sockets on NS:IFNAME targets
# (argv), then reads lines "INDEX HEXFRAME" from stdin, sends each frame on socket INDEX and
# answers "ok" (or "err MESSAGE") on stdout, one line per frame.
import ctypes, os, socket, sys

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)

def open_in(ns, ifname):
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((ifname, 0))
    return s

socks = [open_in(*t.split(":", 1)) for t in sys.argv[1:]]
for line in sys.stdin:
    idx, hexf = line.split()
    try:
        socks[int(idx)].send(bytes.fromhex(hexf))
        print("ok", flush=True)
    except OSError as e:
        print(f"err {e}", flush=True)
