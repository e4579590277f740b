#!/usr/bin/env python3
"""A small, real MCP server with OAuth for Keyport's end-to-end tests.

Built on the official Python MCP SDK (`mcp`, pinned in requirements.txt), one process serves:
  * the MCP endpoint (Streamable HTTP) at /mcp with one tool, `whoami`, behind bearer auth;
    without a token it answers 401 with `WWW-Authenticate: Bearer ..., resource_metadata="..."`;
  * RFC 9728 protected resource metadata at /.well-known/oauth-protected-resource/mcp;
  * an OAuth 2.1 authorization server made of the SDK's own handlers: RFC 8414 metadata at
    /.well-known/oauth-authorization-server, /register (RFC 7591), /authorize, /token, /revoke,
    backed by the auto-approving in-memory provider below (no login page: /authorize redirects
    straight back to the client with a code);
  * a second tool, `admin_report`, whose calls need the scope `admin` (403 insufficient_scope
    otherwise: the MCP spec's step-up);
  * a third, `notify_later`, that sends `notifications/tools/list_changed` a moment after it
    answers: outside any request, so only a client with the session's GET stream open sees it;
  * GET /test/stats: counters for the tests to assert on; POST /test/forget-clients: every
    registered client forgotten (a restart of a server that keeps them in memory).

Environment: PORT (default 0 = a free port), ACCESS_TTL (access token lifetime in seconds,
default 3600), JSON_RESPONSE=1 (answer POST /mcp with application/json instead of the SDK's
default text/event-stream), LOG_LEVEL (default WARNING; logs go to stderr), PRM_RESOURCE (serve
resource metadata naming this resource instead of our own: a server a client must refuse),
TRANSPORT=sse (the 2024-11-05 HTTP+SSE transport at /sse instead of Streamable HTTP at /mcp),
CIMD=1 (Client ID Metadata Documents taken, one served at /test/client-metadata.json),
ISS_PARAMETER=right|wrong (the metadata promises RFC 9207 `iss` on the authorization answer,
and it carries the issuer, or another one), PRE_REGISTERED="id:secret" (a confidential client
registered out of band, client_secret_post,
its loopback redirect matching on any port), CONFIDENTIAL_REGISTRATIONS=1 (every client registered
gets a client secret and client_secret_post, whatever it asked for), AUTH_SERVER=<issuer URL> (a resource server only:
no /register, /authorize, /token here; the resource metadata names that issuer and the scope
`mcp:tools`, which every token needs; tokens are JWTs the issuer signed with a key from its
metadata's jwks_uri, with `iss` the issuer and `aud` our /mcp URL; `admin_report` needs
`mcp:admin` instead of `admin`; e.g. tests/oidc-server/server.mjs with MCP=1).
AUTH=none (no authorization at all: every request is served without a token), AUTH=late401 or
AUTH=late403 (discovery, `initialize` and `tools/list` are served without a token; a `tools/call`
without one gets 401 with the resource metadata, or 403 `insufficient_scope` naming the scope
`admin`), LEGACY_ISSUER_PATH=/oauth (a 2025-03-26 server: no resource metadata; the metadata at the
origin's /.well-known/oauth-authorization-server names the issuer <origin>/oauth, whose endpoints
live under that path).
ID_JAG_ISSUER=<IdP issuer> (Enterprise-Managed Authorization, SEP-990: the jwt-bearer grant
takes an ID-JAG that IdP signed with a key from <issuer>/test/id-jag-jwks, for our issuer and
resource and for the authenticated client; tokens come without a refresh token, and a PRE_REGISTERED
client may use that grant; /test/stats counts `identity_assertions`).
EVENT_STORE=1 (resumable streams: every event has an id, the priming event says `retry: 300`;
the tool `poll_later` closes its POST's event stream before it answers, as a server that wants to be
polled does, so its answer comes only to a client that resumes with Last-Event-ID; use with
JSON_RESPONSE=0; /test/stats counts `resumed` streams).
KEEP_ALIVE=N (seconds before an idle kept-alive connection is closed; uvicorn's default 5).
The tool `wait_for_cancel` runs for 20 s unless cancelled: /test/stats counts `cancelled_calls` (its
task cancelled, as the SDK does on `notifications/cancelled` or a 2026-07-28 request's closed stream)
and `finished_slow_calls`; the tool `cancelled_so_far` answers the first count.
Every `tools/call` POST is recorded in /test/stats under `tool_call_headers`: its
MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* headers, and whether it carried a session.
The tool `echo_region` takes `region`, declared `x-mcp-header: Region` (2026-07-28: mirrored as the
header `Mcp-Param-Region`, which the SDK checks against the body).
Once listening it prints one JSON line on stdout:
  {"url": "http://127.0.0.1:PORT/mcp", "issuer": "http://127.0.0.1:PORT/"}
(with AUTH_SERVER, "issuer" is that issuer).
"""

