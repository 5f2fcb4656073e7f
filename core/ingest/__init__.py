"""Ingestion steps that need no database: sniff the upload's type, parse it, chunk it.

The worker (workers/ingestion.py) strings them together with storage and embedding:
``kind = sniff_type(head, filename, path=path)`` at upload, then in the actor
``chunk(parse(path, kind), local_tokenizer(), kind=kind)``.
"""

from __future__ import annotations

from core.ingest.chunk import Chunk, chunk
from core.ingest.parse import ParseError, parse
from core.ingest.sniff import ACCEPTED, SNIFF_BYTES, EmptyFile, UnsupportedType, sniff_type

__all__ = [
    "ACCEPTED",
    "SNIFF_BYTES",
    "Chunk",
    "EmptyFile",
    "ParseError",
    "UnsupportedType",
    "chunk",
    "parse",
    "sniff_type",
]
