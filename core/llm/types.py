"""What callers of the LLM layer send and get back: plain frozen values, no SDK types.

The chat engine stores these on `ChatMessage` and `UsageEvent`, so nothing here leaks
the `openai` package's classes past `core/llm`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ChatRequest:
    """One chat call: the engine builds `messages` (system prompt with the numbered
    context passages, history, the user's message); the rest are per-chatbot options,
    checked by `LLMRouter.validate`."""

    messages: list[dict[str, str]]
    model: str | None = None  # None: each provider's own first model
    provider: str | None = None  # None: every provider in priority order; else only this one
    temperature: float = 0.7
    max_tokens: int = 512


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool  # True: the provider reported nothing, these are our estimate

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def estimate(cls, messages: Iterable[dict[str, str]], text: str) -> Usage:
        """Usage for a call whose provider reported none (or for a partial answer)."""
        prompt = sum(estimate_tokens(str(m.get("content") or "")) for m in messages)
        return cls(prompt_tokens=prompt, completion_tokens=estimate_tokens(text), estimated=True)


@dataclass(frozen=True)
class Completion:
    text: str
    model: str  # the model we asked for (price rates are keyed by it)
    provider: str  # the name of the provider that answered
    usage: Usage


@dataclass(frozen=True)
class Delta:
    """A piece of a streamed answer. `provider` and `model` say who is answering, so a
    caller whose client hangs up mid-stream can still store and meter the partial text."""

    text: str
    provider: str = ""
    model: str = ""


@dataclass(frozen=True)
class Done:
    """The last event of a stream: the full text, who answered, and the usage."""

    completion: Completion


@dataclass(frozen=True)
class Attempt:
    """One provider's failure, kept for the log line and for callers that care why."""

    provider: str
    model: str
    error: str  # e.g. "HTTP 503: overloaded", "timed out", "connection refused"
    status: int | None = None  # the HTTP status, when the provider answered with one


class LLMError(Exception):
    """Every provider that could take the request failed (or the stream broke).

    The message lists each failure, for logs; it is not meant for end users.
    `partial` is set when a stream broke after text was already yielded: the caller
    stores that partial answer (its usage is estimated).
    """

    def __init__(
        self,
        message: str,
        attempts: Sequence[Attempt] = (),
        *,
        partial: Completion | None = None,
    ) -> None:
        super().__init__(message)
        self.attempts: list[Attempt] = list(attempts)
        self.partial = partial


# Roughly 3 tokens for every 4 English words, i.e. a word is about 4/3 tokens.
_TOKENS_PER_WORD = 4 / 3


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (words x 4/3, rounded up), used only when a provider
    reports no usage; results built on it are flagged `estimated=True`."""
    words = len(text.split())
    return math.ceil(words * _TOKENS_PER_WORD) if words else 0