import asyncio
import json
import os
import secrets
import socket
import time
from urllib.parse import parse_qs

from typing import Annotated

import jwt
from pydantic import Field
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import (
    TokenError,
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

HOST = "127.0.0.1"
ACCESS_TTL = int(os.environ.get("ACCESS_TTL", "3600"))
LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING").upper()
JSON_RESPONSE = os.environ.get("JSON_RESPONSE") == "1"
SUBJECT = "test-user"  # the (only) resource owner; every authorization is auto-approved for it
# ISS_PARAMETER=right|wrong: the metadata says the authorization answer carries `iss` (RFC 9207),
# and it does: the issuer, or another one (a mix-up a client must refuse). Set in build_app.
ISS_SENT: dict[str, str | None] = {"iss": None}
# CONFIDENTIAL_REGISTRATIONS=1: every registered client gets a secret (client_secret_post).
CONFIDENTIAL_REGISTRATIONS = os.environ.get("CONFIDENTIAL_REGISTRATIONS") == "1"
# AUTH_SERVER=<issuer>: tokens come from that (external) authorization server; we only check them.
AUTH_SERVER = os.environ.get("AUTH_SERVER")

# Counters served at /test/stats.
STATS = {
    "registrations": 0,
    "authorizations": 0,
    "token_grants": {"authorization_code": 0, "refresh_token": 0},
    "token_requests": 0,  # every POST /token, successful or not
    "revocations": 0,
    "last_authorize_resource": None,
    "last_token_resource": None,
    "tool_calls": 0,
    "insufficient_scope": 0,  # 403s asking for a step-up (see ScopeGate)
    "stream_notifications": 0,  # sent by notify_later, outside any request
    "metadata_document_fetches": 0,  # Client ID Metadata Documents read (CIMD=1)
    "tool_call_headers": [],  # the routing headers of each tools/call POST (see HeaderWatch)
    "unauthenticated_requests": 0,  # POST /mcp served without a token (AUTH=none, AUTH=late*)
    "identity_assertions": 0,  # ID-JAGs exchanged for tokens (ID_JAG_ISSUER)
    "resumed": 0,  # streams resumed with Last-Event-ID (EVENT_STORE=1)
    "cancelled_calls": 0,  # calls of wait_for_cancel the client cancelled while they ran
    "finished_slow_calls": 0,  # calls of wait_for_cancel that ran to their end
}
# ID_JAG_ISSUER=<IdP issuer>: the enterprise IdP whose ID-JAGs the jwt-bearer grant takes.
ID_JAG_ISSUER = os.environ.get("ID_JAG_ISSUER")
# AUTH=none | late401 | late403 (see the module's doc).
AUTH = os.environ.get("AUTH", "")
# LEGACY_ISSUER_PATH=/oauth: a 2025-03-26 server whose issuer is a path on its own origin.
LEGACY_ISSUER_PATH = os.environ.get("LEGACY_ISSUER_PATH", "")


def same_resource(a: str, b: str) -> bool:
    """RFC 8707 resource comparison, a trailing slash aside (as the SDK's bearer check does)."""
    return a.rstrip("/") == b.rstrip("/")


class LoopbackClient(OAuthClientInformationFull):
    """A client registered ahead of time (out of band) for a native app: its loopback redirect
    matches on any port, as RFC 8252 section 7.3 asks of authorization servers."""

    def validate_redirect_uri(self, redirect_uri):
        if redirect_uri is not None and redirect_uri.host == "127.0.0.1" and redirect_uri.path == "/callback":
            return redirect_uri
        return super().validate_redirect_uri(redirect_uri)


# CIMD=1: the authorization server takes Client ID Metadata Documents (a client id that is the
# URL of a JSON document describing the client), and serves one at /test/client-metadata.json.
CIMD = os.environ.get("CIMD") == "1"


def fetch_client_metadata(url: str) -> OAuthClientInformationFull | None:
    """The client a Client ID Metadata Document describes, if its `client_id` is its own URL."""
    import urllib.request

    STATS["metadata_document_fetches"] += 1
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            document = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    if document.get("client_id") != url:
        return None
    return LoopbackClient(
        client_id=url,
        redirect_uris=document["redirect_uris"],
        token_endpoint_auth_method="none",
        grant_types=document.get("grant_types", ["authorization_code", "refresh_token"]),
        scope=document.get("scope"),
        client_name=document.get("client_name"),
    )


def pre_registered() -> dict[str, OAuthClientInformationFull]:
    """PRE_REGISTERED="id:secret": a confidential client known without registration."""
    spec = os.environ.get("PRE_REGISTERED")
    if not spec:
        return {}
    client_id, secret = spec.split(":", 1)
    client = LoopbackClient(
        client_id=client_id,
        client_secret=secret,
        redirect_uris=["http://127.0.0.1/callback"],
        token_endpoint_auth_method="client_secret_post",
        grant_types=["authorization_code", "refresh_token"]
        + (["urn:ietf:params:oauth:grant-type:jwt-bearer"] if ID_JAG_ISSUER else []),
        scope="admin",
    )
    return {client_id: client}


class AutoApproveProvider:
    """The SDK's OAuthAuthorizationServerProvider interface, in memory, approving everything."""

    def __init__(self, resource: str, issuer: str = ""):
        self.resource = resource  # the only resource (RFC 8707) we issue tokens for
        self.issuer = issuer  # our issuer: the audience an ID-JAG must name
        self.seen_jti: set[str] = set()  # ID-JAGs already exchanged (replays refused)
        self.clients: dict[str, OAuthClientInformationFull] = pre_registered()
        self.codes: dict[str, AuthorizationCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.pair: dict[str, str] = {}  # access token <-> refresh token, both ways (for revocation)

    # --- clients (RFC 7591 dynamic registration; the SDK handler validates and mints the id) ---
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if client_id not in self.clients and CIMD and client_id.startswith("http"):
            document = await asyncio.to_thread(fetch_client_metadata, client_id)
            if document is not None:
                self.clients[client_id] = document
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        if CONFIDENTIAL_REGISTRATIONS:
            # RFC 7591 lets the server decide: whatever was asked, this client gets a secret and
            # must send it in the body (the SDK's handler answers with this same object).
            client_info.client_secret = secrets.token_urlsafe(24)
            client_info.token_endpoint_auth_method = "client_secret_post"
        self.clients[client_info.client_id] = client_info
        STATS["registrations"] += 1

    # --- authorization: approve at once and redirect back with a code and the state ---
    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        STATS["authorizations"] += 1
        STATS["last_authorize_resource"] = params.resource
        if params.resource is not None and not same_resource(params.resource, self.resource):
            raise AuthorizeError("invalid_target", f"unknown resource {params.resource}")
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=SUBJECT,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state, iss=ISS_SENT["iss"])

    async def load_authorization_code(self, client: OAuthClientInformationFull, code: str) -> AuthorizationCode | None:
        return self.codes.get(code)

    async def exchange_authorization_code(self, client: OAuthClientInformationFull, code: AuthorizationCode) -> OAuthToken:
        self.codes.pop(code.code, None)  # single use
        STATS["token_grants"]["authorization_code"] += 1
        return self._issue(client.client_id, code.scopes, code.resource, code.subject)

    # --- refresh: rotate (the old refresh token is spent; its access token lives out its TTL) ---
    async def load_refresh_token(self, client: OAuthClientInformationFull, token: str) -> RefreshToken | None:
        return self.refresh.get(token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        self.refresh.pop(token.token, None)
        self.pair.pop(token.token, None)
        STATS["token_grants"]["refresh_token"] += 1
        return self._issue(client.client_id, scopes, token.resource, token.subject)

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params) -> OAuthToken:
        """SEP-990 leg 2: an ID-JAG from the enterprise IdP (ID_JAG_ISSUER) for a token of ours."""
        if not ID_JAG_ISSUER:
            raise TokenError("unsupported_grant_type", "no enterprise IdP is trusted here")
        try:
            keys = jwt.PyJWKClient(f"{ID_JAG_ISSUER.rstrip('/')}/test/id-jag-jwks")
            key = await asyncio.to_thread(keys.get_signing_key_from_jwt, params.assertion)
            header = jwt.get_unverified_header(params.assertion)
            claims = jwt.decode(
                params.assertion,
                key,
                algorithms=JWT_ALGORITHMS,
                issuer=ID_JAG_ISSUER,
                audience=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub", "jti"]},
            )
        except (jwt.PyJWTError, OSError, ValueError) as e:
            raise TokenError("invalid_grant", f"the ID-JAG is not valid: {e}")
        if header.get("typ") != "oauth-id-jag+jwt":
            raise TokenError("invalid_grant", "the assertion is not an ID-JAG")
        if claims.get("client_id") != client.client_id:
            raise TokenError("invalid_grant", "the ID-JAG is for another client")
        if not same_resource(claims.get("resource", ""), self.resource):
            raise TokenError("invalid_target", "the ID-JAG is for another resource")
        if claims["jti"] in self.seen_jti:
            raise TokenError("invalid_grant", "this ID-JAG was used already")
        self.seen_jti.add(claims["jti"])
        STATS["identity_assertions"] += 1
        scopes = str(claims.get("scope", "")).split()
        return self._issue(client.client_id, scopes, self.resource, claims["sub"], refresh=False)

    def _issue(
        self, client_id: str, scopes: list[str], resource: str | None, subject: str | None, refresh: bool = True
    ) -> OAuthToken:
        access, refresh_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access[access] = AccessToken(
            token=access,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(time.time()) + ACCESS_TTL,
            # The audience: the one resource we serve, whether or not the client named it.
            resource=resource or self.resource,
            subject=subject,
        )
        if not refresh:
            return OAuthToken(access_token=access, expires_in=ACCESS_TTL, scope=" ".join(scopes) or None)
        self.refresh[refresh_token] = RefreshToken(
            token=refresh_token, client_id=client_id, scopes=scopes, resource=resource, subject=subject
        )
        self.pair[access], self.pair[refresh_token] = refresh_token, access
        return OAuthToken(
            access_token=access,
            expires_in=ACCESS_TTL,
            scope=" ".join(scopes) or None,
            refresh_token=refresh_token,
        )

    # --- bearer check for /mcp (the SDK wraps this in its ProviderTokenVerifier) ---
    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self.access.get(token)
        if found is None or (found.expires_at is not None and time.time() >= found.expires_at):
            return None
        return found

    # --- RFC 7009 revocation: drop the token and its partner ---
    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        STATS["revocations"] += 1
        partner = self.pair.pop(token.token, None)
        for t in (token.token, partner):
            if t is not None:
                self.access.pop(t, None)
                self.refresh.pop(t, None)
                self.pair.pop(t, None)


class MemoryEventStore:
    """The SDK's EventStore interface, in memory (EVENT_STORE=1): what a resuming client missed."""

    def __init__(self):
        self.events: list[tuple[str, str, object]] = []  # (event id, stream id, message)

    async def store_event(self, stream_id, message):
        event_id = str(len(self.events) + 1)
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id, send_callback):
        from mcp.server.streamable_http import EventMessage

        found = next((s for e, s, _ in self.events if e == last_event_id), None)
        if found is None:
            return None
        STATS["resumed"] += 1
        after = False
        for event_id, stream_id, message in self.events:
            if event_id == last_event_id:
                after = True
            elif after and stream_id == found and message is not None:
                await send_callback(EventMessage(message, event_id))
        return found


