"""The answer when no language model is configured: the best passages, cited.

The platform must answer out of the box (no key, no network), so the reply is built
from the retrieved passages alone. It is clearly marked as such, so nobody mistakes
it for a generated answer, and it is deterministic: the same passages always give the
same reply (tests and caches can rely on it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

NOTICE = "No language model is configured; here are the most relevant passages from the documents:"
NO_PASSAGES = (
    "No language model is configured, and nothing in the documents matches your question. "
    "Try rephrasing it, or ask about something the documents cover."
)
MAX_PASSAGES = 3
MAX_EXCERPT_CHARS = 600

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\w+")
# Words too common to say which sentence answers the question.
# fmt: off
_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "how", "i", "in", "is", "it", "me", "my", "of", "on", "or", "our", "the", "this", "to",
    "was", "we", "what", "when", "where", "which", "who", "why", "will", "with", "you", "your",
})
# fmt: on


def extractive_reply(question: str, passages: Sequence[tuple[str, str]]) -> str:
    """A reply made of the top passages, given as (label, text) in ranked order.

    Each passage is cited by its label (``[1]``); a long one is cut to the part around
    the sentence that shares most words with the question.
    """
    terms = _terms(question)
    blocks: list[str] = []
    seen: set[str] = set()
    for label, text in passages:
        clean = " ".join(text.split())
        if not clean or clean in seen:  # an empty or repeated chunk adds nothing
            continue
        seen.add(clean)
        blocks.append(f"{_cite(label)} {_excerpt(clean, terms)}")
        if len(blocks) == MAX_PASSAGES:
            break
    if not blocks:
        return NO_PASSAGES
    return "\n\n".join([NOTICE, *blocks])


def _cite(label: str) -> str:
    label = label.strip()
    return label if label.startswith("[") and label.endswith("]") else f"[{label}]"


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def _excerpt(text: str, terms: set[str], limit: int = MAX_EXCERPT_CHARS) -> str:
    """The whole text when short; else from the best-matching sentence on, up to `limit`
    characters, with an ellipsis where something was left out."""
    if len(text) <= limit:
        return text
    sentences = _SENTENCE_END.split(text)
    # The first sentence with the most question words wins (max keeps the first on ties).
    start = max(range(len(sentences)), key=lambda i: len(_terms(sentences[i]) & terms))
    taken: list[str] = []
    length = 0
    for sentence in sentences[start:]:
        if taken and length + 1 + len(sentence) > limit:
            break
        taken.append(sentence)
        length += len(sentence) + (1 if len(taken) > 1 else 0)
    excerpt = " ".join(taken)
    reaches_end = start + len(taken) == len(sentences)
    if len(excerpt) > limit:  # one very long sentence: cut it at a word boundary
        excerpt = excerpt[:limit].rsplit(" ", 1)[0]
        reaches_end = False
    prefix = "… " if start > 0 else ""
    suffix = "" if reaches_end else " …"
    return f"{prefix}{excerpt}{suffix}"
