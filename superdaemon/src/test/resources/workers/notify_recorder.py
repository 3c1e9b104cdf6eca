#!/usr/bin/env python3
"""Plays systemd's notification socket: records every datagram as 'PID MESSAGE' (line breaks as '|').

usage: notify_recorder.py SOCKET_PATH OUTPUT_FILE
"""
import os, socket, struct, sys

path, output = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
with open(output + ".ready", "w"):
    pass
while True:
    data, ancillary, flags, address = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = 0
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
    with open(output, "a") as f:
        f.write("%d %s\n" % (pid, data.decode().replace("\n", "|")))
