#!/usr/bin/env python3
"""A worker for the readiness tests: sends READY=1 to NOTIFY_SOCKET after READY_DELAY seconds.

REPORT_DIR            where notify-GEN (the NOTIFY_SOCKET it got) and pid-GEN go
READY_DELAY           seconds before READY=1 (default 1)
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
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
if gen in os.environ.get("FAIL_GENERATIONS", "").split(","):
    sys.exit(1)
time.sleep(float(os.environ.get("READY_DELAY", "1")))
if gen not in os.environ.get("SILENT_GENERATIONS", "").split(","):
    send = ("import socket,os; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
            "s.sendto(b'STATUS=up\\nREADY=1', os.environ['NOTIFY_SOCKET'])")
    if os.environ.get("VIA_CHILD"):
        # The child lingers after sending: start_server checks the sender's ancestry when the datagram arrives, and a
        # sender that has already exited (and been reaped) can no longer be traced to this worker.
        subprocess.Popen([sys.executable, "-c", send + "; import time; time.sleep(5)"])
    else:
        exec(send)
while True:
    time.sleep(60)
