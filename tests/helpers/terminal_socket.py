"""A JupyterLab terminal driven over its websocket, as the browser's xterm.js drives it.

``POST /api/terminals`` makes a terminal; its websocket takes ``["stdin", text]`` and sends back
``["stdout", text]`` until the shell exits (``["disconnect", ...]``). Used by the lab's terminals
test and the classroom test (there behind JupyterHub's ``/user/NAME`` prefix).
"""

from __future__ import annotations

import asyncio
import json
import re

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

# What the terminal draws but the learner does not read: colours and modes (CSI, ``ESC [ ... m``) and
# the shell's messages to the terminal (OSC, ``ESC ] ... BEL``: a title, or systemd 257's context
# marks ``ESC ] 3008;start=...`` that a newer Debian's profile puts before each prompt and command).
ESCAPES = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-9;?]*[A-Za-z]")


async def screen_of(ws_url: str, token: str, command: str, *, timeout: float = 60) -> str:
    """Type ``command`` and ``exit`` into the terminal at ``ws_url``; the text its screen showed until it exited."""
    conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}))
    screen = []
    try:
        conn.write_message(json.dumps(["stdin", f"{command}; exit\r"]))
        while (raw := await asyncio.wait_for(conn.read_message(), timeout=timeout)) is not None:
            kind, *data = json.loads(raw)
            if kind == "stdout":
                screen.append(data[0])
            elif kind == "disconnect":
                break
    finally:
        conn.close()  # the shell exited: the terminal is gone
    return ESCAPES.sub("", "".join(screen))
