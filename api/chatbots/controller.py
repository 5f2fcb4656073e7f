"""A customer's chatbots: CRUD, key rotation and the embed snippet."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.auth.middleware import CustomerAuthMiddleware
from api.chatbots.schemas import (
    ApiKeyOut,
    ChatbotCreate,
    ChatbotCreated,
    ChatbotOut,
    ChatbotUpdate,
    SnippetOut,
)
from api.deps import AppResources, Principal
from api.guards import requires_owner
from core.tenancy import chatbots


class ChatbotController(Controller):
    path = "/api/v1/chatbots"
    tags = ["chatbots"]
    middleware = [CustomerAuthMiddleware]

    @get("/", summary="List the customer's chatbots")
    async def list_chatbots(self, principal: Principal) -> list[ChatbotOut]:
        return [ChatbotOut.of(bot) for bot in await chatbots.list_for(principal.customer_id)]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires_owner], summary="Create a chatbot")
    async def create_chatbot(
        self, data: JSONBody[ChatbotCreate], principal: Principal
    ) -> ChatbotCreated:
        created = await chatbots.create(principal.customer_id, msgspec.structs.asdict(data))
        out = ChatbotOut.of(created.chatbot)
        return ChatbotCreated(**msgspec.structs.asdict(out), api_key=created.api_key)

    @get("/{chatbot_id:str}", summary="One chatbot")
    async def get_chatbot(
        self, chatbot_id: FromPath[uuid.UUID], principal: Principal
    ) -> ChatbotOut:
        return ChatbotOut.of(await chatbots.get(principal.customer_id, chatbot_id))

    @patch("/{chatbot_id:str}", guards=[requires_owner], summary="Change a chatbot's settings")
    async def update_chatbot(
        self, chatbot_id: FromPath[uuid.UUID], data: JSONBody[ChatbotUpdate], principal: Principal
    ) -> ChatbotOut:
        return ChatbotOut.of(
            await chatbots.update(principal.customer_id, chatbot_id, data.changes())
        )

    @delete("/{chatbot_id:str}", status_code=HTTP_204_NO_CONTENT, guards=[requires_owner])
    async def delete_chatbot(self, chatbot_id: FromPath[uuid.UUID], principal: Principal) -> None:
        """Soft delete: the bot and its keys disappear everywhere."""
        await chatbots.delete(principal.customer_id, chatbot_id)

    @post("/{chatbot_id:str}/rotate-key", status_code=200, guards=[requires_owner])
    async def rotate_key(self, chatbot_id: FromPath[uuid.UUID], principal: Principal) -> ApiKeyOut:
        """A new API key, shown once; the old one stops working now."""
        return ApiKeyOut(api_key=await chatbots.rotate_key(principal.customer_id, chatbot_id))

    @get("/{chatbot_id:str}/snippet", summary="The <script> tag to paste into a site")
    async def snippet(
        self, chatbot_id: FromPath[uuid.UUID], principal: Principal, resources: AppResources
    ) -> SnippetOut:
        bot = await chatbots.get(principal.customer_id, chatbot_id)
        return SnippetOut(html=chatbots.snippet(bot.id, resources.settings.public_url))
