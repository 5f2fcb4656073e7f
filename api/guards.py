"""Guards: plain functions `requires_<condition>(connection, handler)`."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from core.errors import Forbidden
from core.tenancy.principals import CustomerPrincipal


def requires_owner(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user = connection.user
    if not isinstance(user, CustomerPrincipal) or not user.is_owner:
        raise Forbidden("only the customer's owners may do this")