def discover_jwks_uri(issuer: str) -> str:
    """The jwks_uri from the issuer's metadata: RFC 8414's well-known address first, then OpenID
    Connect discovery's. The metadata must name the issuer itself."""
    import urllib.error
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(issuer)
    path = parts.path.rstrip("/")
    candidates = [
        f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{path}",
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
    ]
    for url in candidates:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                metadata = json.loads(answer.read())
        except urllib.error.HTTPError:
            continue
        if metadata.get("issuer") != issuer:
            raise ValueError(f"{url} names issuer {metadata.get('issuer')!r}, not {issuer!r}")
        return metadata["jwks_uri"]
    raise ValueError(f"no authorization server metadata for {issuer}")


# Signature algorithms taken: asymmetric only (a shared secret would let the client mint tokens).
JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class JwtVerifier:
    """The SDK's TokenVerifier for AUTH_SERVER: an access token is good if it is a JWT signed by
    the issuer (a key from its jwks_uri), with `iss` the issuer, `aud` our resource URL (or a list
    holding it), and not expired."""

    def __init__(self, issuer: str, resource: str):
        self.issuer, self.resource = issuer, resource
        self.keys: jwt.PyJWKClient | None = None  # found on first use

    def _claims(self, token: str) -> dict:
        if self.keys is None:
            self.keys = jwt.PyJWKClient(discover_jwks_uri(self.issuer))
        key = self.keys.get_signing_key_from_jwt(token)
        return jwt.decode(
            token,
            key,
            algorithms=JWT_ALGORITHMS,
            issuer=self.issuer,
            audience=self.resource,
            options={"require": ["exp", "iss", "aud"]},
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            # PyJWKClient fetches with urllib: keep that off the event loop.
            claims = await asyncio.to_thread(self._claims, token)
        except (jwt.PyJWTError, OSError, ValueError, KeyError):
            return None
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id", "")),
            scopes=str(claims.get("scope", "")).split(),
            expires_at=int(claims["exp"]),
            resource=self.resource,
            subject=claims.get("sub"),
            claims=claims,
        )


