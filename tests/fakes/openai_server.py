"""A fake OpenAI-compatible HTTP server on loopback, for driving the real ``openai`` client.

Real HTTP (stdlib ``ThreadingHTTPServer`` in a background thread, port 0), so the code
under test runs unpatched: its own client, timeouts, retries and stream parsing.

    with FakeOpenAI() as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key=fake.api_key, max_retries=0)
        fake.push("Scripted answer")                   # next chat completion says this
        fake.push(Reply(status=429, retry_after=0.01))  # then a rate-limit error
        fake.push(Reply(text="a b c d", break_after=2)) # then a stream cut after 2 pieces
        ...
        assert fake.chat_requests[-1].body["messages"][-1]["content"] == "hi"

With no script queued, a chat completion answers ``"Echo: <last user message>"``.
Usage is deterministic: one token per whitespace-separated word (:func:`count_tokens`),
prompt tokens summed over every message's text, so metering tests can predict totals.
Embeddings are bag-of-words hash vectors: deterministic, unit length, of the requested
``dimensions``, and texts sharing words are closer than texts that share none.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import numpy as np

DEFAULT_MODELS = ("fake-chat", "fake-embed")
DEFAULT_DIMENSIONS = 1536
_PIECES = re.compile(r"\s*\S+\s*|\s+")

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", "overloaded"),
}


def count_tokens(text: str) -> int:
    """The fake's tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def message_text(content: Any) -> str:
    """The text of a chat message's ``content`` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        )
    return ""


def prompt_tokens(messages: Iterable[dict[str, Any]]) -> int:
    """Prompt tokens the fake reports for a list of chat messages."""
    return sum(count_tokens(message_text(m.get("content"))) for m in messages)


@lru_cache(maxsize=65536)
def _word_vector(word: str, dimensions: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(dimensions)


def fake_embedding(text: str, dimensions: int) -> list[float]:
    """The vector the fake returns for ``text``: normalised sum of per-word hash vectors."""
    words = text.lower().split() or [""]
    total = np.zeros(dimensions)
    for word in words:
        total += _word_vector(word, dimensions)
    norm = float(np.linalg.norm(total))
    vector: list[float] = (total / norm if norm else total).tolist()
    return vector


@dataclass
class Reply:
    """One scripted answer, used by the next request to its endpoint.

    text: the completion text (None: the default reply for that request).
    status: an HTTP error status (>= 400) answered with an OpenAI-style error body.
    delay: seconds to wait before answering at all (to trigger client timeouts).
    chunk_delay: seconds between streamed pieces (to disconnect mid-stream).
    break_after: when streaming, drop the connection after this many content pieces,
        without finishing the chunked body; the client sees a broken stream.
    usage: report token usage (False mimics servers that don't).
    retry_after: seconds to advertise in ``retry-after``/``retry-after-ms`` on errors.
    finish_reason: override the computed one ("stop", or "length" after max_tokens).
    """

    text: str | None = None
    status: int = 200
    message: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    break_after: int | None = None
    usage: bool = True
    retry_after: float | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages", []))

    @property
    def last_user_message(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message_text(message.get("content"))
        return ""


def echo_reply(body: dict[str, Any]) -> str:
    """The default completion: echoes the last user message."""
    request = RecordedRequest("POST", "/v1/chat/completions", {}, body)
    return f"Echo: {request.last_user_message}"


class FakeOpenAI:
    """Context manager running the fake server; see the module docstring."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] = DEFAULT_MODELS,
        default_dimensions: int = DEFAULT_DIMENSIONS,
        default_reply: Callable[[dict[str, Any]], str] = echo_reply,
    ) -> None:
        # With api_key set, requests with another bearer token get 401 (for testing a
        # misconfigured provider); otherwise any key is accepted.
        self.required_key = api_key
        self.api_key = api_key or "sk-fake"
        self.models = list(models)
        self.default_dimensions = default_dimensions
        self.default_reply = default_reply
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Reply]] = {"chat": deque(), "embeddings": deque()}
        self._requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        # Wake any handler sleeping on a scripted delay, then stop accepting.
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ---------------------------------------------------------------

    def push(self, *replies: Reply | str) -> None:
        """Queue replies for the next chat completions (a str is a text reply)."""
        self._push("chat", replies)

    def push_embeddings(self, *replies: Reply) -> None:
        """Queue replies for the next embeddings requests (their ``text`` is ignored)."""
        self._push("embeddings", replies)

    def _push(self, endpoint: str, replies: Iterable[Reply | str]) -> None:
        with self._lock:
            for reply in replies:
                self._scripts[endpoint].append(
                    Reply(text=reply) if isinstance(reply, str) else reply
                )

    def pending(self, endpoint: str = "chat") -> int:
        with self._lock:
            return len(self._scripts[endpoint])

    def reset(self) -> None:
        with self._lock:
            for queue in self._scripts.values():
                queue.clear()
            self._requests.clear()

    def _next_reply(self, endpoint: str) -> Reply:
        with self._lock:
            queue = self._scripts[endpoint]
            return queue.popleft() if queue else Reply()

    # -- records -----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}-fake-{next(self._ids)}"

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is closing; True when it is."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck on a dead client never blocks close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (timeouts, dropped keep-alive connections) are routine here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI  # set on the per-server subclass
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like a real API
    server_version = "FakeOpenAI/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    # -- plumbing ----------------------------------------------------------------

    def _read_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str, retry_after: float | None = None) -> None:
        kind, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "error", None))
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["retry-after-ms"] = str(round(retry_after * 1000))
            headers["retry-after"] = str(max(1, round(retry_after)))
        payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        self._send_json(status, payload, headers)

    def _authorised(self) -> bool:
        required = self.fake.required_key
        if required is None or self.headers.get("Authorization") == f"Bearer {required}":
            return True
        self._send_error(401, "Incorrect API key provided.")
        return False

    def _answer(self, route: Callable[[dict[str, Any] | None], None]) -> None:
        body = self._read_body() if self.command == "POST" else None
        self.fake._record(
            RecordedRequest(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
        )
        try:
            if self._authorised():
                route(body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            # The client gave up (timeout, disconnect): exactly what some tests do.
            self.close_connection = True

    # -- routes ------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/v1/models":
            self._answer(self._models)
        else:
            self._answer(lambda _body: self._send_error(404, f"Unknown path {path}"))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        routes = {"/v1/chat/completions": self._chat, "/v1/embeddings": self._embeddings}
        route = routes.get(path)
        if route is None:
            self._answer(lambda _body: self._send_error(404, f"Unknown path {path}"))
        else:
            self._answer(route)

    def _models(self, _body: dict[str, Any] | None) -> None:
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.fake.models
        ]
        self._send_json(200, {"object": "list", "data": data})

    def _scripted(self, endpoint: str) -> Reply | None:
        """Apply the next scripted reply's delay and error; None when already answered."""
        reply = self.fake._next_reply(endpoint)
        if self.fake._sleep(reply.delay):
            self.close_connection = True
            return None
        if reply.status >= 400:
            message = reply.message or HTTPStatus(reply.status).phrase
            self._send_error(reply.status, message, reply.retry_after)
            return None
        return reply

    def _chat(self, body: dict[str, Any] | None) -> None:
        if body is None or not isinstance(body.get("messages"), list):
            self._send_error(400, "'messages' is required")
            return
        reply = self._scripted("chat")
        if reply is None:
            return
        text = reply.text if reply.text is not None else self.fake.default_reply(body)
        pieces = _PIECES.findall(text)
        finish = "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and 0 < limit < len(pieces):
            pieces, finish = pieces[:limit], "length"
            text = "".join(pieces)
        finish = reply.finish_reason or finish
        usage = {
            "prompt_tokens": prompt_tokens(body["messages"]),
            "completion_tokens": count_tokens(text),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        model = str(body.get("model") or self.fake.models[0])
        completion_id = self.fake._new_id("chatcmpl")
        if body.get("stream"):
            options = body.get("stream_options") or {}
            include_usage = bool(options.get("include_usage")) and reply.usage
            self._stream(
                completion_id, model, pieces, finish, usage if include_usage else None, reply
            )
            return
        payload: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
        }
        if reply.usage:
            payload["usage"] = usage
        self._send_json(200, payload)

    def _stream(
        self,
        completion_id: str,
        model: str,
        pieces: list[str],
        finish: str,
        usage: dict[str, int] | None,
        reply: Reply,
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        with_usage_field = {"usage": None} if usage is not None else {}

        def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

        self._event(
            {**base, "choices": [choice({"role": "assistant", "content": ""})], **with_usage_field}
        )
        for sent, piece in enumerate(pieces):
            if reply.break_after is not None and sent >= reply.break_after:
                self._break_connection()
                return
            if self.fake._sleep(reply.chunk_delay):
                self._break_connection()
                return
            self._event({**base, "choices": [choice({"content": piece})], **with_usage_field})
        if reply.break_after is not None:  # asked to break: never finish the stream
            self._break_connection()
            return
        self._event({**base, "choices": [choice({}, finish)], **with_usage_field})
        if usage is not None:
            self._event({**base, "choices": [], "usage": usage})
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")  # end of the chunked body
        self.wfile.flush()

    def _event(self, payload: dict[str, Any]) -> None:
        self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _break_connection(self) -> None:
        """Hang up mid-body: no terminating chunk, so the client reports a broken stream."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _embeddings(self, body: dict[str, Any] | None) -> None:
        if body is None or "input" not in body:
            self._send_error(400, "'input' is required")
            return
        inputs = _embedding_inputs(body["input"])
        if inputs is None or any(text == "" for text in inputs):
            self._send_error(400, "'$.input' is invalid: empty or malformed input")
            return
        dimensions = body.get("dimensions") or self.fake.default_dimensions
        if not isinstance(dimensions, int) or dimensions < 1:
            self._send_error(400, "'dimensions' must be a positive integer")
            return
        reply = self._scripted("embeddings")
        if reply is None:
            return
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(inputs):
            vector = fake_embedding(text, dimensions)
            encoded: Any = (
                base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
                if as_base64
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        payload: dict[str, Any] = {
            "object": "list",
            "data": data,
            "model": str(body.get("model") or self.fake.models[-1]),
        }
        if reply.usage:
            tokens = sum(count_tokens(text) for text in inputs)
            payload["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
        self._send_json(200, payload)


def _embedding_inputs(raw: Any) -> list[str] | None:
    """Normalise the ``input`` forms the API accepts (token arrays become their repr)."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw:
        if all(isinstance(item, str) for item in raw):
            return list(raw)
        if all(isinstance(item, int) for item in raw):
            return [" ".join(map(str, raw))]
        if all(isinstance(item, list) for item in raw):
            return [" ".join(map(str, item)) for item in raw]
    return None
