"""What the httpx and requests adapters share: the account, the client to ask, and the one
question asked after a server refused a token."""

from __future__ import annotations

from typing import Optional

from .client import DEFAULT_MIN_TTL, Client, Token


class TokenSource:
    """Asks `client` (default: the agent, else `keyport`) for `account`'s token."""

    def __init__(self, account: str, min_ttl: int = DEFAULT_MIN_TTL, client: Optional[Client] = None) -> None:
        self.account = account
        self.min_ttl = min_ttl
        self.client = client or Client()

    def current(self) -> Token:
        return self.client.token(self.account, self.min_ttl)

    def instead_of(self, authorization: Optional[str]) -> Token:
        """A token other than the one the server refused (sent as `authorization`)."""
        rejected = None
        if authorization and authorization.startswith("Bearer "):
            rejected = authorization[len("Bearer ") :]
        return self.client.token(self.account, self.min_ttl, rejected=rejected)
