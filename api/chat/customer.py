"""Customers chatting with their own bots (`/query`) and reading every session of a bot."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from api.auth.middleware import CustomerAuthMiddleware
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
from api.deps import AppResources, Principal
from core.chat import sessions
from core.chat.sessions import STAFF_PREFIX, Caller
from tables.chat import SessionStatus

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0)]


class CustomerChatController(Controller):
    path = "/api/v1/chatbots/{chatbot_id:str}"
    tags = ["chat"]
    middleware = [CustomerAuthMiddleware]
    dependencies = CHAT_DEPENDENCIES

    @post("/query", status_code=HTTP_200_OK, summary="Ask the bot, as the customer")
    async def query(
        self,
        chatbot_id: FromPath[uuid.UUID],
        data: JSONBody[ChatIn],
        principal: Principal,
        request: Request[Any, Any, Any],
        engine: Engine,
        resources: AppResources,
    ) -> Response[ChatOut]:
        """Sessions are kept in the database under `user_id` (default: the signed-in user)."""
        timings = timings_of(request)
        external = data.user_id or f"{STAFF_PREFIX}{principal.user_id}"
        caller = Caller(principal.customer_id, chatbot_id, external_user_id=external)
        with timings.measure("ratelimit"):
            headers = await turns.rate_limit(resources, key_id=None, caller=caller, client="")
        turn = await turns.prepare(engine, caller, data, timings)
        return await turns.answer(engine, turn, headers)

    @get("/sessions", summary="Every session of the bot (persisted ones)")
    async def list_sessions(
        self,
        chatbot_id: FromPath[uuid.UUID],
        principal: Principal,
        status: FromQuery[SessionStatus | None] = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> SessionPage:
        rows, total = await sessions.list_sessions(
            principal.customer_id,
            chatbot_id,
            caller=None,
            status=status,
            limit=limit,
            offset=offset,
        )
        return SessionPage.of(rows, total, limit, offset)

    @get("/sessions/{session_id:str}/messages", summary="A session's messages, oldest first")
    async def messages(
        self,
        chatbot_id: FromPath[uuid.UUID],
        session_id: FromPath[uuid.UUID],
        principal: Principal,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> MessagePage:
        session = await sessions.get_session(principal.customer_id, chatbot_id, session_id, None)
        items, total = await sessions.messages_page(session.id, limit=limit, offset=offset)
        return MessagePage.of(items, total, limit, offset)

    @patch("/sessions/{session_id:str}", summary="Rename, archive or pin a session")
    async def update_session(
        self,
        chatbot_id: FromPath[uuid.UUID],
        session_id: FromPath[uuid.UUID],
        data: JSONBody[SessionUpdate],
        principal: Principal,
    ) -> SessionOut:
        session = await sessions.update_session(
            principal.customer_id, chatbot_id, session_id, None, data.changes()
        )
        return SessionOut.of(session)

    @delete("/sessions/{session_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_session(
        self, chatbot_id: FromPath[uuid.UUID], session_id: FromPath[uuid.UUID], principal: Principal
    ) -> None:
        """Deletes the session and its messages."""
        await sessions.delete_session(principal.customer_id, chatbot_id, session_id, None)
