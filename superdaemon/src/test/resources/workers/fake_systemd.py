#!/usr/bin/env python3
"""Plays systemd for start_server: binds the sockets of socket activation and execs the program with them.

usage: fake_systemd.py NOTIFY_SOCKET TCP_PORT UNIX_PATH -- program args...
The TCP socket (127.0.0.1:TCP_PORT) lands on fd 3 and the unix socket on fd 4, with LISTEN_FDS=2 and LISTEN_PID set
to this pid, which exec keeps.
"""
import os, socket, sys

notify, port, path = sys.argv[1:4]
argv = sys.argv[sys.argv.index("--") + 1:]
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", int(port)))
tcp.listen(64)
unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unix.bind(path)
unix.listen(64)
# Through high numbers first, so that neither socket is clobbered on its way to 3 and 4.
os.dup2(tcp.fileno(), 20)
os.dup2(unix.fileno(), 21)
os.dup2(20, 3)
os.dup2(21, 4)
for fd in (3, 4):
    os.set_inheritable(fd, True)
env = dict(os.environ, LISTEN_FDS="2", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="web:admin",
           NOTIFY_SOCKET=notify)
os.execvpe(argv[0], argv, env)
