"""Customer authentication: `Authorization: Bearer <jwt>` on every customer route."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from core.errors import Unauthorized
from core.tenancy.accounts import principal_from_token


class CustomerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send a customer access token: Authorization: Bearer <token>")
        resources = connection.app.state.resources
        principal = await principal_from_token(
            token.strip(), key=resources.settings.signing_key(), redis=resources.redis
        )
        return AuthenticationResult(user=principal, auth=token)
