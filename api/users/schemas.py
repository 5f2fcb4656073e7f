from __future__ import annotations

from api.schemas import Email, Input, Name, Password
from tables.tenancy import Role


class UserCreate(Input):
    email: Email
    password: Password
    name: Name
    role: Role = Role.member
