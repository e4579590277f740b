"""A `requests.auth.AuthBase` that sends Keyport's token for an account and, when the server
answers 401, asks once for a fresh token and sends the request again (from a response hook, as
requests' own digest authentication does).

    import requests, keyport.requests
    requests.get(url, auth=keyport.requests.KeyportAuth("github"))
"""

from __future__ import annotations

from typing import Any, Optional

import requests
from requests.auth import AuthBase

from ._retry import TokenSource
from .client import DEFAULT_MIN_TTL, Client

__all__ = ["KeyportAuth"]


class KeyportAuth(AuthBase):
    """`Authorization: Bearer <token>` for `account`; on a 401, one retry with a token the agent
    refreshed."""

    def __init__(self, account: str, min_ttl: int = DEFAULT_MIN_TTL, client: Optional[Client] = None) -> None:
        self._source = TokenSource(account, min_ttl, client)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._source.current().authorization
        request.register_hook("response", self._retry_once)  # type: ignore[no-untyped-call]
        return request

    def _retry_once(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401:
            return response
        refused = response.request.headers.get("Authorization")
        fresh = self._source.instead_of(refused)
        # The first answer is read and its connection given back before the second request.
        response.content
        response.close()
        retry = response.request.copy()
        retry.deregister_hook("response", self._retry_once)  # type: ignore[no-untyped-call]
        retry.headers["Authorization"] = fresh.authorization
        sent = response.connection.send(retry, **kwargs)
        sent.history.append(response)
        sent.request = retry
        return sent
