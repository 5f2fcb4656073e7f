"""Operator action: suspend or reactivate a customer."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field
from starlette.requests import Request

from admin.forms.support import choice_schema, domain_errors_as_form_errors, operator_name
from core.tenancy import accounts
from tables.tenancy import CustomerStatus

log = logging.getLogger("botfleet.admin")


class SetCustomerStatus(BaseModel):
    customer_id: uuid.UUID = Field(title="Customer id")
    status: Annotated[CustomerStatus, choice_schema(CustomerStatus, "New status")]


async def set_customer_status(request: Request, data: SetCustomerStatus) -> str:
    with domain_errors_as_form_errors():
        customer = await accounts.set_status(data.customer_id, data.status)
    log.info("operator %s set customer %s to %s", operator_name(request), customer.id, data.status)
    if data.status is CustomerStatus.suspended:
        # Enforced by core on every request: nothing is cached, so this is immediate.
        return (
            f"Customer {customer.name!r} is suspended: its users' tokens and its chatbots' "
            "API keys are refused from now on."
        )
    return f"Customer {customer.name!r} is active again."


FORM = FormConfig(
    name="Suspend or reactivate customer",
    pydantic_model=SetCustomerStatus,
    endpoint=set_customer_status,
    description="A suspended customer's tokens and API keys stop working at once; "
    "reactivating restores them.",
    form_group="Tenancy",
)
