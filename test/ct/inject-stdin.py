#!/usr/bin/env python3
# Persistent frame injector for kernel-tcp.test.ts: opens AF_PACKET sockets on NS:IFNAME targets
# (argv), then reads lines "INDEX HEXFRAME" from stdin, sends each frame on socket INDEX and
# answers "ok" (or "err MESSAGE") on stdout, one line per frame.
import os, sys

# open_in(ns, ifname): the harness's AF_PACKET socket opener (test/kernel/lib/inject.py)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "lib"))
from inject import open_in  # noqa: E402

socks = [open_in(*t.split(":", 1)) for t in sys.argv[1:]]
for line in sys.stdin:
    idx, hexf = line.split()
    try:
        socks[int(idx)].send(bytes.fromhex(hexf))
        print("ok", flush=True)
    except OSError as e:
        print(f"err {e}", flush=True)
