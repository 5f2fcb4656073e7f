"""Token-aware chunking with overlap, by semantic-text-splitter.

Sizes are counted with the embedding model's own tokenizer (without [CLS]/[SEP], the
way the splitter counts), so a chunk of ``max_tokens`` is what the model really sees.
The splitter is deterministic: the same text always gives the same chunks, which is
what lets re-ingesting a document replace its chunks one for one.
"""

from __future__ import annotations

from dataclasses import dataclass

from semantic_text_splitter import MarkdownSplitter, TextSplitter
from tokenizers import Tokenizer


@dataclass(frozen=True, slots=True)
class Chunk:
    ordinal: int  # 0-based position in the document
    text: str
    token_count: int
    start: int  # character offset of ``text`` in the parsed document


def chunk(
    text: str,
    tokenizer: Tokenizer,
    max_tokens: int = 256,
    overlap: int = 32,
    *,
    kind: str | None = None,
) -> list[Chunk]:
    """Split ``text`` into chunks of at most ``max_tokens`` tokens.

    Neighbouring chunks share up to ``overlap`` tokens of whole sentences or words, so a
    fact cut by a boundary is still whole in one of them. ``kind="md"`` splits along
    Markdown structure (headings, lists, code blocks) instead of paragraphs/sentences.
    ``tokenizer`` must have truncation and padding off (``core.embeddings.local_tokenizer``
    returns one like that); otherwise counts would be capped or padded.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    if not 0 <= overlap < max_tokens:
        raise ValueError("overlap must be at least 0 and smaller than max_tokens")
    if tokenizer.truncation is not None or tokenizer.padding is not None:
        raise ValueError(
            "the tokenizer truncates or pads; use one with both disabled "
            "(core.embeddings.local_tokenizer())"
        )
    if not text.strip():
        return []
    splitter_type = MarkdownSplitter if kind == "md" else TextSplitter
    splitter = splitter_type.from_huggingface_tokenizer(tokenizer, max_tokens, overlap=overlap)
    pieces = splitter.chunk_indices(text)
    counts = tokenizer.encode_batch([piece for _, piece in pieces], add_special_tokens=False)
    return [
        Chunk(ordinal=ordinal, text=piece, token_count=len(encoding.ids), start=start)
        for ordinal, ((start, piece), encoding) in enumerate(zip(pieces, counts, strict=True))
    ]
