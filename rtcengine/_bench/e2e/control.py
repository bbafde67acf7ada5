"""JSON-lines control connection between the bench parent and a worker.

One JSON object per line, UTF-8, on a TCP connection to 127.0.0.1.  Messages
have a ``type``:

worker → parent
    ``hello`` (role, engine, pid), ``signal`` (data for the other worker),
    ``result`` (the worker's report), ``error`` (reason, phase).
parent → worker
    ``run`` (workload, params), ``signal`` (data from the other worker), ``exit``.

Signal data always has a ``kind``: ``offer``/``answer`` (with ``sdp`` and
``type``, sent after ICE gathering completed: no trickle) or a workload step
(``next``, ``closed``, ``sent``, ``done`` ...).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

# A whole SDP with every host candidate fits many times over.
LINE_LIMIT = 1 << 20

Message = dict[str, Any]


class ControlError(Exception):
    """The other end sent something that is not a control message."""


class ControlConnection:
    """Send and receive control messages on an asyncio stream pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float) -> ControlConnection:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=LINE_LIMIT), timeout
        )
        return cls(reader, writer)

    async def send(self, message: Message) -> None:
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        self._writer.write(line)
        await self._writer.drain()

    async def recv(self) -> Message | None:
        """The next message, or ``None`` once the other end has closed."""
        try:
            line = await self._reader.readline()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
            raise ControlError(f"control connection: {exc}") from exc
        if not line:
            return None
        try:
            message = json.loads(line)
        except ValueError as exc:
            raise ControlError(f"control connection: not JSON: {line[:80]!r}") from exc
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ControlError(f"control connection: not a message: {line[:80]!r}")
        return message

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()
