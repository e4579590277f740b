"""Keyport for Python: OAuth access tokens from the Keyport agent running on this machine.

    import keyport
    keyport.token("github").access_token

`keyport.httpx.KeyportAuth` and `keyport.requests.KeyportAuth` add the token to requests and, on
a 401, ask once for a fresh one and retry. The wire protocol is docs/protocol.md.
"""

from .client import Client, KeyportError, Token, agent_socket, token

__all__ = ["Client", "KeyportError", "Token", "agent_socket", "token"]
