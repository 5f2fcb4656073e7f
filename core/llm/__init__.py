"""LLM access: OpenAI-compatible providers in priority order, with fallback, and the
extractive answer used when none is configured."""

from __future__ import annotations

from core.llm.extractive import extractive_reply
from core.llm.router import LLMRouter
from core.llm.types import (
    Attempt,
    ChatRequest,
    Completion,
    Delta,
    Done,
    LLMError,
    Usage,
    estimate_tokens,
)

__all__ = [
    "Attempt",
    "ChatRequest",
    "Completion",
    "Delta",
    "Done",
    "LLMError",
    "LLMRouter",
    "Usage",
    "estimate_tokens",
    "extractive_reply",
]
