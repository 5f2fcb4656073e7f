"""The prompt sent to the LLM, and which of the given passages an answer cites."""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.chat.messages import StoredMessage
from core.knowledge.search import Passage

INSTRUCTIONS = (
    "Answer the user's question. When the context passages below help, use them and cite "
    "each one you use with its number in square brackets, like [1]. If the passages don't "
    "contain the answer, say so briefly instead of inventing one."
)
_CITATION = re.compile(r"\[(\d{1,2})\]")


def build_messages(
    system_prompt: str,
    passages: Sequence[Passage],
    history: Sequence[StoredMessage],
    question: str,
) -> list[dict[str, str]]:
    context = "\n\n".join(
        f"[{number}] ({passage.filename}) {passage.text}"
        for number, passage in enumerate(passages, start=1)
    )
    system = "\n\n".join(
        part
        for part in (
            system_prompt.strip(),
            INSTRUCTIONS,
            f"Context passages:\n{context}" if context else "",
        )
        if part
    )
    turns = [
        {"role": m.role, "content": m.content} for m in history if m.role in ("user", "assistant")
    ]
    return [{"role": "system", "content": system}, *turns, {"role": "user", "content": question}]


def cited(reply: str, passages: Sequence[Passage]) -> list[Passage]:
    """The passages the reply refers to by number, in the order first cited."""
    seen: list[int] = []
    for match in _CITATION.finditer(reply):
        number = int(match.group(1))
        if 1 <= number <= len(passages) and number not in seen:
            seen.append(number)
    return [passages[number - 1] for number in seen]
