"""One chat turn: session, limits, retrieval, the LLM, storage and metering.

The same engine serves REST, Server-Sent Events and WebSocket: `prepare` does everything
up to the LLM call, then `answer` (whole reply) or `stream` (deltas) finish the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Any

from core.billing import usage as usage_events
from core.billing.quota import ensure_tokens_left
from core.chat.anonymous import AnonymousSessions
from core.chat.messages import StoredMessage
from core.chat.prompt import build_messages, cited
from core.chat.sessions import Caller, Conversation, append_persisted, open_conversation
from core.database import write_transaction
from core.knowledge.search import Passage, search_passages
from core.limits import count_demo_message
from core.llm import (
    ChatRequest,
    Completion,
    Delta,
    Done,
    LLMError,
    LLMRouter,
    Usage,
    extractive_reply,
)
from core.resources import Resources
from core.tenancy import chatbots
from tables.billing import UsageKind
from tables.chat import MessageRole

logger = logging.getLogger("botfleet.chat")
RETRIEVED_PASSAGES = 5
EXTRACTIVE = "extractive"


class Timings:
    """Phase durations for the `Server-Timing` header."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextlib.contextmanager
    def measure(self, phase: str) -> Iterator[None]:
        started = perf_counter()
        try:
            yield
        finally:
            self.phases[phase] = self.phases.get(phase, 0.0) + (perf_counter() - started) * 1000

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.1f}" for name, ms in self.phases.items())


@dataclass(frozen=True, slots=True)
class TurnOptions:
    """Per-request overrides of the chatbot's model settings (validated by the router)."""

    provider: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass
class Turn:
    caller: Caller
    conversation: Conversation
    question: str
    passages: list[Passage]
    request: ChatRequest
    timings: Timings
    user_message: StoredMessage = field(init=False)

    def __post_init__(self) -> None:
        self.user_message = StoredMessage(role=MessageRole.user, content=self.question)


@dataclass(frozen=True, slots=True)
class Answer:
    reply: str
    session_id: uuid.UUID
    message_id: uuid.UUID
    citations: list[Passage]
    usage: Usage
    model: str
    provider: str


