"""Public chat: REST, Server-Sent Events and WebSocket, plus the end user's sessions."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, WebSocket, delete, get, patch, post, websocket
from litestar.connection import ASGIConnection
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.response import ServerSentEvent
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from api.chat import turns
from api.chat.deps import CHAT_DEPENDENCIES, Engine
from api.chat.schemas import (
    ChatIn,
    ChatOut,
    MessagePage,
    SessionOut,
    SessionPage,
    SessionUpdate,
)
from api.chat.timing import timings_of
from api.deps import AppResources
from api.public.deps import PUBLIC_DEPENDENCIES, Bot, authenticate_bot
from core.chat import sessions
from core.chat.sessions import Caller
from core.errors import DomainError, Unauthorized
from tables.chat import SessionStatus

Authorization = Annotated[str | None, HeaderParameter(name="Authorization", max_length=4096)]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0)]


class PublicChatController(Controller):
    path = "/api/v1/public/chatbots/{chatbot_id:str}"
    tags = ["public chat"]
    dependencies = {**PUBLIC_DEPENDENCIES, **CHAT_DEPENDENCIES}

    async def _turn(
        self,
        data: ChatIn,
        bot: Bot,
        authorization: str | None,
        request: Request[Any, Any, Any],
        engine: Engine,
        resources: AppResources,
    ) -> tuple[turns.Turn, dict[str, str]]:
        timings = timings_of(request)
        with timings.measure("auth"):
            caller = turns.public_caller(bot, authorization, data.user_id, resources)
        with timings.measure("ratelimit"):
            headers = await turns.rate_limit(
                resources, key_id=bot.key_id, caller=caller, client=_client(request)
            )
        return await turns.prepare(engine, caller, data, timings), headers

    @post("/chat", status_code=HTTP_200_OK, summary="Chat with the bot")
    async def chat(
        self,
        data: JSONBody[ChatIn],
        bot: Bot,
        request: Request[Any, Any, Any],
        engine: Engine,
        resources: AppResources,
        authorization: Authorization = None,
    ) -> Response[ChatOut]:
        turn, headers = await self._turn(data, bot, authorization, request, engine, resources)
        return await turns.answer(engine, turn, headers)

    @post("/chat/stream", status_code=HTTP_200_OK, summary="Chat, streamed as Server-Sent Events")
    async def chat_stream(
        self,
        data: JSONBody[ChatIn],
        bot: Bot,
        request: Request[Any, Any, Any],
        engine: Engine,
        resources: AppResources,
        authorization: Authorization = None,
    ) -> ServerSentEvent:
        """`token` events carry `{delta}`; one `done` event carries message id, usage and
        citations; `error` when the model fails."""
        turn, headers = await self._turn(data, bot, authorization, request, engine, resources)
        return turns.sse(engine, turn, headers)

    @get("/sessions", summary="The signed-in end user's sessions")
    async def list_sessions(
        self,
        bot: Bot,
        resources: AppResources,
        authorization: Authorization = None,
        status: FromQuery[SessionStatus | None] = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> SessionPage:
        caller = _signed_in(bot, authorization, resources)
        rows, total = await sessions.list_sessions(
            bot.customer_id,
            bot.chatbot_id,
            caller=caller,
            status=status,
            limit=limit,
            offset=offset,
        )
        return SessionPage.of(rows, total, limit, offset)

    @get("/sessions/{session_id:str}/messages", summary="A session's messages, oldest first")
    async def messages(
        self,
        session_id: FromPath[uuid.UUID],
        bot: Bot,
        engine: Engine,
        resources: AppResources,
        authorization: Authorization = None,
        user_id: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> MessagePage:
        """Anonymous sessions are read by their id; persisted ones only by their owner
        (the end user's token, or the `user_id` they were created with)."""
        caller = turns.public_caller(bot, authorization, user_id, resources)
        if caller.anonymous:
            anonymous = await engine.anonymous.get(session_id)
            if anonymous is not None and anonymous.chatbot_id == bot.chatbot_id:
                history = await engine.anonymous.history(session_id)
                page = history[offset : offset + limit]
                return MessagePage.of(page, len(history), limit, offset)
        session = await sessions.find_persisted(caller, session_id)
        items, total = await sessions.messages_page(session.id, limit=limit, offset=offset)
        return MessagePage.of(items, total, limit, offset)

    @patch("/sessions/{session_id:str}", summary="Rename, archive or pin a session")
    async def update_session(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[SessionUpdate],
        bot: Bot,
        resources: AppResources,
        authorization: Authorization = None,
    ) -> SessionOut:
        caller = _signed_in(bot, authorization, resources)
        session = await sessions.update_session(
            bot.customer_id, bot.chatbot_id, session_id, caller, data.changes()
        )
        return SessionOut.of(session)

    @delete("/sessions/{session_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_session(
        self,
        session_id: FromPath[uuid.UUID],
        bot: Bot,
        resources: AppResources,
        authorization: Authorization = None,
    ) -> None:
        """Deletes the session and its messages."""
        caller = _signed_in(bot, authorization, resources)
        await sessions.delete_session(bot.customer_id, bot.chatbot_id, session_id, caller)


def _signed_in(bot: Bot, authorization: str | None, resources: AppResources) -> Caller:
    caller = turns.public_caller(bot, authorization, None, resources)
    if caller.end_user_id is None:
        raise Unauthorized(
            "sign in first: send the end user's token as Authorization: Bearer <token>"
        )
    return caller


@websocket("/api/v1/public/chatbots/{chatbot_id:str}/ws", dependencies=CHAT_DEPENDENCIES)
async def chat_socket(
    socket: WebSocket[Any, Any, Any],
    chatbot_id: FromPath[uuid.UUID],
    engine: Engine,
    resources: AppResources,
) -> None:
    """Send `{message, session_id?, user_id?}` as JSON; receive the same events as the SSE
    stream as JSON objects (`{type: token|done|error, ...}`). The key goes in `X-API-Key`
    or, from a browser, the `api_key` query parameter."""
    await socket.accept()
    try:
        key = socket.headers.get("x-api-key") or socket.query_params.get("api_key")
        bot = await authenticate_bot(chatbot_id, key)
        authorization = socket.headers.get("authorization") or _bearer(
            socket.query_params.get("token")
        )
        while True:
            raw = await socket.receive_data(mode="text")
            try:
                data = msgspec.json.decode(raw, type=ChatIn)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                await socket.send_json(
                    {"type": "error", "status": 400, "detail": f"Invalid message: {exc}"}
                )
                continue
            try:
                timings = turns.Timings()
                caller = turns.public_caller(bot, authorization, data.user_id, resources)
                await turns.rate_limit(
                    resources, key_id=bot.key_id, caller=caller, client=_client(socket)
                )
                turn = await turns.prepare(engine, caller, data, timings)
            except DomainError as exc:
                await socket.send_json(
                    {"type": "error", "status": exc.status, "detail": exc.detail}
                )
                continue
            async with contextlib.aclosing(turns.events(engine, turn)) as turn_events:
                async for event in turn_events:
                    await socket.send_json(event)
    except DomainError as exc:  # the key itself was refused: say why, then close
        await socket.send_json({"type": "error", "status": exc.status, "detail": exc.detail})
        await socket.close(code=4401 if exc.status == 401 else 4404)
    except WebSocketDisconnect:
        return


def _bearer(token: str | None) -> str | None:
    return f"Bearer {token}" if token else None


def _client(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Who an anonymous caller is for the rate limit: the client address."""
    return connection.client.host if connection.client else "unknown"
