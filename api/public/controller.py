"""The public API, authenticated by a chatbot's API key (`X-API-Key`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, HeaderParameter

from api.public.schemas import PublicChatbotOut
from core.errors import NotFound, Unauthorized
from core.tenancy import chatbots, keys


class PublicChatbotController(Controller):
    path = "/api/v1/public/chatbots"
    tags = ["public"]

    @get("/{chatbot_id:uuid}", summary="What a widget shows about the bot")
    async def get_public_chatbot(
        self,
        chatbot_id: FromPath[uuid.UUID],
        api_key: Annotated[str | None, HeaderParameter(name="X-API-Key", max_length=200)] = None,
    ) -> PublicChatbotOut:
        if not api_key:
            raise Unauthorized("send the chatbot's API key in the X-API-Key header")
        principal = await keys.authenticate(api_key)
        if principal.chatbot_id != chatbot_id:
            raise NotFound(f"chatbot {chatbot_id} not found")
        bot = await chatbots.get(principal.customer_id, chatbot_id)
        return PublicChatbotOut(id=bot.id, name=bot.name, description=bot.description)
