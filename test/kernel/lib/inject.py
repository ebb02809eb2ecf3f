#!/usr/bin/env python3
# Raw AF_PACKET frame writer for the kernel harness: sends frames, in order, each on its own veth end,
# the ends living in different network namespaces. Used instead of tcpreplay when a capture enters the
# router on more than one interface (tcpreplay keeps order only within one interface).
#
# usage: inject.py FRAMES_FILE GAP_US NS:IFNAME [NS:IFNAME...]
# FRAMES_FILE: records of  u8 socket index, u32 big-endian length, frame bytes.
# Prints one JSON line: {"sent": N, "errors": N, "per_socket": [..]}.
import ctypes, json, os, socket, struct, sys, time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)

def open_in(ns, ifname):
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # protocol 0: send only, receive nothing
    s.bind((ifname, 0))
    return s

def main():
    path, gap_us, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    socks = [open_in(*t.split(":", 1)) for t in targets]
    data = open(path, "rb").read()
    off, sent, errors = 0, 0, 0
    per = [0] * len(socks)
    while off < len(data):
        idx, n = struct.unpack_from(">BI", data, off)
        off += 5
        frame = data[off:off + n]
        off += n
        try:
            socks[idx].send(frame)
            sent += 1
            per[idx] += 1
        except OSError as e:
            errors += 1
            print(f"send failed: {e}", file=sys.stderr)
        if gap_us:
            time.sleep(gap_us / 1e6)
    print(json.dumps({"sent": sent, "errors": errors, "per_socket": per}))

if __name__ == "__main__":
    main()
