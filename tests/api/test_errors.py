"""Every error is RFC 9457 problem details; nothing a client sends answers 500."""

from __future__ import annotations

import httpx

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_unknown_route_is_problem_details(fx_client: httpx.Client) -> None:
    body = assert_problem(fx_client.get("/api/v1/no-such-thing"), 404)
    assert "/api/v1/no-such-thing" in body["detail"]


def test_wrong_method_is_problem_details(fx_client: httpx.Client) -> None:
    assert_problem(fx_client.delete("/health"), 405)


def test_malformed_json_is_400(fx_client: httpx.Client) -> None:
    response = fx_client.post(
        "/api/v1/auth/register",
        content=b'{"email": "a@b.co", ',
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 400)


def test_wrong_content_type_is_4xx(fx_client: httpx.Client) -> None:
    response = fx_client.post(
        "/api/v1/auth/login", content=b"<xml/>", headers={"content-type": "application/xml"}
    )
    assert_problem(response, 415)
    response = fx_client.post(
        "/api/v1/auth/register", content=b"email=a", headers={"content-type": "text/plain"}
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith(PROBLEM)


def test_validation_error_names_the_field(fx_client: httpx.Client) -> None:
    response = fx_client.post(
        "/api/v1/auth/register",
        json={"email": "not-an-email", "password": "Passw0rdX", "name": "A", "company": "B"},
    )
    body = assert_problem(response, 400)
    assert "email" in body["detail"]
    assert any(error["field"] == "email" for error in body["errors"])


def test_unknown_field_is_named(fx_client: httpx.Client) -> None:
    response = fx_client.post(
        "/api/v1/auth/register",
        json={
            "email": "x@example.com",
            "password": "Passw0rdX",
            "name": "A",
            "company": "B",
            "admin": True,
        },
    )
    body = assert_problem(response, 400)
    assert "admin" in body["detail"]
