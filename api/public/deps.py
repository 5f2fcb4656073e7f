"""The public API's caller: the chatbot whose API key is in `X-API-Key`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter

from api.chat.timing import timings_of
from core.errors import NotFound, Unauthorized
from core.tenancy import keys
from core.tenancy.principals import ChatbotPrincipal


async def provide_chatbot(
    request: Request[Any, Any, Any],
    chatbot_id: FromPath[uuid.UUID],
    api_key: Annotated[str | None, HeaderParameter(name="X-API-Key", max_length=200)] = None,
) -> ChatbotPrincipal:
    with timings_of(request).measure("auth"):  # the Server-Timing of chat answers
        return await authenticate_bot(chatbot_id, api_key)


async def authenticate_bot(chatbot_id: uuid.UUID, api_key: str | None) -> ChatbotPrincipal:
    if not api_key:
        raise Unauthorized("send the chatbot's API key in the X-API-Key header")
    principal = await keys.authenticate(api_key)
    if principal.chatbot_id != chatbot_id:  # a key of another bot: that bot doesn't exist for it
        raise NotFound(f"chatbot {chatbot_id} not found")
    return principal


PUBLIC_DEPENDENCIES = {"bot": Provide(provide_chatbot)}
Bot = NamedDependency[ChatbotPrincipal]
