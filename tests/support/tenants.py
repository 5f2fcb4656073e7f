"""Each test makes its own tenant, through the real registration endpoint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "Sup3r-secret-pass"


@dataclass(frozen=True)
class Tenant:
    customer_id: str
    user_id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def register_tenant(client: httpx.Client, company: str = "Acme") -> Tenant:
    email = f"owner-{uuid.uuid4().hex[:12]}@example.com"
    response = client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "name": "Owner", "company": company},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Tenant(
        customer_id=body["customer"]["id"],
        user_id=body["user"]["id"],
        email=email,
        token=body["access_token"],
    )


def add_member(client: httpx.Client, owner: Tenant, role: str = "member") -> Tenant:
    email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
    created = client.post(
        "/api/v1/users",
        headers=owner.headers,
        json={"email": email, "password": PASSWORD, "name": role.title(), "role": role},
    )
    assert created.status_code == 201, created.text
    login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return Tenant(
        customer_id=owner.customer_id,
        user_id=created.json()["id"],
        email=email,
        token=login.json()["access_token"],
    )
