#!/usr/bin/env python3
"""Two MCP servers on one origin, each with an authorization server of its own, for Keyport's
end-to-end tests of which server an account's tokens go to. Built on the official Python SDK, as
server.py is (whose auto-approving provider both use); one process, one port:

  * server A at /mcp: the SDK's resource metadata names the origin's root as its resource
    (`http://127.0.0.1:PORT/`, a prefix of every URL here), its authorization server is the
    origin (`/authorize`, `/token`, `/register`, metadata at /.well-known/oauth-authorization-server);
  * the same server A also at /alt/mcp (another URL of one server: same resource, same
    authorization server);
  * server B at /b/mcp: its own authorization server, issuer `http://127.0.0.1:PORT/b` (metadata at
    /.well-known/oauth-authorization-server/b, endpoints under /b/), and resource metadata at
    /.well-known/oauth-protected-resource/b/mcp that claims the origin's root as well;
  * GET /test/seen: what B was sent: every `Authorization` header of every request routed to B
    (`bearers`), the access tokens B's own authorization server issued (`issued`), and how many
    authorization requests each authorization server got (`authorizations`: {"a": n, "b": n}).

Every tool `whoami` answers JSON naming its server ("a" or "b") and the token's client and resource.
Once listening it prints one JSON line on stdout:
  {"a": ".../mcp", "alt": ".../alt/mcp", "b": ".../b/mcp", "origin": "http://127.0.0.1:PORT/"}
"""

import asyncio
import contextlib
import json
import os
import socket
import sys

import uvicorn
from starlette.responses import JSONResponse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import AutoApproveProvider  # noqa: E402  (the tests' own provider, beside us)

from mcp.server.auth.middleware.auth_context import get_access_token  # noqa: E402
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402

HOST = "127.0.0.1"
SEEN = {"bearers": [], "authorizations": {"a": 0, "b": 0}}


def sdk_server(name: str, provider, issuer: str, resource: str, validate: bool):
    """One MCP server with the SDK's authorization server, whose tool says which server it is."""
    mcp = MCPServer(
        name,
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=issuer,
            resource_server_url=resource,
            validate_token_resource=validate,
            client_registration_options=ClientRegistrationOptions(enabled=True),
            revocation_options=RevocationOptions(enabled=True),
        ),
        log_level="WARNING",
    )

    @mcp.tool()
    def whoami() -> str:
        """Which server this is, and whose token it was called with."""
        token = get_access_token()
        return json.dumps(
            {"server": name, "client_id": token.client_id if token else None, "resource": token.resource if token else None}
        )

    return mcp.streamable_http_app(host=HOST, json_response=True)


def build(port: int):
    origin = f"http://{HOST}:{port}/"
    provider_a = AutoApproveProvider(origin, origin)
    # A's resource is the origin's root: the SDK serves its metadata at the root's well-known URL.
    app_a = sdk_server("a", provider_a, origin, origin, True)
    issuer_b = f"http://{HOST}:{port}/b"
    provider_b = AutoApproveProvider(origin, issuer_b)
    # B's own URL for the SDK, so that its 401 names B's metadata address; the document served
    # there (below) claims the root, as A's does. B's tokens carry that resource.
    app_b = sdk_server("b", provider_b, issuer_b, f"http://{HOST}:{port}/b/mcp", False)
    b_metadata = {"resource": origin, "authorization_servers": [issuer_b]}

    def to(app, scope, path):
        return app, dict(scope, path=path, raw_path=path.encode())

    async def route(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()  # startup
            async with contextlib.AsyncExitStack() as stack:
                for app in (app_a, app_b):
                    await stack.enter_async_context(app.router.lifespan_context(app))
                await send({"type": "lifespan.startup.complete"})
                await receive()  # shutdown
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if path == "/test/seen":
            seen = dict(SEEN, issued=list(provider_b.access))
            return await JSONResponse(seen)(scope, receive, send)
        if path == "/.well-known/oauth-protected-resource/b/mcp":
            app, scope = None, scope
        elif path.startswith("/b/"):
            app, scope = to(app_b, scope, path[len("/b"):])
        elif path == "/.well-known/oauth-authorization-server/b":
            app, scope = to(app_b, scope, "/.well-known/oauth-authorization-server")
        elif path.startswith("/alt/"):
            app, scope = to(app_a, scope, path[len("/alt"):])
        else:
            app = app_a
        if app is not app_a:
            headers = dict(scope["headers"])
            if b"authorization" in headers:
                SEEN["bearers"].append(headers[b"authorization"].decode(errors="replace"))
        if scope["path"] == "/authorize":
            SEEN["authorizations"]["a" if app is app_a else "b"] += 1
        if app is None:
            return await JSONResponse(b_metadata)(scope, receive, send)
        await app(scope, receive, send)

    return route, origin


async def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, int(os.environ.get("PORT", "0"))))
    port = sock.getsockname()[1]
    app, origin = build(port)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on"))

    async def announce():
        while not server.started:
            await asyncio.sleep(0.01)
        urls = {"a": f"{origin}mcp", "alt": f"{origin}alt/mcp", "b": f"{origin}b/mcp", "origin": origin}
        print(json.dumps(urls), flush=True)

    announcer = asyncio.create_task(announce())
    await server.serve(sockets=[sock])
    announcer.cancel()


if __name__ == "__main__":
    asyncio.run(main())
