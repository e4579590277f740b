#!/usr/bin/env python3
"""Per-call latency of an MCP `tools/call` (whoami) against one server, measured three ways in one
run: straight over HTTP with a token (the floor), through a stdio bridge given on the command
line (`keyport mcp <url>`, or `mcp-remote <url> --header …`), and the bridge's resident memory
after the calls (the process and its children). Prints one JSON line:
{"direct_ms": [...], "bridge_ms": [...], "rss_kib": N}.

Usage: MCP_TOKEN=… [REVISION=2026-07-28] bridge_latency.py URL N -- BRIDGE COMMAND…   (the
bridge's stdio is ours; the token comes in the environment, never on a command line)

REVISION=2026-07-28 speaks that revision on both paths: no `initialize` and no session, each
request standing alone with its `_meta` envelope and, over HTTP, its routing headers. Otherwise
the 2025-06-18 handshake and a session.
"""
import json
import os
import subprocess
import sys
import time
import http.client
import urllib.parse

url, n = sys.argv[1], int(sys.argv[2])
token = os.environ["MCP_TOKEN"]
bridge = sys.argv[sys.argv.index("--") + 1 :]


def rpc(i, method, params=None):
    message = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        message["params"] = params
    return message


INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
MODERN = os.environ.get("REVISION") == "2026-07-28"
CALL = {"name": "whoami", "arguments": {}}
if MODERN:
    CALL["_meta"] = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }


def direct():
    """The floor: the same calls from a client that keeps its connection, as an MCP client does."""
    parsed = urllib.parse.urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
    headers = {
        "authorization": f"Bearer {token}",
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
    }

    def post(body, session=None):
        h = dict(headers)
        if session:
            h["mcp-session-id"] = session
        if MODERN:
            h.update({"mcp-protocol-version": "2026-07-28", "mcp-method": body["method"]})
            if body["method"] == "tools/call":
                h["mcp-name"] = body["params"]["name"]
        connection.request("POST", parsed.path, body=json.dumps(body), headers=h)
        response = connection.getresponse()
        data = response.read()
        if response.status >= 300:
            raise SystemExit(f"straight HTTP got {response.status}: {data[:200]}")
        return response.getheader("mcp-session-id"), data

    session = None
    if not MODERN:
        session, _ = post(rpc(1, "initialize", INIT))
        post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    times = []
    for i in range(n):
        start = time.perf_counter()
        post(rpc(10 + i, "tools/call", CALL), session)
        times.append((time.perf_counter() - start) * 1000)
    return times


def through_bridge():
    process = subprocess.Popen(bridge, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def send(message):
        process.stdin.write((json.dumps(message) + "\n").encode())
        process.stdin.flush()

    def answer(i):
        while True:
            line = process.stdout.readline()
            if not line:
                raise SystemExit("the bridge ended")
            try:
                got = json.loads(line)
            except ValueError:
                continue
            if got.get("id") == i:
                return got

    if not MODERN:
        send(rpc(1, "initialize", INIT))
        answer(1)
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    times = []
    for i in range(n):
        start = time.perf_counter()
        send(rpc(10 + i, "tools/call", CALL))
        got = answer(10 + i)
        times.append((time.perf_counter() - start) * 1000)
        if "error" in got:
            raise SystemExit(f"the bridge answered an error: {got}")
    rss = rss_kib(process.pid)
    process.stdin.close()
    process.wait(timeout=10)
    return times, rss


def rss_kib(pid):
    """The resident memory of `pid` and its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (OSError, StopIteration):
            pass
    return total


direct_ms = direct()
bridge_ms, rss = through_bridge()
print(json.dumps({"direct_ms": direct_ms, "bridge_ms": bridge_ms, "rss_kib": rss}))
