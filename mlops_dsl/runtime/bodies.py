"""Read a request body with a cap, before anything else (authentication included) looks at it.

Starlette's ``request.body()`` reads whatever the client sends: 200 MB from
anyone, kept in memory, before a handler can answer 401. Every service that
takes a body reads it here instead: a declared ``Content-Length`` over the
limit is refused unread, and a body sent without one (chunked) is refused as
soon as it passes the limit, so at most ``limit`` bytes are ever held.
"""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLargeError(Exception):
    """A request body over the limit; the message says the limit (the answer is 413)."""

    status = 413

    def __init__(self, limit: int, declared: int | None = None) -> None:
        size = f"is {declared} bytes" if declared is not None else f"is larger than {limit} bytes"
        super().__init__(f"the body {size}; at most {limit} are allowed")
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, or :class:`BodyTooLargeError` once it is known to be over ``limit`` bytes."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(limit, int(declared))
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)
