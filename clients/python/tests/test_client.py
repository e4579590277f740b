"""Unit tests of the Python client against a stand-in agent (a thread on a Unix socket) and a
stand-in `keyport` (a shell script): the messages sent, the answers read, the errors raised, the
fall back and where the socket is looked for. The real agent is tests/e2e/python_client.rs's."""

from __future__ import annotations

import json
import os
import shlex
import socket
import stat
import tempfile
import threading
import unittest
from typing import Any, Dict, List

import keyport
from keyport.client import Client, KeyportError, agent_socket


class StandInAgent:
    """Answers each connection's one line with the next of `answers`, and keeps what it read."""

    def __init__(self, directory: str, answers: List[Dict[str, Any]]) -> None:
        self.path = os.path.join(directory, "agent.sock")
        self.answers = list(answers)
        self.seen: List[Dict[str, Any]] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            conn, _ = self.server.accept()
            with conn, conn.makefile("rwb") as f:
                self.seen.append(json.loads(f.readline()))
                f.write(json.dumps(self.answers.pop(0)).encode() + b"\n")

    def close(self) -> None:
        self.server.close()


TOKEN = {"answer": "token", "token": "AT-1", "account": "demo-1", "expires_at": 99, "metadata": {"k": "v"}}


class AgentTests(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp()

    def test_a_token_request_is_one_line_and_the_answer_a_token(self) -> None:
        agent = StandInAgent(self.dir, [TOKEN, dict(TOKEN, token="AT-2")])
        client = Client(socket_path=agent.path)
        first = client.token("demo", min_ttl=60)
        self.assertEqual((first.access_token, first.account, first.expires_at), ("AT-1", "demo-1", 99))
        self.assertEqual(first.metadata, {"k": "v"})
        self.assertNotIn("AT-1", repr(first))
        self.assertEqual(client.token("demo", rejected="AT-1").access_token, "AT-2")
        self.assertEqual(
            agent.seen,
            [{"account": "demo", "min_ttl": 60}, {"account": "demo", "min_ttl": 300, "rejected": "AT-1"}],
        )
        agent.close()

    def test_the_agents_error_becomes_a_typed_exception(self) -> None:
        agent = StandInAgent(self.dir, [{"answer": "error", "kind": "needs_reconnect", "message": "gone"}])
        with self.assertRaises(KeyportError) as caught:
            Client(socket_path=agent.path).token("demo")
        self.assertEqual((caught.exception.kind, caught.exception.message), ("needs_reconnect", "gone"))
        agent.close()


    def test_an_agent_that_does_not_answer_in_time_is_an_error(self) -> None:
        path = os.path.join(self.dir, "silent.sock")
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.bind(path)
        silent.listen()
        with self.assertRaisesRegex(KeyportError, "no answer from the agent"):
            Client(socket_path=path, timeout=0.2).token("demo")
        silent.close()


class FallbackTests(unittest.TestCase):
    """No agent at the socket: `keyport token … --format json` is run instead."""

    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp()
        self.log = os.path.join(self.dir, "calls")

    def keyport(self, exit_code: int, printed: str, stderr: str = "") -> str:
        path = os.path.join(self.dir, "keyport")
        with open(path, "w") as f:
            f.write(
                "#!/bin/sh\n"
                f'echo "$*" >> {self.log}\n'
                f'[ "$1" = token ] && printf %s {shlex.quote(printed)}\n'
                f"echo {stderr!r} >&2\n"
                f"exit {exit_code}\n"
            )
        os.chmod(path, stat.S_IRWXU)
        return path

    def calls(self) -> List[str]:
        with open(self.log) as f:
            return f.read().splitlines()

    def test_keyport_is_run_when_no_agent_listens(self) -> None:
        printed = json.dumps({"access_token": "AT-CLI", "token_type": "Bearer", "expires_at": 5, "account": "demo-1", "metadata": {}})
        client = Client(socket_path=os.path.join(self.dir, "none.sock"), keyport=self.keyport(0, printed))
        self.assertEqual(client.token("demo", min_ttl=30).access_token, "AT-CLI")
        self.assertEqual(self.calls(), ["token demo --min-ttl 30 --format json"])
        client.token("demo", rejected="AT-CLI")
        self.assertEqual(self.calls()[1:], ["refresh demo", "token demo --min-ttl 300 --format json"])

    def test_keyports_exit_code_is_the_errors_kind(self) -> None:
        client = Client(socket_path=os.path.join(self.dir, "none.sock"), keyport=self.keyport(4, "", "reconnect it"))
        with self.assertRaises(KeyportError) as caught:
            client.token("demo")
        self.assertEqual((caught.exception.kind, caught.exception.message), ("needs_reconnect", "reconnect it"))

    def test_without_agent_or_keyport_the_error_says_both(self) -> None:
        client = Client(socket_path=os.path.join(self.dir, "none.sock"), keyport="/nonexistent/keyport")
        with self.assertRaisesRegex(KeyportError, "no Keyport agent answers at .*none.sock"):
            client.token("demo")


class SocketPlaceTests(unittest.TestCase):
    def test_the_rules_keyport_follows(self) -> None:
        self.assertEqual(agent_socket({"KEYPORT_AGENT": "/x.sock", "XDG_RUNTIME_DIR": "/run/u"}), "/x.sock")
        self.assertEqual(
            agent_socket({"KEYPORT_LOCAL_AGENT": "/m.sock", "KEYPORT_AGENT": "/x.sock"}), "/m.sock"
        )
        self.assertEqual(agent_socket({"XDG_RUNTIME_DIR": "/run/u"}), "/run/u/keyport/agent.sock")
        home = tempfile.mkdtemp()
        self.assertEqual(agent_socket({"KEYPORT_HOME": home}), os.path.join(os.path.realpath(home), "data/agent.sock"))
        # FNV-1a 64 of the home's path, as `Home` names it (crates/keyport-core/src/store/home.rs).
        self.assertEqual(
            agent_socket({"KEYPORT_HOME": "/", "XDG_RUNTIME_DIR": "/run/u"}),
            "/run/u/keyport/agent-af63a24c860189fe.sock",
        )
        self.assertTrue(callable(keyport.token))


if __name__ == "__main__":
    unittest.main()
