#!/usr/bin/env python3
"""A real MCP client for Keyport's end-to-end tests: the official Python SDK's stdio client,
spawning the command given on our command line (`keyport mcp <url>`) as its local MCP server, as
Claude Desktop or any MCP client would. It initializes, lists the tools, calls `whoami`, waits
PAUSE seconds (past a token's expiry, say) and calls it again, then EXTRA_TOOL if set (one that
needs more scopes, say), then prints one JSON line:
{"tools": [...], "calls": [<whoami text>, ...], "notifications": [<method>, ...]}. With
WAIT_FOR_NOTIFICATION=method it waits (5 s at most) for a server notification of that method
after the calls. Errors go to stderr with exit code 1.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main() -> None:
    command, *args = sys.argv[1:]
    params = StdioServerParameters(command=command, args=args, env=dict(os.environ))
    pause = float(os.environ.get("PAUSE", "0"))
    notifications = []
    arrived = asyncio.Event()
    wanted = os.environ.get("WAIT_FOR_NOTIFICATION")

    async def on_message(message) -> None:
        # A notification model, or (in some SDK versions) a root model around one.
        method = getattr(message, "method", None) or getattr(getattr(message, "root", None), "method", None)
        if method:
            notifications.append(method)
            if method == wanted:
                arrived.set()

    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            calls = []
            for i in range(2):
                if i:
                    await asyncio.sleep(pause)
                result = await session.call_tool("whoami", {})
                if result.is_error:
                    raise SystemExit(f"whoami failed: {result.content}")
                calls.append(result.content[0].text)
            extra = os.environ.get("EXTRA_TOOL")
            if extra:
                result = await session.call_tool(extra, {})
                if result.is_error:
                    raise SystemExit(f"{extra} failed: {result.content}")
                calls.append(result.content[0].text)
            if wanted:
                try:
                    await asyncio.wait_for(arrived.wait(), 5)
                except asyncio.TimeoutError:
                    pass
    print(json.dumps({"tools": tools, "calls": calls, "notifications": notifications}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
