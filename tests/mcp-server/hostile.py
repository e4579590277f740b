#!/usr/bin/env python3
"""Hostile MCP servers for Keyport's end-to-end tests: what a server may send that an honest one
never would, so that the tests can show Keyport stays safe and within bounds. Kept apart from
server.py (the honest server), which it reuses where the SDK can misbehave enough.

HOSTILE=names: server.py (every one of its options applies), whose protected resource metadata
names the resource `resource_name` = RESOURCE_NAME below and whose `serverInfo` name is
SERVER_NAME=escapes (text wrapped in escapes) or SERVER_NAME=nothing (control characters only,
so that a client has nothing usable from it and falls back on `resource_name`). Both carry ESC,
BEL and line breaks: a terminal that receives them raw retitles its window, clears its screen and
shows forged lines.

HOSTILE=streams: a Streamable HTTP MCP server written by hand on http.server (the SDK cannot be
made to stream like this), which needs no sign-in. It answers `initialize` (with a session),
`tools/list` (one tool, `whoami`) and `tools/call`:
  * BLANK_BYTES=N: a `tools/call` is answered with an event stream of N bytes of blank events
    (`\n\n`, which carry nothing; written 1 MiB at a time) before the answer, whose text says
    how many bytes came first;
  * FLOOD_BYTES=N: the session's GET stream sends N bytes of `notifications/message` events of
    64 KiB each, as fast as the connection takes them; GET /test/stats says how many bytes were
    written so far (`flood_sent`) and whether all were (`flood_done`): a client whose reader
    holds back stops the writes.

Once listening it prints one JSON line on stdout, as server.py does:
  {"url": "http://127.0.0.1:PORT/mcp", "issuer": "http://127.0.0.1:PORT/"}
"""

import asyncio
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# A window title, a cleared screen, the cursor sent home, and a line that reads like Keyport's.
RESOURCE_NAME = "Acme\x1b]0;owned\x07 Tickets\x1b[2J\x1b[H\nkeyport: Connected evil\r\x1b[0m"
SERVER_NAMES = {
    "escapes": "Acme\x1b[31m Desk\x07\nkeyport: forged\x1b]0;owned\x07",
    "nothing": "\x1b\x07\n\r\x1b",
}


class ResourceName:
    """ASGI wrapper: the protected resource metadata the SDK serves, with `resource_name` added."""

    def __init__(self, app, name: str):
        self.app, self.name = app, name

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/.well-known/oauth-protected-resource"):
            return await self.app(scope, receive, send)
        sent, body = [], bytearray()

        async def capture(message):
            sent.append(message)
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        if sent[0].get("status") != 200:
            for message in sent:
                await send(message)
            return
        document = json.loads(body)
        document["resource_name"] = self.name
        payload = json.dumps(document).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def names() -> None:
    """server.py, with hostile names in its metadata and its serverInfo."""
    import server

    server_name = SERVER_NAMES[os.environ.get("SERVER_NAME", "escapes")]

    class Named(server.MCPServer):
        def __init__(self, name=None, *args, **kwargs):
            super().__init__(server_name, *args, **kwargs)

    server.MCPServer = Named
    honest_build = server.build_app

    def build_app(port: int):
        app, issuer, resource = honest_build(port)
        return ResourceName(app, RESOURCE_NAME), issuer, resource

    server.build_app = build_app
    asyncio.run(server.main())


STREAM_STATS = {"blank_sent": 0, "flood_sent": 0, "flood_done": False}


class Streams(BaseHTTPRequestHandler):
    """HOSTILE=streams: the MCP endpoint at /mcp, and /test/stats."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        message = json.loads(self.rfile.read(length) or b"{}")
        if "id" not in message:
            return self.send_body(202, b"", "application/json")
        method, id = message.get("method"), message["id"]
        if method == "initialize":
            version = (message.get("params") or {}).get("protocolVersion", "2025-11-25")
            result = {
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "hostile-streams", "version": "1"},
            }
            return self.send_body(200, answer(id, result), "application/json", session="hostile-1")
        if method == "tools/list":
            tool = {"name": "whoami", "inputSchema": {"type": "object", "properties": {}}}
            return self.send_body(200, answer(id, {"tools": [tool]}), "application/json")
        if method == "tools/call":
            return self.blanks_then_answer(id)
        error = {"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no such method"}}
        return self.send_body(200, json.dumps(error).encode(), "application/json")

    def do_GET(self):
        if self.path == "/test/stats":
            return self.send_body(200, json.dumps(STREAM_STATS).encode(), "application/json")
        flood = int(os.environ.get("FLOOD_BYTES", "0"))
        if self.path != "/mcp" or not flood:
            return self.send_body(405, b"", "text/plain")
        self.start_stream()
        note = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x" * 65536}}
        event = b"data: " + json.dumps(note).encode() + b"\n\n"
        try:
            while STREAM_STATS["flood_sent"] < flood:
                self.chunk(event)
                STREAM_STATS["flood_sent"] += len(event)
            STREAM_STATS["flood_done"] = True
            self.chunk(b"")
        except OSError:
            pass  # the client went away

    def blanks_then_answer(self, id):
        blanks = int(os.environ.get("BLANK_BYTES", "0"))
        self.start_stream()
        piece = b"\n\n" * (512 * 1024)
        try:
            while STREAM_STATS["blank_sent"] < blanks:
                part = piece[: blanks - STREAM_STATS["blank_sent"]]
                self.chunk(part)
                STREAM_STATS["blank_sent"] += len(part)
            said = {"content": [{"type": "text", "text": f"answered after {blanks} bytes of blank events"}]}
            self.chunk(b"data: " + answer(id, said) + b"\n\n")
            self.chunk(b"")
        except OSError:
            pass

    def send_body(self, status, body, kind, session=None):
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        if session:
            self.send_header("mcp-session-id", session)
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def chunk(self, data: bytes):
        """One HTTP/1.1 chunk (the empty one ends the body)."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def answer(id, result) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": id, "result": result}).encode()


def streams() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "0"))), Streams)
    httpd.daemon_threads = True
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    print(json.dumps({"url": f"{base}/mcp", "issuer": f"{base}/"}), flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    mode = os.environ.get("HOSTILE")
    if mode == "names":
        names()
    elif mode == "streams":
        streams()
    else:
        raise SystemExit(f"HOSTILE={mode!r}: expected names or streams")
