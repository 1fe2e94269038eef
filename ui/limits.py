"""Server-side limits on everything the chat page accepts, defined once.

The browser enforces some of these too (the question box's `max_length`, Gradio's upload
size), but anyone can call the Gradio API directly, so every handler checks again and
answers an oversize input with one clear line instead of keeping it. `Limits` is passed to
`ui.app.build_ui` (which sets the browser-side limits from the same numbers), `RateLimit`
bounds how fast feedback is written, and `BodyLimit` refuses oversize HTTP request bodies
before Gradio reads them into memory.

>>> Limits().upload_request_bytes > Limits().upload_bytes
True
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rag.config import Config
from ui.corpus import MAX_BYTES


@dataclass(frozen=True)
class Limits:
    """Every input limit of the chat server (characters, bytes, counts)."""

    question_chars: int = Config.max_question_chars  # the answer path's own limit (RAG_MAX_QUESTION_CHARS)
    turns: int = 50  # questions in one conversation (each is re-rendered on every update)
    waiting: int = 3  # questions of one conversation waiting for the model at once
    paste_chars: int = MAX_BYTES  # pasted article text (its UTF-8 bytes are also capped at MAX_BYTES)
    title_chars: int = 300
    date_chars: int = 10  # YYYY-MM-DD
    upload_bytes: int = MAX_BYTES  # one uploaded file (Gradio's max_file_size as well)
    files_per_upload: int = 1
    feedback_per_minute: int = 30  # feedback records written per minute, all sessions together
    feedback_bytes: int = 64 * 1024  # one feedback record as UTF-8 JSON (question, answer, quotes): a few KB
    request_bytes: int = 16 * MAX_BYTES  # any HTTP request body (a JSON event with a pasted article in \\u escapes)

    @property
    def upload_request_bytes(self) -> int:
        """An upload request's body: the files plus room for multipart headers."""
        return self.files_per_upload * self.upload_bytes + 64 * 1024

    @classmethod
    def from_config(cls, cfg: Config) -> Limits:
        return cls(question_chars=cfg.max_question_chars)


class RateLimit:
    """At most `count` events in any `per_s` seconds; thread-safe.

    >>> r = RateLimit(2, 60.0, clock=lambda: 0.0)
    >>> [r.allow(), r.allow(), r.allow()]
    [True, True, False]
    """

    def __init__(self, count: int, per_s: float, clock: Callable[[], float] = time.monotonic):
        self.count, self.per_s, self.clock = count, per_s, clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            now = self.clock()
            while self._times and now - self._times[0] >= self.per_s:
                self._times.popleft()
            if len(self._times) >= self.count:
                return False
            self._times.append(now)
            return True


class _TooLarge(Exception):
    pass


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: a request body over the limit gets 413 and one line, unread.

    Uploads (`…/upload`) get `upload_bytes`, everything else `max_bytes`. A declared
    Content-Length is refused up front; a body streamed without one is counted as it arrives.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int, upload_bytes: int):
        self.app, self.max_bytes, self.upload_bytes = app, max_bytes, upload_bytes

    def limit_for(self, path: str) -> int:
        return self.upload_bytes if path.rstrip("/").endswith("/upload") else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen, started = 0, False

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        body = f"The request is too large: the limit is {limit:,} bytes.\n".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
