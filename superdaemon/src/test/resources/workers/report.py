#!/usr/bin/env python3
"""A worker for the superdaemon's tests: reports what it inherited, serves its sockets, records signals.

REPORT_DIR       where report-GEN.properties and signals-PID go
FAIL_GENERATIONS comma-separated generations that exit at once with FAIL_STATUS (default 1)
IGNORE_TERM      when set, TERM/INT/USR1 are recorded but do not end the worker
PRINT_EVERY      seconds between "tick" lines on stdout (none when unset)

Like any well-behaved worker it watches SERVER_STARTER_LIFELINE: when start_server is gone, it records LIFELINE
and exits.
"""
import os, signal, socket, sys, threading, time

report_dir = os.environ["REPORT_DIR"]
gen = os.environ.get("SERVER_STARTER_GENERATION", "")
if gen in os.environ.get("FAIL_GENERATIONS", "").split(","):
    sys.exit(int(os.environ.get("FAIL_STATUS", "1")))

def status_field(name):
    for line in open("/proc/self/status"):
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()

fds = {}
for name in sorted(os.listdir("/proc/self/fd"), key=int):
    fd = int(name)
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        continue  # the directory listing's own fd, closed by now
    entry = {"target": target}
    if target.startswith("socket:"):
        s = socket.socket(fileno=os.dup(fd))
        entry["family"] = s.family.name
        entry["type"] = s.type.name
        entry["listening"] = bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
        entry["cloexec"] = bool(os.get_inheritable(fd) is False)
        name_ = s.getsockname()
        entry["address"] = name_ if isinstance(name_, str) else list(name_[:2])
        if s.family == socket.AF_INET6:
            entry["v6only"] = bool(s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
        s.close()
    fds[str(fd)] = entry

report = {
    "pid": os.getpid(), "ppid": os.getppid(), "generation": gen, "cwd": os.getcwd(),
    "env": dict(os.environ), "fds": fds,
    "sigblk": status_field("SigBlk"), "sigign": status_field("SigIgn"),
    "pgid": os.getpgid(0), "sid": os.getsid(0), "umask": os.umask(0o022),
}
flat = {k: v for k, v in report.items() if k not in ("env", "fds")}
flat.update({"env." + k: v for k, v in report["env"].items()})
for fd, entry in report["fds"].items():
    flat.update({"fd.%s.%s" % (fd, k): v for k, v in entry.items()})
flat["fds"] = ",".join(report["fds"].keys())

def escape(text):
    return str(text).replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:").replace(" ", "\\ ")

tmp = os.path.join(report_dir, ".report-%s.tmp" % gen)
with open(tmp, "w") as f:
    for k, v in sorted(flat.items()):
        f.write("%s=%s\n" % (escape(k), escape(v)))
os.rename(tmp, os.path.join(report_dir, "report-%s.properties" % gen))

def record(signum, frame):
    with open(os.path.join(report_dir, "signals-%d" % os.getpid()), "a") as f:
        f.write(signal.Signals(signum).name + "\n")
    if signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1) and not os.environ.get("IGNORE_TERM"):
        os._exit(0)

for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGCONT):
    signal.signal(s, record)

def serve(fd):
    s = socket.socket(fileno=fd)
    if s.type != socket.SOCK_STREAM:
        return
    while True:
        conn, _ = s.accept()
        conn.sendall(("%s %d\n" % (gen, os.getpid())).encode())
        conn.close()

def watch_lifeline(fd):
    while os.read(fd, 512):
        pass  # start_server never writes; only end-of-file matters
    with open(os.path.join(report_dir, "signals-%d" % os.getpid()), "a") as f:
        f.write("LIFELINE\n")
    os._exit(0)

if os.environ.get("SERVER_STARTER_LIFELINE"):
    threading.Thread(target=watch_lifeline, args=(int(os.environ["SERVER_STARTER_LIFELINE"]),), daemon=True).start()

for spec in filter(None, os.environ.get("SERVER_STARTER_PORT", "").split(";")):
    key, fd = spec.split("=", 1)
    threading.Thread(target=serve, args=(int(fd),), daemon=True).start()

every = float(os.environ.get("PRINT_EVERY", "0"))
while True:
    if every:
        print("tick %s %d" % (gen, os.getpid()), flush=True)  # dies of EPIPE when nobody reads stdout any more
    time.sleep(every or 60)