class ChatEngine:
    def __init__(self, resources: Resources, router: LLMRouter) -> None:
        self.resources = resources
        self.router = router
        self.anonymous = AnonymousSessions(
            resources.redis, resources.settings.anonymous_session_ttl_s
        )
        self._background: set[asyncio.Task[None]] = set()

    async def prepare(
        self,
        caller: Caller,
        question: str,
        session_id: uuid.UUID | None,
        options: TurnOptions,
        timings: Timings,
    ) -> Turn:
        with timings.measure("session"):
            return await self._prepare(caller, question, session_id, options, timings)

    async def _prepare(
        self,
        caller: Caller,
        question: str,
        session_id: uuid.UUID | None,
        options: TurnOptions,
        timings: Timings,
    ) -> Turn:
        bot = await chatbots.get(caller.customer_id, caller.chatbot_id)
        request = ChatRequest(
            messages=[],
            provider=options.provider,
            model=options.model or bot.model,
            temperature=bot.temperature if options.temperature is None else options.temperature,
            max_tokens=options.max_tokens or bot.max_tokens,
        )
        if self.router.configured:
            self.router.validate(request)
            await ensure_tokens_left(caller.customer_id)  # 402 before any LLM call
        conversation = await open_conversation(caller, session_id, self.anonymous)
        if caller.anonymous:
            await count_demo_message(
                self.resources.redis,
                caller.chatbot_id,
                str(conversation.id),
                bot.demo_message_limit,
            )
        with timings.measure("retrieval"):
            passages = await search_passages(  # the bot is checked above
                caller.customer_id,
                bot.id,
                query=question,
                limit=RETRIEVED_PASSAGES,
                mode="hybrid",
                embedder=await self.resources.embedder(),
                store=self.resources.vectors,
            )
        messages = build_messages(bot.system_prompt, passages, conversation.history, question)
        return Turn(
            caller, conversation, question, passages, replace(request, messages=messages), timings
        )

    async def answer(self, turn: Turn) -> Answer:
        with turn.timings.measure("llm"):
            completion = await self._complete(turn)
        with turn.timings.measure("storage"):
            return await self._store(turn, completion)

    async def stream(self, turn: Turn) -> AsyncIterator[Delta | Answer]:
        """Deltas, then the stored Answer.

        The LLM is read by a task of its own, not by the client's request: if the client
        goes away mid-stream, that task still stores the partial answer and meters its
        (estimated) tokens, whatever happens to the request's coroutine.
        """
        if not self.router.configured:
            answer = await self.answer(turn)
            yield Delta(answer.reply, answer.provider, answer.model)
            yield answer
            return
        queue: asyncio.Queue[Delta | Answer | Exception] = asyncio.Queue()
        listening = asyncio.Event()
        listening.set()
        self._spawn(self._produce(turn, queue, listening))
        try:
            while True:
                item = await queue.get()
                if isinstance(item, Exception):
                    raise item
                yield item
                if isinstance(item, Answer):
                    return
        finally:
            listening.clear()  # gone or done: the producer stops at the next delta

    async def _produce(
        self, turn: Turn, queue: asyncio.Queue[Delta | Answer | Exception], listening: asyncio.Event
    ) -> None:
        parts: list[str] = []
        provider = model = ""
        try:
            async with contextlib.aclosing(self.router.stream(turn.request)) as events:
                async for event in events:
                    if isinstance(event, Done):
                        queue.put_nowait(await self._store(turn, event.completion))
                        return
                    parts.append(event.text)
                    provider, model = event.provider, event.model
                    queue.put_nowait(event)
                    if not listening.is_set():
                        break
            if listening.is_set():
                raise LLMError("the stream ended without its final event", [])
        except LLMError as exc:
            queue.put_nowait(exc)
        except Exception as exc:
            logger.exception("streaming session %s failed", turn.conversation.id)
            queue.put_nowait(exc)
        if parts:
            text = "".join(parts)
            usage = Usage.estimate(turn.request.messages, text)
            await self._store_quietly(turn, Completion(text, model, provider, usage))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)  # a reference, so the task isn't collected mid-way
        task.add_done_callback(self._background.discard)

    async def _complete(self, turn: Turn) -> Completion:
        if not self.router.configured:
            labelled = [
                (f"[{n}] {p.filename}", p.text) for n, p in enumerate(turn.passages, start=1)
            ]
            reply = extractive_reply(turn.question, labelled)
            return Completion(reply, EXTRACTIVE, "none", Usage(0, 0, estimated=False))
        return await self.router.complete(turn.request)

    async def _store(self, turn: Turn, completion: Completion) -> Answer:
        citations = cited(completion.text, turn.passages)
        reply = StoredMessage(
            role=MessageRole.assistant,
            content=completion.text,
            model=completion.model,
            provider=completion.provider,
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
            citations=[_citation(p) for p in citations],
        )
        pair = [turn.user_message, reply]
        conversation, caller = turn.conversation, turn.caller
        metered = completion.provider != "none"
        async with write_transaction():
            # The outbox: the usage event lands with the messages, or neither does.
            if metered:
                await usage_events.record(
                    idempotency_key=f"chat:{reply.id}",
                    customer_id=caller.customer_id,
                    chatbot_id=caller.chatbot_id,
                    kind=UsageKind.chat,
                    model=completion.model,
                    input_tokens=completion.usage.prompt_tokens,
                    output_tokens=completion.usage.completion_tokens,
                    estimated=completion.usage.estimated,
                )
            if not conversation.anonymous:
                await append_persisted(conversation, pair, turn.question)
        if conversation.anonymous:  # Redis after the durable usage event
            await self.anonymous.append(conversation.id, pair)
        return Answer(
            reply=completion.text,
            session_id=conversation.id,
            message_id=reply.id,
            citations=citations,
            usage=completion.usage,
            model=completion.model,
            provider=completion.provider,
        )

    async def _store_quietly(self, turn: Turn, completion: Completion) -> None:
        try:
            await self._store(turn, completion)
        except Exception:
            logger.exception(
                "could not store the partial answer of session %s", turn.conversation.id
            )


def _citation(passage: Passage) -> dict[str, object]:
    return {
        "document_id": str(passage.document_id),
        "filename": passage.filename,
        "ordinal": passage.ordinal,
        "text": passage.text,
        "score": passage.score,
    }
