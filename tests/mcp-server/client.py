#!/usr/bin/env python3
"""A real MCP client for Keyport's end-to-end tests: the official Python SDK's stdio client,
spawning the command given on our command line (`keyport mcp <url>`) as its local MCP server, as
Claude Desktop or any MCP client would. It initializes, lists the tools, calls `whoami`, waits
PAUSE seconds (past a token's expiry, say) and calls it again, then EXTRA_TOOL if set (one that
needs more scopes, say), then prints one JSON line:
{"tools": [...], "calls": [<whoami text>, ...]}. Errors go to stderr with exit code 1.
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
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
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
    print(json.dumps({"tools": tools, "calls": calls}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
