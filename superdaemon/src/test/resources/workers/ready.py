#!/usr/bin/env python3
"""A worker for the readiness tests: sends READY=1 to NOTIFY_SOCKET after READY_DELAY seconds.

REPORT_DIR            where notify-GEN (the NOTIFY_SOCKET it got) and pid-GEN go
READY_DELAY           seconds before READY=1 (default 1)
READY_DELAYS          per generation, overriding READY_DELAY: GEN:SECONDS,...
IGNORE_TERM           when set, TERM does not end the worker
SILENT_GENERATIONS    generations that never send READY=1
FAIL_GENERATIONS      generations that exit with status 1 before sending anything
VIA_CHILD             when set, READY=1 is sent by a child process of the worker
"""
import os, signal, socket, subprocess, sys, time

gen = os.environ.get("SERVER_STARTER_GENERATION", "")
report_dir = os.environ["REPORT_DIR"]
with open(os.path.join(report_dir, "notify-" + gen), "w") as f:
    f.write(os.environ.get("NOTIFY_SOCKET", ""))
with open(os.path.join(report_dir, "pid-" + gen), "w") as f:
    f.write(str(os.getpid()))
signal.signal(signal.SIGTERM, signal.SIG_IGN if os.environ.get("IGNORE_TERM") else lambda *a: sys.exit(0))
if gen in os.environ.get("FAIL_GENERATIONS", "").split(","):
    sys.exit(1)
delays = dict(d.split(":") for d in os.environ.get("READY_DELAYS", "").split(",") if d)
time.sleep(float(delays.get(gen, os.environ.get("READY_DELAY", "1"))))
if gen not in os.environ.get("SILENT_GENERATIONS", "").split(","):
    # A leading '@' names Linux's abstract namespace (systemd's convention, start_server's choice): a NUL there.
    send = ("import socket,os; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a=os.environ['NOTIFY_SOCKET']; "
            "s.sendto(b'STATUS=up\\nREADY=1', '\\0' + a[1:] if a.startswith('@') else a)")
    if os.environ.get("VIA_CHILD"):
        # The child lingers after sending: start_server checks the sender's ancestry when the datagram arrives, and a
        # sender that has already exited (and been reaped) can no longer be traced to this worker.
        subprocess.Popen([sys.executable, "-c", send + "; import time; time.sleep(5)"])
    else:
        exec(send)
while True:
    time.sleep(60)