class TokenRequestWatch:
    """ASGI middleware for POST /token: the SDK's token handler does not hand the RFC 8707
    `resource` parameter to the provider, so record it here (and refuse a foreign one with
    `invalid_target`), then replay the body to the SDK's handler."""

    def __init__(self, app, resource: str):
        self.app, self.resource = app, resource

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/token" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        STATS["token_requests"] += 1
        resource = parse_qs(body.decode("latin-1")).get("resource", [None])[0]
        STATS["last_token_resource"] = resource
        if resource is not None and not same_resource(resource, self.resource):
            error = {"error": "invalid_target", "error_description": f"unknown resource {resource}"}
            return await JSONResponse(error, status_code=400, headers={"Cache-Control": "no-store"})(scope, receive, send)

        await self.app(scope, replaying(body, receive), send)


class ScopeGate:
    """ASGI wrapper playing a server with a privileged tool: `tools/call` of `admin_report` needs
    the scope `admin` (`mcp:admin` with AUTH_SERVER), and a token without it gets 403 with an
    RFC 6750 `insufficient_scope` challenge naming it (the MCP spec's step-up), before the SDK sees
    the request. `find_token` looks a bearer token up (None: unknown, the SDK answers 401)."""

    def __init__(self, app, find_token, metadata_url: str, scope: str):
        self.app, self.find_token, self.metadata_url, self.scope = app, find_token, metadata_url, scope

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/mcp":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            sent = json.loads(body)
        except ValueError:
            sent = None
        wants_admin = isinstance(sent, dict) and sent.get("method") == "tools/call" and (
            (sent.get("params") or {}).get("name") == "admin_report"
        )
        if wants_admin:
            header = dict(scope["headers"]).get(b"authorization", b"").decode()
            token = await self.find_token(header.removeprefix("Bearer ").strip())
            if token is not None and self.scope not in token.scopes:
                STATS["insufficient_scope"] += 1
                challenge = (
                    f'Bearer error="insufficient_scope", scope="{self.scope}", '
                    f'resource_metadata="{self.metadata_url}"'
                )
                await JSONResponse(
                    {"error": "insufficient_scope"}, status_code=403, headers={"WWW-Authenticate": challenge}
                )(scope, receive, send)
                return
        await self.app(scope, replaying(body, receive), send)


