#!/usr/bin/env python3
"""An MCP server that is never satisfied, for Keyport's end-to-end tests of step-ups: built on the
official Python SDK (its authorization server, with server.py's auto-approving provider), it
answers every request that carries a valid token with 403 `insufficient_scope`, naming a scope it
never asked for before (`s1`, `s2`, …), as the MCP spec's step-up would, without end. A request
without a token gets the SDK's own 401.

Its authorization server lists the scopes it may ask for (`s1` … `s30`) in its metadata, and
registers clients for them only (the SDK checks a registration's scopes, and an authorization
request's scopes against the client's registration).

GET /test/stats: {"registrations": n, "authorizations": n, "asked": n (403s sent)}.
Once listening it prints one JSON line on stdout: {"url": "http://127.0.0.1:PORT/mcp"}
"""

import asyncio
import json
import os
import socket
import sys

import uvicorn
from starlette.responses import JSONResponse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import STATS, AutoApproveProvider  # noqa: E402  (beside us)

from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402

HOST = "127.0.0.1"
SCOPES = [f"s{n}" for n in range(1, 31)]
ASKED = {"count": 0}


def build(port: int):
    origin = f"http://{HOST}:{port}/"
    resource = f"{origin}mcp"
    provider = AutoApproveProvider(resource, origin)
    mcp = MCPServer(
        "never-enough",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=origin,
            resource_server_url=resource,
            validate_token_resource=True,
            client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=SCOPES),
            revocation_options=RevocationOptions(enabled=True),
        ),
        log_level="WARNING",
    )

    @mcp.tool()
    def whoami() -> str:
        """Never reached with a token."""
        return "unreachable"

    inner = mcp.streamable_http_app(host=HOST, json_response=True)
    metadata = f"{origin}.well-known/oauth-protected-resource/mcp"

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/test/stats":
            stats = {
                "registrations": STATS["registrations"],
                "authorizations": STATS["authorizations"],
                "asked": ASKED["count"],
            }
            return await JSONResponse(stats)(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == "/mcp":
            header = dict(scope["headers"]).get(b"authorization", b"").decode()
            token = await provider.load_access_token(header.removeprefix("Bearer ").strip())
            if token is not None:
                ASKED["count"] += 1
                wanted = SCOPES[(ASKED["count"] - 1) % len(SCOPES)]
                challenge = f'Bearer error="insufficient_scope", scope="{wanted}", resource_metadata="{metadata}"'
                answer = JSONResponse({"error": "insufficient_scope"}, status_code=403, headers={"WWW-Authenticate": challenge})
                return await answer(scope, receive, send)
        await inner(scope, receive, send)

    return app, resource


async def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, int(os.environ.get("PORT", "0"))))
    app, resource = build(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning"))

    async def announce():
        while not server.started:
            await asyncio.sleep(0.01)
        print(json.dumps({"url": resource}), flush=True)

    announcer = asyncio.create_task(announce())
    await server.serve(sockets=[sock])
    announcer.cancel()


if __name__ == "__main__":
    asyncio.run(main())
