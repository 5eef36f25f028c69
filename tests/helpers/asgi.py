"""Drive an ASGI app with a request body sent chunk by chunk, counting what the app pulled.

Starlette's TestClient reads a streamed body in full before the app sees it,
so it cannot show whether an app stops reading at its limit; this can.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass
class Answer:
    """What the app answered, and how many body bytes it asked for."""

    status: int
    body: bytes
    pulled: int

    def json(self) -> Any:
        return orjson.loads(self.body)


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of a JSON-ish body in ``size`` pieces, made as they are pulled (never all in memory)."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield b" " * piece
        sent += piece


def post(app: Any, path: str, body: Iterable[bytes], headers: dict[str, str] | None = None) -> Answer:
    """POST ``body`` to ``app`` as a chunked request (no Content-Length unless ``headers`` give one)."""
    pieces = iter(body)
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        piece = next(pieces, None)
        if piece is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(status, content, pulled)