async def read_body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def replaying(body: bytes, receive):
    """A `receive` that hands the app `body` (already read) first."""
    replayed = False

    async def replay():
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def json_method(body: bytes) -> str | None:
    try:
        sent = json.loads(body)
    except ValueError:
        return None
    return sent.get("method") if isinstance(sent, dict) else None


class HeaderWatch:
    """ASGI wrapper recording the routing headers of every `tools/call` POST to /mcp."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/mcp":
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if "authorization" not in headers:
            STATS["unauthenticated_requests"] += 1
        if json_method(body) == "tools/call":
            STATS["tool_call_headers"].append(
                {
                    "protocol_version": headers.get("mcp-protocol-version"),
                    "method": headers.get("mcp-method"),
                    "name": headers.get("mcp-name"),
                    "params": {k: v for k, v in headers.items() if k.startswith("mcp-param-")},
                    "session": "mcp-session-id" in headers,
                }
            )
        await self.app(scope, replaying(body, receive), send)


class LateAuth:
    """Replaces the SDK's RequireAuthMiddleware on /mcp for AUTH=late401|late403: a request without
    a token is served unless it is a `tools/call`, which gets 401 (the SDK's own answer, naming the
    resource metadata) or 403 `insufficient_scope` for the scope `admin`."""

    def __init__(self, required, metadata_url: str, status: int):
        self.required, self.inner = required, required.app
        self.metadata_url, self.status = metadata_url, status

    async def __call__(self, scope, receive, send):
        from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

        if isinstance(scope.get("user"), AuthenticatedUser):
            return await self.required(scope, receive, send)
        body = await read_body(receive)
        if json_method(body) != "tools/call":
            return await self.inner(scope, replaying(body, receive), send)
        if self.status == 403:
            challenge = f'Bearer error="insufficient_scope", scope="admin", resource_metadata="{self.metadata_url}"'
            return await JSONResponse(
                {"error": "insufficient_scope"}, status_code=403, headers={"WWW-Authenticate": challenge}
            )(scope, receive, send)
        await self.required(scope, replaying(body, receive), send)


class PathPrefix:
    """ASGI wrapper for LEGACY_ISSUER_PATH: the SDK serves its authorization endpoints at the root;
    the metadata names them under the issuer's path, so strip it."""

    def __init__(self, app, prefix: str):
        self.app, self.prefix = app, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.prefix + "/"):
            scope = dict(scope, path=scope["path"][len(self.prefix):])
        await self.app(scope, receive, send)


