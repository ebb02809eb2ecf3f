#!/usr/bin/env python3
# Turn off TX checksum offload on the given interfaces of the current namespace (what `ethtool -K IF
# tx off` does, without needing ethtool): packets the router's own stack sends on a veth otherwise
# carry CHECKSUM_PARTIAL placeholders in the capture instead of the checksum a real NIC would put on
# the wire. ETHTOOL_STXCSUM through SIOCETHTOOL.
import ctypes, fcntl, socket, struct, sys

SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x16
ETHTOOL_STXCSUM = 0x17

def ethtool(sock, ifname, cmd, data=0):
    ev = ctypes.create_string_buffer(struct.pack("II", cmd, data))
    ifr = struct.pack("16sP", ifname.encode(), ctypes.addressof(ev)) + b"\0" * 16
    fcntl.ioctl(sock, SIOCETHTOOL, ifr)
    return struct.unpack("II", ev.raw[:8])[1]

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for name in sys.argv[1:]:
    ethtool(s, name, ETHTOOL_STXCSUM, 0)
    if ethtool(s, name, ETHTOOL_GTXCSUM) != 0:
        sys.exit(f"tx checksum offload still on for {name}")
