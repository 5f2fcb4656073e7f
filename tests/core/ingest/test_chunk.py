"""Token-aware chunking with overlap, counted by the embedding model's tokenizer."""

from __future__ import annotations

import itertools
import random

import pytest
from tokenizers import Tokenizer

from core.embeddings import local_tokenizer
from core.ingest import Chunk, chunk


def document(sentences: int = 400, seed: int = 7) -> str:
    """A deterministic multi-paragraph text with short sentences and some Unicode."""
    rng = random.Random(seed)
    words = ["refund", "order", "shipping", "café", "naïve", "warranty", "😀", "Zürich", "policy"]
    paragraphs, current = [], []
    for i in range(sentences):
        current.append(
            " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))).capitalize() + "."
        )
        if i % 7 == 6:
            paragraphs.append(" ".join(current))
            current = []
    paragraphs.append(" ".join(current))
    return "\n\n".join(p for p in paragraphs if p)


def count(tokenizer: Tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def test_chunks_respect_max_tokens_by_the_tokenizer(fx_tokenizer: Tokenizer) -> None:
    text = document()

    for max_tokens in (32, 64, 256):
        chunks = chunk(text, fx_tokenizer, max_tokens=max_tokens, overlap=8)
        assert len(chunks) > 1
        for item in chunks:
            assert item.token_count == count(fx_tokenizer, item.text)
            assert 0 < item.token_count <= max_tokens


def test_defaults_are_256_tokens_with_32_overlap(fx_tokenizer: Tokenizer) -> None:
    chunks = chunk(document(), fx_tokenizer)

    assert max(c.token_count for c in chunks) <= 256
    assert max(c.token_count for c in chunks) > 200  # chunks are filled, not tiny


def test_neighbouring_chunks_overlap(fx_tokenizer: Tokenizer) -> None:
    # One long paragraph: the splitter overlaps with whole sentences that fit in the
    # overlap budget, so a neighbour whose boundary sentence is longer shares nothing;
    # and a paragraph break is a clean boundary that is never overlapped.
    text = document().replace("\n\n", " ")

    chunks = chunk(text, fx_tokenizer, max_tokens=64, overlap=16)

    assert len(chunks) > 10
    shared_counts = []
    for a, b in itertools.pairwise(chunks):
        shared = text[b.start : a.start + len(a.text)]
        if shared.strip():
            shared_counts.append(count(fx_tokenizer, shared))
    assert len(shared_counts) >= 0.8 * (len(chunks) - 1)
    assert max(shared_counts) <= 16
    no_overlap = chunk(text, fx_tokenizer, max_tokens=64, overlap=0)
    assert all(a.start + len(a.text) <= b.start for a, b in itertools.pairwise(no_overlap))


def test_chunking_is_deterministic(fx_tokenizer: Tokenizer) -> None:
    text = document()

    first = chunk(text, fx_tokenizer, max_tokens=64, overlap=16)
    second = chunk(text, local_tokenizer(), max_tokens=64, overlap=16)

    assert first == second


def test_chunks_round_trip_the_text(fx_tokenizer: Tokenizer) -> None:
    text = document()

    chunks = chunk(text, fx_tokenizer, max_tokens=48, overlap=12)

    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    covered = [False] * len(text)
    for item in chunks:
        assert text[item.start : item.start + len(item.text)] == item.text
        for i in range(item.start, item.start + len(item.text)):
            covered[i] = True
    # Only whitespace between chunks (trimmed by the splitter) may be left uncovered.
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))
    assert chunks[0].start == 0
    assert chunks[-1].start + len(chunks[-1].text) == len(text)


def test_markdown_splits_at_headings(fx_tokenizer: Tokenizer) -> None:
    sections = [
        f"## Section {n}\n\n" + " ".join(f"Point {n}.{i} about the product." for i in range(8))
        for n in range(6)
    ]
    text = "# Handbook\n\n" + "\n\n".join(sections)

    chunks = chunk(text, fx_tokenizer, max_tokens=80, overlap=0, kind="md")

    # Each section starts its own chunk; a plain text splitter would leave the next
    # section's heading dangling at the end of the previous chunk.
    assert [c.text.split("\n")[0] for c in chunks] == ["# Handbook"] + [
        f"## Section {n}" for n in range(1, 6)
    ]
    assert not any(c.text.rstrip().split("\n")[-1].startswith("#") for c in chunks)
    assert all(c.token_count <= 80 for c in chunks)


def test_small_and_empty_texts(fx_tokenizer: Tokenizer) -> None:
    assert chunk("", fx_tokenizer) == []
    assert chunk(" \n\t ", fx_tokenizer) == []
    assert chunk("  Just one line.  ", fx_tokenizer) == [
        Chunk(ordinal=0, text="Just one line.", token_count=4, start=2)
    ]


def test_a_word_longer_than_a_chunk_is_still_split(fx_tokenizer: Tokenizer) -> None:
    chunks = chunk("x" * 5000, fx_tokenizer, max_tokens=16, overlap=0)

    assert all(c.token_count <= 16 for c in chunks)
    assert "".join(c.text for c in chunks) == "x" * 5000


def test_invalid_arguments(fx_tokenizer: Tokenizer) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk("text", fx_tokenizer, max_tokens=0)
    with pytest.raises(ValueError, match="overlap"):
        chunk("text", fx_tokenizer, max_tokens=32, overlap=32)
    truncating = Tokenizer.from_str(fx_tokenizer.to_str())
    truncating.enable_truncation(128)
    with pytest.raises(ValueError, match="truncates or pads"):
        chunk("text", truncating)
