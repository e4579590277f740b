#!/usr/bin/env python3
"""The official Python SDK's newest client (`mcp.client.client.Client`, MCP 2026-07-28 by default)
spawning the command on our command line (`keyport mcp <url>`) as its stdio MCP server.

MODE is the client's `mode`: `auto` (its default: `server/discover`, falling back to `initialize`),
`2026-07-28` (that revision, no probe) or `legacy` (the `initialize` handshake). It lists the tools,
calls `whoami`, waits PAUSE seconds, calls it again, then TOOL with ARGS (JSON) if set; with
CANCEL=<tool>, it then calls that tool and gives up on it after a second (the SDK tells the server:
`notifications/cancelled`, or at 2026-07-28 closing the request), then, a second later, calls
`cancelled_so_far` (how many calls the server saw cancelled); it
prints one JSON line: {"protocol": <negotiated version>, "tools": [...], "calls": [<text>, ...]}
("cancelled" in place of the given-up call's text). A tool
answering with an error, a call not answered within 60 s, or any failure, goes to stderr with exit
code 1.
"""

import asyncio
import json
import os
import sys

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters


async def main() -> None:
    command, *args = sys.argv[1:]
    # The SDK starts a stdio server with a minimal environment: tests run a private session bus.
    server = StdioServerParameters(command=command, args=args, env=dict(os.environ))
    mode = os.environ.get("MODE", "auto")
    pause = float(os.environ.get("PAUSE", "0"))
    async with Client(server, mode=mode) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        calls = []
        wanted = [("whoami", {}), ("whoami", {})]
        if os.environ.get("TOOL"):
            wanted.append((os.environ["TOOL"], json.loads(os.environ.get("ARGS", "{}"))))
        for i, (name, arguments) in enumerate(wanted):
            if i == 1:
                await asyncio.sleep(pause)
            # A call that never gets its answer fails the run instead of hanging it.
            result = await asyncio.wait_for(client.call_tool(name, arguments), 60)
            if result.is_error:
                raise SystemExit(f"{name} failed: {result.content}")
            calls.append(result.content[0].text)
        if os.environ.get("CANCEL"):
            try:
                await asyncio.wait_for(client.call_tool(os.environ["CANCEL"], {}), 1)
                raise SystemExit(f"{os.environ['CANCEL']} answered within a second")
            except asyncio.TimeoutError:
                calls.append("cancelled")
            # The bridge goes on serving after a cancelled request; the server has heard of it
            # by then, while the bridge still runs.
            await asyncio.sleep(1)
            result = await asyncio.wait_for(client.call_tool("cancelled_so_far", {}), 60)
            calls.append(result.content[0].text)
        print(json.dumps({"protocol": client.protocol_version, "tools": tools, "calls": calls}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
