#!/usr/bin/env python3
"""A stand-in for a Kubernetes API server, for kubectl's exec credential tests: HTTPS on loopback
with the certificate and key named in the environment (CERT, KEY), answering the pod list of the
default namespace only when the bearer token is the one the test put in the file TOKEN_FILE (read
again at every request). Every other request, or another bearer, gets the 401 a cluster sends.
Announces {"port": N} on its first line of stdout; records each bearer's verdict on stderr."""

import json
import os
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PODS = "/api/v1/namespaces/default/pods"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.environ["TOKEN_FILE"]) as f:
            expected = f.read().strip()
        auth = self.headers.get("Authorization", "")
        ok = bool(expected) and auth == "Bearer " + expected and self.path.split("?")[0] == PODS
        sys.stderr.write(("accepted" if ok else "refused") + " " + self.path + "\n")
        sys.stderr.flush()
        if ok:
            body = {"kind": "PodList", "apiVersion": "v1", "metadata": {},
                    "items": [{"metadata": {"name": "checked-by-bearer", "namespace": "default"}}]}
            self.answer(200, body)
        else:
            self.answer(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                              "message": "Unauthorized", "reason": "Unauthorized", "code": 401})

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(os.environ["CERT"], os.environ["KEY"])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(json.dumps({"port": server.server_address[1]}), flush=True)
server.serve_forever()
