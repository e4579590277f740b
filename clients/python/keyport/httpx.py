"""An `httpx.Auth` that sends Keyport's token for an account and, when the server answers 401,
asks once for a fresh token and sends the request again.

    import httpx, keyport.httpx
    httpx.get(url, auth=keyport.httpx.KeyportAuth("github"))
"""

from __future__ import annotations

from typing import AsyncGenerator, Generator, Optional

import anyio.to_thread
import httpx

from ._retry import TokenSource
from .client import DEFAULT_MIN_TTL, Client

__all__ = ["KeyportAuth"]


class KeyportAuth(httpx.Auth):
    """`Authorization: Bearer <token>` for `account`; on a 401, one retry with a token the agent
    refreshed. Works with `httpx.Client` and `httpx.AsyncClient` (the socket is asked in a
    worker thread there, so the event loop never waits on it)."""

    def __init__(self, account: str, min_ttl: int = DEFAULT_MIN_TTL, client: Optional[Client] = None) -> None:
        self._source = TokenSource(account, min_ttl, client)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._source.current().authorization
        response = yield request
        if response.status_code == 401:
            refused = request.headers.get("Authorization")
            request.headers["Authorization"] = self._source.instead_of(refused).authorization
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await anyio.to_thread.run_sync(self._source.current)
        request.headers["Authorization"] = token.authorization
        response = yield request
        if response.status_code == 401:
            refused = request.headers.get("Authorization")
            fresh = await anyio.to_thread.run_sync(self._source.instead_of, refused)
            request.headers["Authorization"] = fresh.authorization
            yield request
