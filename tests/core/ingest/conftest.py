"""Fixtures for the ingestion tests: the model's tokenizer and real sample files of each type."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from core.embeddings import local_tokenizer
from tests.core.ingest.samples import SAMPLE_TEXT, make_docx, make_pdf


@pytest.fixture(scope="session")
def fx_tokenizer() -> Tokenizer:
    """The embedding model's tokenizer, as the chunker gets it (no model load needed)."""
    return local_tokenizer()


@pytest.fixture
def fx_samples(tmp_path: Path) -> dict[str, Path]:
    """One real file of every accepted kind, keyed by kind."""
    samples: dict[str, Path] = {}
    for kind, text in SAMPLE_TEXT.items():
        path = tmp_path / f"sample.{kind}"
        path.write_text(text, encoding="utf-8", newline="")
        samples[kind] = path
    samples["pdf"] = tmp_path / "sample.pdf"
    samples["pdf"].write_bytes(make_pdf(["Warranty terms", "Second page: two years cover."]))
    samples["docx"] = make_docx(tmp_path / "sample.docx")
    return samples


@pytest.fixture
def fx_write(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Write bytes under a file name in tmp_path and return the path."""

    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write
