"""The public API, authenticated by a chatbot's API key (`X-API-Key`)."""

from __future__ import annotations

from litestar import Controller, get

from api.public.deps import PUBLIC_DEPENDENCIES, Bot
from api.public.schemas import PublicChatbotOut
from core.tenancy import chatbots


class PublicChatbotController(Controller):
    path = "/api/v1/public/chatbots/{chatbot_id:str}"
    tags = ["public"]
    dependencies = PUBLIC_DEPENDENCIES

    @get("/", summary="What a widget shows about the bot")
    async def get_public_chatbot(self, bot: Bot) -> PublicChatbotOut:
        chatbot = await chatbots.get(bot.customer_id, bot.chatbot_id)
        return PublicChatbotOut(id=chatbot.id, name=chatbot.name, description=chatbot.description)
