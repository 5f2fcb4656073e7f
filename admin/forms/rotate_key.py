"""Operator action: give a chatbot a new API key; the old one stops working at once."""

from __future__ import annotations

import logging
import uuid

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field
from starlette.requests import Request

from admin.forms.support import domain_errors_as_form_errors, operator_name
from core.tenancy import chatbots
from tables.tenancy import Chatbot

log = logging.getLogger("botfleet.admin")


class RotateKey(BaseModel):
    chatbot_id: uuid.UUID = Field(title="Chatbot id")


async def rotate_key(request: Request, data: RotateKey) -> str:
    # Operators work across tenants, so the owner comes from the row itself; core then
    # applies its usual scoping (a deleted bot is "not found") and does the rotation.
    row = (
        await Chatbot.select(Chatbot.customer, Chatbot.name)
        .where(Chatbot.id == data.chatbot_id)
        .first()
    )
    if row is None:
        raise ValueError(f"chatbot {data.chatbot_id} not found")
    with domain_errors_as_form_errors():
        key = await chatbots.rotate_key(row["customer"], data.chatbot_id)
    log.info(
        "operator %s rotated the API key of chatbot %s", operator_name(request), data.chatbot_id
    )
    # The only time the secret is shown: it is stored as a hash.
    return (
        f"New API key for chatbot {row['name']!r}: {key} - copy it now, it is not shown "
        "again. The previous key no longer works."
    )


FORM = FormConfig(
    name="Rotate API key",
    pydantic_model=RotateKey,
    endpoint=rotate_key,
    description="Issue a new API key for a chatbot. The old key is rejected at once; "
    "the new one is shown only in the success message.",
    form_group="Tenancy",
)
