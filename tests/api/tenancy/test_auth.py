"""Customer registration, sign-in, tokens and sign-out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from core.settings import get_settings
from tests.support.server import LiveServer
from tests.support.tenants import PASSWORD, Tenant


def _email() -> str:
    return f"u-{uuid.uuid4().hex[:12]}@Example.com"


def test_register_answers_token_user_and_customer(fx_client: httpx.Client) -> None:
    email = _email()
    response = fx_client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "name": "Ada", "company": "Ada Shop"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 60 * 60
    assert body["user"]["email"] == email.lower()
    assert body["user"]["role"] == "owner"
    assert body["customer"]["name"] == "Ada Shop"
    assert body["customer"]["status"] == "active"
    assert "password" not in response.text.lower().replace('"password"', "")

    me = fx_client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["customer"]["id"] == body["customer"]["id"]


def test_token_claims(fx_tenant: Tenant) -> None:
    header = jwt.get_unverified_header(fx_tenant.token)
    claims = jwt.decode(fx_tenant.token, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert {"sub", "customer", "exp", "iat", "jti"} <= set(claims)
    assert claims["sub"] == fx_tenant.user_id and claims["customer"] == fx_tenant.customer_id


@pytest.mark.parametrize(
    ("password", "needs"),
    [
        ("Sh0rt", "8-128 characters"),
        ("x" * 120 + "Aa1" + "y" * 10, "password"),
        ("alllower123", "upper-case"),
        ("ALLUPPER123", "lower-case"),
        ("NoDigitsHere", "digit"),
    ],
)
def test_password_policy(fx_client: httpx.Client, password: str, needs: str) -> None:
    response = fx_client.post(
        "/api/v1/auth/register",
        json={"email": _email(), "password": password, "name": "A", "company": "B"},
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert needs in body["detail"]
    assert body["errors"][0]["field"] == "password"


def test_duplicate_email_is_409_whatever_the_case(
    fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    response = fx_client.post(
        "/api/v1/auth/register",
        json={"email": fx_tenant.email.upper(), "password": PASSWORD, "name": "A", "company": "B"},
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "email"


def test_login_with_json_and_with_oauth2_form(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    as_json = fx_client.post(
        "/api/v1/auth/login", json={"email": fx_tenant.email, "password": PASSWORD}
    )
    as_form = fx_client.post(
        "/api/v1/auth/login", data={"username": fx_tenant.email, "password": PASSWORD}
    )
    for response in (as_json, as_form):
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        me = fx_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["user"]["id"] == fx_tenant.user_id


def test_wrong_credentials_are_401(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    wrong = fx_client.post(
        "/api/v1/auth/login", json={"email": fx_tenant.email, "password": "Wrong-pass1"}
    )
    unknown = fx_client.post("/api/v1/auth/login", json={"email": _email(), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "invalid email or password"
    empty_form = fx_client.post("/api/v1/auth/login", data={"username": fx_tenant.email})
    assert empty_form.status_code == 400


def test_logout_revokes_only_that_token(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    second = fx_client.post(
        "/api/v1/auth/login", json={"email": fx_tenant.email, "password": PASSWORD}
    )
    other_token = second.json()["access_token"]
    assert fx_client.post("/api/v1/auth/logout", headers=fx_tenant.headers).status_code == 204
    revoked = fx_client.get("/api/v1/auth/me", headers=fx_tenant.headers)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    still = fx_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {other_token}"})
    assert still.status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer eyJhbGciOiJub25lIn0.e30."],
)
def test_missing_or_bad_tokens_are_401(fx_client: httpx.Client, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = fx_client.get("/api/v1/chatbots", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_expired_and_forged_tokens_are_401(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    now = datetime.now(UTC)
    claims = {
        "sub": fx_tenant.user_id,
        "customer": fx_tenant.customer_id,
        "iat": int((now - timedelta(hours=2)).timestamp()),
        "exp": int((now - timedelta(hours=1)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    expired = jwt.encode(claims, get_settings().signing_key(), algorithm="HS256")
    response = fx_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]

    claims["exp"] = int((now + timedelta(hours=1)).timestamp())
    forged = jwt.encode(claims, "another-key-of-someone-else-0123456789", algorithm="HS256")
    response = fx_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_passwords_are_stored_as_argon2(fx_server: LiveServer, fx_tenant: Tenant) -> None:
    from tables.tenancy import CustomerUser

    row = fx_server.run(
        CustomerUser.select(CustomerUser.password_hash)
        .where(CustomerUser.email == fx_tenant.email)
        .first()
    )
    assert row["password_hash"].startswith("$argon2")
    assert PASSWORD not in row["password_hash"]