class MetadataPatch:
    """ASGI wrapper: the authorization server's metadata says more than the SDK writes (`fields`):
    that it sends `iss` with its answer, that it takes Client ID Metadata Documents."""

    def __init__(self, app, fields: dict):
        self.app, self.fields = app, fields

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/.well-known/oauth-authorization-server"):
            await self.app(scope, receive, send)
            return
        start, body = {}, bytearray()

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        document = json.loads(body)
        document.update(self.fields)
        await JSONResponse(document, status_code=start.get("status", 200))(scope, receive, send)


class PrmOverride:
    """ASGI wrapper for a misbehaving server: its resource metadata names PRM_RESOURCE (another
    server's URL) instead of its own, which a client must refuse."""

    def __init__(self, app, issuer: str, resource: str):
        self.app, self.issuer, self.resource = app, issuer, resource

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/.well-known/oauth-protected-resource"):
            document = {"resource": self.resource, "authorization_servers": [self.issuer]}
            await JSONResponse(document)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_app(port: int):
    issuer = f"http://{HOST}:{port}/"
    # TRANSPORT=sse: the HTTP+SSE transport of the 2024-11-05 revision (GET /sse, then POSTs to
    # the endpoint its first event names) instead of Streamable HTTP.
    legacy = os.environ.get("TRANSPORT") == "sse"
    resource = f"http://{HOST}:{port}/sse" if legacy else f"http://{HOST}:{port}/mcp"
    if AUTH_SERVER:
        # A resource server only: the SDK serves the resource metadata and checks bearer tokens
        # with our verifier; `required_scopes` is every token's minimum and the metadata's
        # scopes_supported.
        issuer, provider = AUTH_SERVER, None
        verifier = JwtVerifier(AUTH_SERVER, resource)
        find_token, admin_scope = verifier.verify_token, "mcp:admin"
        mcp = MCPServer(
            "keyport-test-mcp",
            token_verifier=verifier,
            auth=AuthSettings(
                issuer_url=AUTH_SERVER,
                resource_server_url=resource,
                required_scopes=["mcp:tools"],
                validate_token_resource=True,
            ),
            log_level=LOG_LEVEL,
        )
    elif AUTH == "none":
        provider, find_token, admin_scope = None, None, "admin"
        mcp = MCPServer("keyport-test-mcp", log_level=LOG_LEVEL)
    else:
        provider = AutoApproveProvider(resource, issuer)

        async def find_token(token: str) -> AccessToken | None:
            return provider.access.get(token)

        admin_scope = "admin"
        mcp = MCPServer(
            "keyport-test-mcp",
            auth_server_provider=provider,
            auth=AuthSettings(
                issuer_url=issuer + LEGACY_ISSUER_PATH.strip("/") if LEGACY_ISSUER_PATH else issuer,
                # A 2025-03-26 server publishes no resource metadata.
                resource_server_url=None if LEGACY_ISSUER_PATH else resource,
                # The bearer middleware refuses tokens whose AccessToken.resource is not `resource`.
                validate_token_resource=not LEGACY_ISSUER_PATH,
                client_registration_options=ClientRegistrationOptions(enabled=True),
                revocation_options=RevocationOptions(enabled=True),
                identity_assertion_enabled=bool(ID_JAG_ISSUER),
            ),
            log_level=LOG_LEVEL,
        )

    @mcp.tool()
    def whoami() -> str:
        """Who the bearer token was issued to."""
        STATS["tool_calls"] += 1
        token = get_access_token()
        if token is None:
            return "hello"
        return json.dumps(
            {"client_id": token.client_id, "subject": token.subject, "scopes": token.scopes, "resource": token.resource}
        )

    @mcp.tool()
    def admin_report() -> str:
        """A privileged tool: its calls need the scope `admin`, or `mcp:admin` (see ScopeGate)."""
        STATS["tool_calls"] += 1
        token = get_access_token()
        return json.dumps({"admin": True, "scopes": token.scopes if token else []})

    @mcp.tool()
    def echo_region(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]) -> str:
        """Answers with `region`, which a 2026-07-28 client also sends as `Mcp-Param-Region`."""
        STATS["tool_calls"] += 1
        return f"region {region}"

    @mcp.tool()
    async def poll_later(ctx: Context) -> str:
        """Closes its own event stream, then answers: only a client that resumes gets it."""
        await ctx.close_sse_stream()
        await asyncio.sleep(0.5)
        STATS["tool_calls"] += 1
        return "polled"

    @mcp.tool()
    async def wait_for_cancel() -> str:
        """Runs for 20 s, unless the client cancels it first."""
        STATS["tool_calls"] += 1
        try:
            await asyncio.sleep(20)
        except asyncio.CancelledError:
            STATS["cancelled_calls"] += 1
            raise
        STATS["finished_slow_calls"] += 1
        return "finished"

    @mcp.tool()
    def cancelled_so_far() -> str:
        """How many calls of wait_for_cancel were cancelled (asked while the client still runs)."""
        STATS["tool_calls"] += 1
        return str(STATS["cancelled_calls"])

    pending: set[asyncio.Task] = set()

    @mcp.tool()
    async def notify_later(ctx: Context) -> str:
        """Sends `notifications/tools/list_changed` a moment after answering: outside any request,
        so it reaches the client only over the session's GET stream."""

        async def later(session):
            await asyncio.sleep(0.3)
            await session.send_tool_list_changed()
            STATS["stream_notifications"] += 1

        task = asyncio.get_running_loop().create_task(later(ctx.session))
        pending.add(task)
        task.add_done_callback(pending.discard)
        return "scheduled"

    @mcp.custom_route("/test/client-metadata.json", methods=["GET"])
    async def client_metadata(request: Request) -> JSONResponse:
        """A Client ID Metadata Document for Keyport, as a project would publish it."""
        return JSONResponse(
            {
                "client_id": f"http://{HOST}:{port}/test/client-metadata.json",
                "client_name": "Keyport",
                "redirect_uris": ["http://127.0.0.1/callback"],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
                "scope": "admin",
            }
        )

    @mcp.custom_route("/test/stats", methods=["GET"])
    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(STATS)

    @mcp.custom_route("/test/forget-clients", methods=["POST"])
    async def forget_clients(request: Request) -> JSONResponse:
        """Forgets every registered client, as a restarted server that keeps them in memory does."""
        if provider:
            provider.clients.clear()
        return JSONResponse({"forgotten": True})

    resumable = {"event_store": MemoryEventStore(), "retry_interval": 300} if os.environ.get("EVENT_STORE") == "1" else {}
    inner = (
        mcp.sse_app(host=HOST)
        if legacy
        else mcp.streamable_http_app(host=HOST, json_response=JSON_RESPONSE, **resumable)
    )
    app = TokenRequestWatch(inner, resource) if provider else inner
    # With AUTH_SERVER, the address the SDK serves the resource metadata at (RFC 9728 section 3.1).
    metadata_url = (
        str(build_resource_metadata_url(resource))
        if AUTH_SERVER
        else f"http://{HOST}:{port}/.well-known/oauth-protected-resource/mcp"
    )
    if AUTH in ("late401", "late403"):
        for route in inner.routes:
            if getattr(route, "path", None) == "/mcp":
                route.app = LateAuth(route.endpoint, metadata_url, 401 if AUTH == "late401" else 403)
    if find_token is not None:
        app = ScopeGate(app, find_token, metadata_url, admin_scope)
    app = HeaderWatch(app)
    if LEGACY_ISSUER_PATH:
        app = PathPrefix(app, LEGACY_ISSUER_PATH.rstrip("/"))
    if os.environ.get("PRM_RESOURCE"):
        app = PrmOverride(app, issuer, os.environ["PRM_RESOURCE"])
    if os.environ.get("ISS_PARAMETER"):
        ISS_SENT["iss"] = issuer if os.environ["ISS_PARAMETER"] == "right" else "http://127.0.0.1:1/elsewhere/"
        app = MetadataPatch(app, {"authorization_response_iss_parameter_supported": True})
    if CIMD:
        app = MetadataPatch(app, {"client_id_metadata_document_supported": True})
    return app, issuer, resource


async def main() -> None:
    # Bind first, so the issuer and resource URLs can name the real port (PORT=0 picks one).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Answers go out as written (accepted connections inherit it): without it, a keep-alive
    # client's requests wait ~40 ms each for Nagle and delayed ACKs to meet, which would measure
    # the server, not the clients.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((HOST, int(os.environ.get("PORT", "0"))))
    port = sock.getsockname()[1]
    app, issuer, resource = build_app(port)
    # log_config=None: uvicorn's loggers propagate to the SDK's stderr handler; stdout stays ours.
    # KEEP_ALIVE=N: idle kept-alive connections are closed after N s (uvicorn's default is 5).
    keep_alive = int(os.environ.get("KEEP_ALIVE", "5"))
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, log_level=LOG_LEVEL.lower(), timeout_keep_alive=keep_alive)
    )

    async def announce():
        while not server.started:
            await asyncio.sleep(0.01)
        print(json.dumps({"url": resource, "issuer": issuer}), flush=True)

    announcer = asyncio.create_task(announce())
    await server.serve(sockets=[sock])
    announcer.cancel()


if __name__ == "__main__":
    asyncio.run(main())
