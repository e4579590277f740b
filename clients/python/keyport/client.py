"""The core of the Python client: asks Keyport's agent for a token over its Unix socket (one
JSON line each way, docs/protocol.md), with the standard library only, and runs `keyport token`
instead when no agent answers there.

The agent names the program at the other end of its socket (this Python program) in its audit
and in its consent question, so a token asked for here is this program's, not Keyport's CLI's.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

__all__ = ["Client", "KeyportError", "Token", "agent_socket", "token"]

#: The `--min-ttl` of `keyport token`: a token handed out stays valid this long, at least (capped
#: by the agent at half the token's lifetime).
DEFAULT_MIN_TTL = 300

#: A refresh at the provider can take a while and the app may be asking the person whether this
#: program may have the token (60 s): the agent's own client waits as long.
ANSWER_TIMEOUT = 45.0 + 60.0

# `keyport`'s exit codes (README.md, "Exit codes") and the error kinds of the protocol they stand for.
_EXIT_KINDS = {
    2: "usage",
    3: "not_found",
    4: "needs_reconnect",
    5: "keychain",
    6: "provider",
    7: "unsupported",
    8: "unsafe",
    9: "refused",
}


class KeyportError(Exception):
    """The agent's (or `keyport`'s) refusal: `kind` is the protocol's error kind (`not_found`,
    `needs_reconnect`, `refused`, …; docs/protocol.md lists them), `message` the sentence."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{message} ({kind})")
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Token:
    """An access token as handed out. Its `repr` leaves the token out, so that a log of the
    object shows no secret."""

    access_token: str = field(repr=False)
    account: str
    expires_at: Optional[int] = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def authorization(self) -> str:
        """The `Authorization` header's value."""
        return f"Bearer {self.access_token}"


def _fnv1a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _data_dir() -> str:
    """Keyport's data directory of the default home (the `directories` crate's rules)."""
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Application Support", "dev.keyport.keyport")
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(base, "keyport")


def agent_socket(environ: Optional[Mapping[str, str]] = None) -> str:
    """Where this user's agent listens, by the rules `keyport` follows (docs/protocol.md):
    `KEYPORT_LOCAL_AGENT` (this machine's agent, its socket mounted into a container) or
    `KEYPORT_AGENT` (a forward) when set; else in `$XDG_RUNTIME_DIR/keyport/` (`agent.sock`, or
    `agent-<hash>.sock` for a `KEYPORT_HOME`); else in the home's data directory."""
    env = os.environ if environ is None else environ
    named = env.get("KEYPORT_LOCAL_AGENT") or env.get("KEYPORT_AGENT")
    if named:
        return named
    runtime = env.get("XDG_RUNTIME_DIR")
    home = env.get("KEYPORT_HOME")
    if home:
        home = os.path.realpath(home)
        if runtime:
            name = f"agent-{_fnv1a(os.fsencode(home)):016x}.sock"
            return os.path.join(runtime, "keyport", name)
        return os.path.join(home, "data", "agent.sock")
    if runtime:
        return os.path.join(runtime, "keyport", "agent.sock")
    return os.path.join(_data_dir(), "agent.sock")


