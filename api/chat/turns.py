"""What every chat endpoint shares: who is calling, rate limits, and running the turn."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Response
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api.chat.schemas import ChatIn, ChatOut
from core.chat.engine import Answer, ChatEngine, Timings, Turn, TurnOptions
from core.chat.sessions import Caller
from core.endusers.tokens import decode_end_user_token
from core.errors import InvalidInput, NotFound
from core.limits import enforce
from core.llm import Delta, LLMError
from core.resources import Resources
from core.tenancy.principals import ChatbotPrincipal

WINDOW_S = 60


def public_caller(
    bot: ChatbotPrincipal, authorization: str | None, user_id: str | None, resources: Resources
) -> Caller:
    """The chatbot's key, plus either a signed-in end user's token or the customer's user_id."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        if user_id is not None:
            raise InvalidInput(
                "send either an end-user token or user_id, not both", field="user_id"
            )
        claims = decode_end_user_token(token.strip(), key=resources.settings.signing_key())
        if claims.customer_id != bot.customer_id:
            raise NotFound(f"chatbot {bot.chatbot_id} not found")
        return Caller(bot.customer_id, bot.chatbot_id, end_user_id=claims.end_user_id)
    return Caller(bot.customer_id, bot.chatbot_id, external_user_id=user_id)


async def rate_limit(
    resources: Resources, *, key_id: uuid.UUID | None, caller: Caller, client: str
) -> dict[str, str]:
    """Per API key and per end user (anonymous: per client address); shared via Redis."""
    settings = resources.settings
    headers: dict[str, str] = {}
    if key_id is not None:
        state = await enforce(
            resources.redis, f"key:{key_id}", settings.rate_limit_per_key, WINDOW_S
        )
        headers = state.headers()
    user_key = caller.rate_key or f"anon:{caller.chatbot_id}:{client}"
    state = await enforce(resources.redis, user_key, settings.rate_limit_per_end_user, WINDOW_S)
    # Report whichever limit is closer to refusing.
    if not headers or state.remaining < int(headers["X-RateLimit-Remaining"]):
        headers = state.headers()
    return headers


def options(data: ChatIn) -> TurnOptions:
    return TurnOptions(
        provider=data.provider,
        model=data.model,
        temperature=data.temperature,
        max_tokens=data.max_tokens,
    )


async def prepare(engine: ChatEngine, caller: Caller, data: ChatIn, timings: Timings) -> Turn:
    return await engine.prepare(caller, data.message, data.session_id, options(data), timings)


async def answer(engine: ChatEngine, turn: Turn, headers: dict[str, str]) -> Response[ChatOut]:
    result = await engine.answer(turn)
    headers = {**headers, "Server-Timing": turn.timings.header()}
    return Response(ChatOut.of(result), headers=headers)


def _event(name: str, payload: dict[str, Any]) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=name, data=json.dumps(payload, default=str))


async def events(engine: ChatEngine, turn: Turn) -> AsyncIterator[dict[str, Any]]:
    """The turn as protocol-neutral events: token*, then done or error."""
    try:
        # aclosing: when the consumer stops early, the engine learns it at once, not at GC.
        async with contextlib.aclosing(engine.stream(turn)) as stream:
            async for event in stream:
                if isinstance(event, Delta):
                    yield {"type": "token", "delta": event.text}
                elif isinstance(event, Answer):
                    payload = msgspec.to_builtins(ChatOut.of(event))
                    del payload["reply"]  # the client has it from the tokens
                    yield {"type": "done", **payload}
    except LLMError:
        yield {
            "type": "error",
            "detail": "The language model is unavailable right now; try again shortly.",
        }


def sse(engine: ChatEngine, turn: Turn, headers: dict[str, str]) -> ServerSentEvent:
    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        async with contextlib.aclosing(events(engine, turn)) as turn_events:
            async for event in turn_events:
                name = event.pop("type")
                yield _event(name, event)

    return ServerSentEvent(stream(), headers={**headers, "Server-Timing": turn.timings.header()})
