"""Streaming multipart: the `file` part goes straight to disk, never whole into memory."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header

from core.errors import InvalidInput, PayloadTooLarge

FILE_FIELD = "file"


@dataclass
class ReceivedFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    head: bytes  # the first bytes, for type sniffing


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None


class _FileSink:
    """Collects the `file` part into `target`, hashing and counting as it goes."""

    def __init__(self, target: IO[bytes], max_bytes: int, head_bytes: int) -> None:
        self.target = target
        self.max_bytes = max_bytes
        self.head_bytes = head_bytes
        self.hash = hashlib.sha256()
        self.size = 0
        self.head = bytearray()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"the file is larger than the {self.max_bytes // (1024 * 1024)} MB limit",
                field=FILE_FIELD,
            )
        if len(self.head) < self.head_bytes:
            self.head += data[: self.head_bytes - len(self.head)]
        self.hash.update(data)
        self.target.write(data)


class _FormReader:
    """python-multipart callbacks: remember each part's headers, route `file` data to the sink."""

    def __init__(self, sink: _FileSink) -> None:
        self.sink = sink
        self.part = _Part()
        self.file: _Part | None = None
        self._field = b""
        self._value = b""
        self.complete = False  # the closing boundary arrived: the body was not cut short

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        name = self._field.decode("latin-1").lower()
        self.part.headers[name] = self._value.decode("utf-8", "replace")
        self._field, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, disposition = parse_options_header(self.part.headers.get("content-disposition", ""))
        self.part.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disposition:
            self.part.filename = disposition[b"filename"].decode("utf-8", "replace")
        if self.part.name == FILE_FIELD and self.part.filename is not None and self.file is None:
            self.file = self.part

    def on_end(self) -> None:
        self.complete = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.file is not None and self.part is self.file:
            self.sink.write(data[start:end])


async def receive_file(
    *,
    content_type: str,
    body: AsyncIterator[bytes],
    target: IO[bytes],
    max_bytes: int,
    head_bytes: int,
) -> ReceivedFile:
    """Parse a multipart/form-data body, writing its `file` part to `target`."""
    mime, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise InvalidInput(
            "send the document as multipart/form-data with a `file` field", field=FILE_FIELD
        )
    sink = _FileSink(target, max_bytes, head_bytes)
    reader = _FormReader(sink)
    parser = MultipartParser(boundary, reader.callbacks(), max_header_count=16)  # type: ignore[arg-type]
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except ValueError as exc:  # python-multipart's parse errors are ValueErrors
        raise InvalidInput(f"the multipart body is malformed: {exc}", field=FILE_FIELD) from None
    if not reader.complete:
        raise InvalidInput("the multipart body ended before its closing boundary", field=FILE_FIELD)
    if reader.file is None:
        raise InvalidInput("the form has no `file` field with a file in it", field=FILE_FIELD)
    return ReceivedFile(
        filename=Path(reader.file.filename or "").name[:255] or "upload",
        content_type=reader.file.headers.get("content-type", "")[:100],
        size=sink.size,
        sha256=sink.hash.hexdigest(),
        head=bytes(sink.head),
    )
