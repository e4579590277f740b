"""A program that uses the Python client as a program would, for tests/e2e/python_client.rs: it
serves an API on loopback (http.server) that accepts a bearer only when the OpenID provider's
userinfo does, and refuses the first token it is ever sent (as a server would a token revoked
behind the client's back), then calls it twice with the client named on the command line.

    python ask.py httpx|httpx-async|requests ACCOUNT ISSUER

Prints one JSON line: the statuses the program saw, and the tokens the server saw in order.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List

import keyport

client_kind, account, issuer = sys.argv[1:4]
seen: List[str] = []


class Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        header = self.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        first = not seen
        seen.append(token)
        status = 401 if first or not valid_at_provider(token) else 200
        body = json.dumps({"status": status}).encode()
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def valid_at_provider(token: str) -> bool:
    request = urllib.request.Request(f"{issuer}/me", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status == 200
    except urllib.error.HTTPError:
        return False


server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/api"

statuses: List[int] = []
if client_kind == "httpx":
    import httpx

    import keyport.httpx

    with httpx.Client(auth=keyport.httpx.KeyportAuth(account)) as http:
        statuses = [http.get(url).status_code for _ in range(2)]
elif client_kind == "httpx-async":
    import httpx

    import keyport.httpx

    async def main() -> List[int]:
        async with httpx.AsyncClient(auth=keyport.httpx.KeyportAuth(account)) as http:
            return [(await http.get(url)).status_code for _ in range(2)]

    statuses = asyncio.run(main())
elif client_kind == "requests":
    import requests

    import keyport.requests

    with requests.Session() as http:
        http.auth = keyport.requests.KeyportAuth(account)
        statuses = [http.get(url, timeout=30).status_code for _ in range(2)]
else:
    sys.exit(f"unknown client {client_kind!r}")

server.shutdown()
print(json.dumps({"statuses": statuses, "seen": seen, "module": keyport.__file__}))
