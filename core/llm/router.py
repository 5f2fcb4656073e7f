"""Routes chat calls over OpenAI-compatible providers in priority order, with fallback.

Policy, in one place:
- One `openai.AsyncOpenAI` client per provider, built once, with our timeout and
  `max_retries=0`: the SDK's own retries (two by default, with back-off) would spend the
  time budget on a provider that is down instead of moving on to the next one.
- Any failure of a call falls to the next provider: connection errors, timeouts, 429,
  5xx, and 4xx too. The request's own options were already checked by `validate`, so a
  4xx that still comes back is about that provider: its key (401/403), its model names
  (404), its context window or the parameters it supports (400). Another provider may
  well take the same request; when none does, `LLMError` lists every answer.
- A stream can fall back only until its first piece of text was yielded; after that the
  caller already has part of one provider's answer, so a break raises `LLMError` with
  the partial completion attached.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import openai

from core.errors import InvalidInput
from core.llm.types import Attempt, ChatRequest, Completion, Delta, Done, LLMError, Usage
from core.settings import LLMProvider, Settings

logger = logging.getLogger("botfleet.llm")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# The SDK insists on a key even for endpoints that ignore it (a local vLLM or Ollama).
_NO_KEY = "not-needed"
MAX_TEMPERATURE = 2.0
MAX_TOKENS_LIMIT = 32_000
MAX_MODEL_LENGTH = 200
_MAX_ERROR_LENGTH = 300  # a provider's error body can be long; logs need the gist

# What a provider call can raise. The SDK wraps transport errors (even a stream cut
# mid-body) in APIConnectionError; httpx errors are caught too in case one slips past.
_PROVIDER_ERRORS = (openai.OpenAIError, httpx.HTTPError)


@dataclass(frozen=True)
class _Route:
    """One provider to try, with the model to ask it for."""

    name: str
    client: openai.AsyncOpenAI
    model: str


class LLMRouter:
    """Chat completions over the configured providers; see the module docstring.

    Build one per process (per event loop: the clients' connection pools belong to the
    loop that first uses them) and `aclose()` it at shutdown.
    """

    def __init__(
        self, providers: Sequence[LLMProvider], *, timeout: float, default_model: str
    ) -> None:
        names = [p.name for p in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"LLM provider names must be unique, got {names}")
        self._providers = list(providers)
        self._default_model = default_model
        self.timeout = timeout
        # Key and base URL are always passed explicitly: left as None, the SDK would read
        # OPENAI_API_KEY / OPENAI_BASE_URL itself, and only settings read the environment.
        self._clients = {
            p.name: openai.AsyncOpenAI(
                api_key=p.api_key or _NO_KEY,
                base_url=p.base_url or DEFAULT_BASE_URL,
                timeout=timeout,
                max_retries=0,
            )
            for p in self._providers
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMRouter:
        return cls(
            settings.providers(),
            timeout=settings.llm_timeout_s,
            default_model=settings.llm_default_model,
        )

    @property
    def configured(self) -> bool:
        """False: no provider at all, and the chat engine answers extractively."""
        return bool(self._providers)

    @property
    def provider_names(self) -> list[str]:
        return [p.name for p in self._providers]

    # -- validation and routing --------------------------------------------------

    def validate(self, request: ChatRequest) -> None:
        """Reject options no provider should ever see, naming the field at fault."""
        if request.provider is not None and request.provider not in self._clients:
            known = ", ".join(self.provider_names) or "none"
            raise InvalidInput(
                f"unknown LLM provider {request.provider!r} (configured: {known})",
                field="provider",
            )
        temperature = request.temperature
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not math.isfinite(temperature)
            or not 0 <= temperature <= MAX_TEMPERATURE
        ):
            raise InvalidInput(
                f"temperature must be between 0 and {MAX_TEMPERATURE:g}", field="temperature"
            )
        max_tokens = request.max_tokens
        if (
            isinstance(max_tokens, bool)
            or not isinstance(max_tokens, int)
            or not 1 <= max_tokens <= MAX_TOKENS_LIMIT
        ):
            raise InvalidInput(
                f"max_tokens must be a whole number between 1 and {MAX_TOKENS_LIMIT}",
                field="max_tokens",
            )
        model = request.model
        if model is not None:
            if not model.strip() or len(model) > MAX_MODEL_LENGTH:
                raise InvalidInput(
                    f"model must be a non-empty name of at most {MAX_MODEL_LENGTH} characters",
                    field="model",
                )
            # With no provider at all the answer is extractive and ignores the model, so
            # there is nothing to check it against.
            if self._providers and not self._routes(request):
                where = f"provider {request.provider!r}" if request.provider else "any provider"
                raise InvalidInput(f"model {model!r} is not offered by {where}", field="model")

    def _routes(self, request: ChatRequest) -> list[_Route]:
        """The providers to try, in order, each with its model.

        A provider that lists models takes only those; one that lists none takes any.
        """
        routes = []
        for provider in self._providers:
            if request.provider is not None and provider.name != request.provider:
                continue
            if request.model is not None:
                if provider.models and request.model not in provider.models:
                    continue
                model = request.model
            else:
                model = provider.models[0] if provider.models else self._default_model
            routes.append(_Route(provider.name, self._clients[provider.name], model))
        return routes

    def _plan(self, request: ChatRequest) -> list[_Route]:
        self.validate(request)
        if not self._providers:
            # The chat engine checks `configured` first and answers extractively.
            raise LLMError("no LLM provider is configured")
        return self._routes(request)

    def _arguments(self, request: ChatRequest, route: _Route) -> dict[str, Any]:
        # `max_tokens` rather than `max_completion_tokens`: vLLM, Ollama, Groq and
        # OpenRouter all accept it. (OpenAI's reasoning models refuse it with a 400,
        # which falls to the next provider like any other failure.)
        return {
            "model": route.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }

    # -- calls -------------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> Completion:
        """One answer from the first provider that gives one."""
        routes = self._plan(request)
        attempts: list[Attempt] = []
        for route in routes:
            try:
                response = await route.client.chat.completions.create(
                    **self._arguments(request, route)
                )
            except _PROVIDER_ERRORS as exc:
                attempts.append(self._failed(route, exc))
                continue
            if not response.choices:  # a broken provider; another may do better
                attempts.append(self._failed(route, None, "the response had no choices"))
                continue
            text = response.choices[0].message.content or ""
            usage = _reported_usage(response.usage) or Usage.estimate(request.messages, text)
            return Completion(text=text, model=route.model, provider=route.name, usage=usage)
        raise _all_failed(attempts)

    def stream(self, request: ChatRequest) -> AsyncIterator[Delta | Done]:
        """`Delta`s as the answer arrives, then one `Done`.

        Validation runs now, not at the first iteration, so an API handler gets its
        `InvalidInput` before it starts a streamed response.
        """
        return self._stream(request, self._plan(request))

    async def _stream(
        self, request: ChatRequest, routes: list[_Route]
    ) -> AsyncIterator[Delta | Done]:
        attempts: list[Attempt] = []
        for route in routes:
            parts: list[str] = []
            reported = None
            try:
                response = await route.client.chat.completions.create(
                    **self._arguments(request, route),
                    stream=True,
                    stream_options={"include_usage": True},
                )
                # `async with` closes the HTTP response when our caller stops early
                # (a client that hung up), instead of leaving it to the garbage collector.
                async with response:
                    async for chunk in response:
                        if chunk.usage is not None:  # the last chunk, with no choices
                            reported = chunk.usage
                        for choice in chunk.choices:
                            piece = choice.delta.content if choice.delta else None
                            if choice.index == 0 and piece:
                                parts.append(piece)
                                yield Delta(piece, provider=route.name, model=route.model)
            except _PROVIDER_ERRORS as exc:
                attempt = self._failed(route, exc)
                if parts:
                    text = "".join(parts)
                    partial = Completion(
                        text=text,
                        model=route.model,
                        provider=route.name,
                        usage=Usage.estimate(request.messages, text),
                    )
                    raise LLMError(
                        f"LLM stream from {route.name} ({route.model}) broke after "
                        f"{len(parts)} pieces: {attempt.error}",
                        [*attempts, attempt],
                        partial=partial,
                    ) from exc
                attempts.append(attempt)
                continue
            text = "".join(parts)
            usage = _reported_usage(reported) or Usage.estimate(request.messages, text)
            yield Done(Completion(text=text, model=route.model, provider=route.name, usage=usage))
            return
        raise _all_failed(attempts)

    def _failed(
        self, route: _Route, exc: BaseException | None, reason: str | None = None
    ) -> Attempt:
        attempt = Attempt(
            provider=route.name,
            model=route.model,
            error=reason or _describe(exc, self.timeout),
            status=exc.status_code if isinstance(exc, openai.APIStatusError) else None,
        )
        logger.warning(
            "LLM provider %s (model %s) failed: %s", attempt.provider, attempt.model, attempt.error
        )
        return attempt

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()


def _describe(exc: BaseException | None, timeout: float) -> str:
    if isinstance(exc, openai.APITimeoutError):
        text = f"timed out after {timeout:g} s"
    elif isinstance(exc, openai.APIStatusError):
        text = f"HTTP {exc.status_code}: {exc.message}"
    elif isinstance(exc, openai.APIConnectionError):
        # The SDK's own message is just "Connection error."; the cause says which.
        text = f"connection failed: {exc.__cause__ or exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_ERROR_LENGTH else text[: _MAX_ERROR_LENGTH - 1] + "…"


def _reported_usage(usage: Any) -> Usage | None:
    """The provider's own counts; None when it sent none (or only zeros, which some
    compatible servers send to mean "unknown")."""
    if usage is None:
        return None
    prompt = getattr(usage, "prompt_tokens", None) or 0
    completion = getattr(usage, "completion_tokens", None) or 0
    if not prompt and not completion:
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion, estimated=False)


def _all_failed(attempts: list[Attempt]) -> LLMError:
    listed = "; ".join(f"{a.provider} ({a.model}): {a.error}" for a in attempts)
    return LLMError(f"every LLM provider failed: {listed}", attempts)
