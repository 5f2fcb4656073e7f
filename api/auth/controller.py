"""Customer sign-up, sign-in (JSON or OAuth2 form), sign-out and `me`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.auth.middleware import CustomerAuthMiddleware
from api.auth.schemas import (
    CustomerOut,
    LoginRequest,
    MeOut,
    RegisterOut,
    RegisterRequest,
    TokenOut,
    UserOut,
)
from api.deps import AppResources, Principal
from core.errors import InvalidInput, UnsupportedMediaType
from core.tenancy import accounts
from tables.tenancy import CustomerUser


def _token_for(user: CustomerUser, resources: AppResources) -> TokenOut:
    settings = resources.settings
    ttl = timedelta(minutes=settings.jwt_expiry_minutes)
    token = accounts.issue_token(user, key=settings.signing_key(), ttl=ttl)
    return TokenOut(access_token=token, expires_in=int(ttl.total_seconds()))


async def _login_request(request: Request[Any, Any, Any]) -> LoginRequest:
    """JSON `{email, password}` or the OAuth2 password form (`username`, `password`)."""
    content_type = request.content_type[0]
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        username, password = form.get("username"), form.get("password")
        if (
            not isinstance(username, str)
            or not isinstance(password, str)
            or not username
            or not password
        ):
            raise InvalidInput("the form needs username and password", field="username")
        return LoginRequest(email=username, password=password)
    if content_type != "application/json":
        raise UnsupportedMediaType("send JSON {email, password} or an OAuth2 password form")
    try:
        return msgspec.json.decode(await request.body(), type=LoginRequest)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"Invalid request: {exc}", field=_field_of(str(exc))) from None
    except msgspec.DecodeError:
        raise InvalidInput("the body is not valid JSON") from None


def _field_of(message: str) -> str | None:
    # msgspec says "... at `$.email`" or "unknown field `x`"
    if "`" in message:
        return message.split("`")[1].removeprefix("$.")
    return None


class PublicAuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", status_code=HTTP_201_CREATED, summary="Create a customer and its owner")
    async def register(
        self, data: JSONBody[RegisterRequest], resources: AppResources
    ) -> RegisterOut:
        customer, user = await accounts.register(
            email=data.email, password=data.password, name=data.name, company=data.company
        )
        token = _token_for(user, resources)
        return RegisterOut(
            access_token=token.access_token,
            expires_in=token.expires_in,
            user=UserOut.of(user),
            customer=CustomerOut.of(customer),
        )

    @post("/login", status_code=200, summary="Sign in (JSON or OAuth2 password form)")
    async def login(self, request: Request[Any, Any, Any], resources: AppResources) -> TokenOut:
        credentials = await _login_request(request)
        user = await accounts.authenticate(credentials.email, credentials.password)
        return _token_for(user, resources)


class SessionController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    middleware = [CustomerAuthMiddleware]

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Revoke this access token")
    async def logout(self, principal: Principal, resources: AppResources) -> None:
        await accounts.logout(principal, resources.redis)

    @get("/me", summary="The signed-in user and their customer")
    async def me(self, principal: Principal) -> MeOut:
        user = await accounts.get_user(principal.customer_id, principal.user_id)
        customer = await accounts.get_customer(principal.customer_id)
        return MeOut(user=UserOut.of(user), customer=CustomerOut.of(customer))
