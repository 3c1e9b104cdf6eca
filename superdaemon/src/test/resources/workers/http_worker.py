#!/usr/bin/env python3
"""A small HTTP/1.1 worker for the upgrade tests: keep-alive, answers / with "generation=G pid=P", exits on TERM."""
import os, signal, socket, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

address, fd = os.environ["SERVER_STARTER_PORT"].split(";")[0].rsplit("=", 1)
listener = socket.socket(fileno=int(fd))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("generation=%s pid=%d\n" % (os.environ["SERVER_STARTER_GENERATION"], os.getpid())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        pass  # the socket is start_server's, already bound and listening

    def server_activate(self):
        pass


server = Server(listener.getsockname(), Handler, bind_and_activate=False)
server.socket.close()
server.socket = listener
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
server.serve_forever()
