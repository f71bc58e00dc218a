"""A blocking, one-command-at-a-time ESL client for web and Celery processes.

The daemon's connection lives in its own process; a view that logs an agent in only needs to
send one `callcenter_config` command, so it opens a short plain socket (no gevent), sends it
and closes. Replies are read by their Content-Length; events are never subscribed.
"""

from __future__ import annotations

import socket
from typing import Any

from django.conf import settings


class EslCommandError(RuntimeError):
    pass


def _read_frame(sock_file: Any) -> tuple[dict[str, str], str]:
    headers: dict[str, str] = {}
    reader = sock_file
    while True:
        line = reader.readline()
        if not line:
            raise EslCommandError("FreeSWITCH closed the connection")
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            if headers:
                break
            continue
        name, _, value = text.partition(": ")
        headers[name] = value
    body = ""
    if "Content-Length" in headers:
        body = reader.read(int(headers["Content-Length"])).decode("utf-8", "replace")
    return headers, body


def api(command: str, *, timeout: float = 5.0) -> str:
    """Run one API command on the configured FreeSWITCH and return its output."""
    if "\n" in command or "\r" in command:
        raise EslCommandError("an API command is one line")
    with socket.create_connection((settings.ESL_HOST, settings.ESL_PORT), timeout=timeout) as s:
        f = s.makefile("rb")
        headers, _ = _read_frame(f)
        if headers.get("Content-Type") != "auth/request":
            raise EslCommandError("no auth request from FreeSWITCH")
        s.sendall(f"auth {settings.ESL_PASSWORD}\n\n".encode())
        headers, _ = _read_frame(f)
        if not headers.get("Reply-Text", "").startswith("+OK"):
            raise EslCommandError("FreeSWITCH refused the password")
        s.sendall(f"api {command}\n\n".encode())
        while True:
            headers, body = _read_frame(f)
            if headers.get("Content-Type") == "api/response":
                break
        s.sendall(b"exit\n\n")
        return body