class Client:
    """Asks for tokens: the agent at `socket_path` (default: [`agent_socket`]), one connection
    per request; `keyport` (the program `keyport`, found on PATH) when no agent answers there."""

    def __init__(
        self,
        socket_path: Optional[str] = None,
        keyport: str = "keyport",
        timeout: float = ANSWER_TIMEOUT,
    ) -> None:
        self.socket_path = socket_path
        self.keyport = keyport
        self.timeout = timeout

    def token(
        self, account: str, min_ttl: int = DEFAULT_MIN_TTL, rejected: Optional[str] = None
    ) -> Token:
        """A valid access token for `account` (an id, `provider:nickname`, or a provider with one
        account), valid for `min_ttl` seconds at least. `rejected`: a token a server just refused
        (HTTP 401); the answer is then another one, refreshed if need be."""
        request: Dict[str, Any] = {"account": account, "min_ttl": int(min_ttl)}
        if rejected is not None:
            request["rejected"] = rejected
        answer = self.ask(request)
        if answer is None:
            return self._run_keyport(account, int(min_ttl), rejected)
        return _token_from(answer)

    def ask(self, message: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
        """Sends one message and returns the agent's answer; `None` when no agent listens.
        Nothing is sent unless the process answering runs as this user."""
        path = self.socket_path or agent_socket()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            try:
                sock.connect(path)
            except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
                return None
            except PermissionError as e:
                raise KeyportError("unsafe", f"the agent's socket {path} is not yours to use: {e}") from e
            _check_peer(sock, path)
            sock.sendall(json.dumps(message).encode() + b"\n")
            line = _read_line(sock)
        except socket.timeout as e:
            raise KeyportError("other", f"no answer from the agent at {path} within {self.timeout:.0f} s") from e
        finally:
            sock.close()
        if not line:
            raise KeyportError("other", f"the agent at {path} closed the connection without an answer")
        try:
            answer = json.loads(line)
        except ValueError as e:
            raise KeyportError("other", f"the agent at {path} answered something else than JSON: {e}")
        if not isinstance(answer, dict):
            raise KeyportError("other", f"the agent at {path} answered something else than an object")
        return answer

    def _run_keyport(self, account: str, min_ttl: int, rejected: Optional[str]) -> Token:
        program = shutil.which(self.keyport)
        if program is None:
            raise KeyportError(
                "other",
                f"no Keyport agent answers at {self.socket_path or agent_socket()}, "
                f"and {self.keyport!r} is not on PATH",
            )
        if rejected is not None:
            # The command line has no way to name the refused token (it would be visible to
            # other processes there): refresh now, unless the account cannot be refreshed.
            refresh = _run([program, "refresh", account])
            if refresh.returncode not in (0, 7):
                raise _failure(refresh)
        run = _run([program, "token", account, "--min-ttl", str(min_ttl), "--format", "json"])
        if run.returncode != 0:
            raise _failure(run)
        printed = json.loads(run.stdout)
        return Token(
            access_token=printed["access_token"],
            account=printed["account"],
            expires_at=printed.get("expires_at"),
            metadata=printed.get("metadata") or {},
        )


def _run(args: "list[str]") -> "subprocess.CompletedProcess[str]":
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True)


def _failure(run: "subprocess.CompletedProcess[str]") -> KeyportError:
    message = run.stderr.strip() or f"keyport exited with {run.returncode}"
    return KeyportError(_EXIT_KINDS.get(run.returncode, "other"), message)


def _check_peer(sock: socket.socket, path: str) -> None:
    """Refuses an agent run by another user: it could answer with a token of its choosing, or
    learn which account is asked for."""
    if not hasattr(socket, "SO_PEERCRED"):
        return  # only Linux tells; elsewhere the socket's private directory is the guard
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    if uid != os.geteuid():
        raise KeyportError(
            "unsafe", f"the agent at {path} runs as user {uid}, not as you ({os.geteuid()})"
        )


def _read_line(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    return b"".join(chunks)


def _token_from(answer: Mapping[str, Any]) -> Token:
    kind = answer.get("answer")
    if kind == "token":
        return Token(
            access_token=answer["token"],
            account=answer["account"],
            expires_at=answer.get("expires_at"),
            metadata=answer.get("metadata") or {},
        )
    if kind == "error":
        raise KeyportError(str(answer.get("kind", "other")), str(answer.get("message", "")))
    raise KeyportError("other", f"the agent answered {kind!r} to a token request")


_default = Client()


def token(account: str, min_ttl: int = DEFAULT_MIN_TTL, rejected: Optional[str] = None) -> Token:
    """A valid access token for `account`, from the running agent (else `keyport token`)."""
    return _default.token(account, min_ttl, rejected)
