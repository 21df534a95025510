"""A JupyterLab terminal driven over its websocket, as the browser's xterm.js drives it.

``POST /api/terminals`` makes a terminal; its websocket takes ``["stdin", text]`` and sends back
``["stdout", text]`` until the shell exits (``["disconnect", ...]``). Used by the lab's terminals
test and the classroom test (there behind JupyterHub's ``/user/NAME`` prefix).
"""

from __future__ import annotations

import asyncio
import json

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


async def screen_of(ws_url: str, token: str, command: str, *, timeout: float = 60) -> str:
    """Type ``command`` and ``exit`` into the terminal at ``ws_url``; what its screen showed until it exited."""
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
    return "".join(screen)
