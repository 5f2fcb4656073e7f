"""Operator action: create a customer together with its owner user."""

from __future__ import annotations

import logging
from typing import Annotated

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, EmailStr, Field
from starlette.requests import Request

from admin.forms.support import choice_schema, domain_errors_as_form_errors, operator_name
from core.security.passwords import MAX_LENGTH
from core.tenancy import accounts
from tables.tenancy import Customer, CustomerUser, Plan

log = logging.getLogger("botfleet.admin")


class CreateCustomer(BaseModel):
    # Lengths come from the columns; the password policy itself is core's (check_policy).
    company: str = Field(min_length=1, max_length=Customer.name.length)
    owner_email: EmailStr
    owner_name: str = Field(min_length=1, max_length=CustomerUser.name.length)
    owner_password: str = Field(min_length=1, max_length=MAX_LENGTH)
    plan: Annotated[Plan, choice_schema(Plan, "Plan")] = Plan.free
    token_quota: int = Field(default=Customer.token_quota.default, ge=0)


async def create_customer(request: Request, data: CreateCustomer) -> str:
    with domain_errors_as_form_errors():
        customer, owner = await accounts.register(
            email=data.owner_email,
            password=data.owner_password,
            name=data.owner_name,
            company=data.company,
            plan=data.plan,
            token_quota=data.token_quota,
        )
    log.info("operator %s created customer %s", operator_name(request), customer.id)
    return f"Created customer {customer.name!r} (id {customer.id}) with owner {owner.email}."


FORM = FormConfig(
    name="Create customer",
    pydantic_model=CreateCustomer,
    endpoint=create_customer,
    description="A new customer and its owner user, in one step. The owner signs in to "
    "the customer API with this email and password.",
    form_group="Tenancy",
)
