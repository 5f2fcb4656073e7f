"""Operators: platform staff, Piccolo `BaseUser`s who sign in to /admin/."""

from __future__ import annotations

from piccolo.apps.user.tables import BaseUser


class OperatorError(ValueError):
    pass


async def create_operator(*, username: str, email: str, password: str) -> BaseUser:
    if await BaseUser.exists().where(BaseUser.username == username):
        raise OperatorError(f"an operator named {username!r} already exists")
    try:
        return await BaseUser.create_user(
            username=username,
            password=password,
            email=email,
            admin=True,
            superuser=True,
            active=True,
        )
    except ValueError as exc:  # Piccolo's own password/username rules
        raise OperatorError(str(exc)) from None
