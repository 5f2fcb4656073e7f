"""The customer's own users; owners only."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.auth.middleware import CustomerAuthMiddleware
from api.auth.schemas import UserOut
from api.deps import Principal
from api.guards import requires_owner
from api.users.schemas import UserCreate
from core.tenancy import accounts


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    middleware = [CustomerAuthMiddleware]
    guards = [requires_owner]

    @get("/", summary="List the customer's users")
    async def list_users(self, principal: Principal) -> list[UserOut]:
        return [UserOut.of(user) for user in await accounts.list_users(principal.customer_id)]

    @post("/", status_code=HTTP_201_CREATED, summary="Add a user (owner or member)")
    async def add_user(self, data: JSONBody[UserCreate], principal: Principal) -> UserOut:
        user = await accounts.add_user(
            principal.customer_id,
            email=data.email,
            password=data.password,
            name=data.name,
            role=data.role,
        )
        return UserOut.of(user)

    @delete("/{user_id:str}", status_code=HTTP_204_NO_CONTENT, summary="Remove a user")
    async def remove_user(self, user_id: FromPath[uuid.UUID], principal: Principal) -> None:
        await accounts.remove_user(principal, user_id)
