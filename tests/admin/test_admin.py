"""The operator dashboard over real HTTP, driven the way its single-page app drives it.

The app's own flow: `GET /admin/` sets the `csrftoken` cookie; every unsafe request echoes
it in `X-CSRFToken` (double-submit); `POST /admin/public/login/` (JSON) sets the session
cookie; tables are under `/admin/api/tables/<table>/`, forms under `/admin/api/forms/<slug>/`.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from admin.forms import create_customer, customer_status, rotate_key
from tests.support.server import LiveServer
from tests.support.tenants import PASSWORD, Tenant

# Outside production the admin runs with production=False (plain-HTTP cookies), and
# Piccolo warns about that on every sign-in: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:If running sessions in production:UserWarning")

OPERATOR_PASSWORD = "Operat0r-pass-1234"
KEY = re.compile(r"bf_live_[A-Za-z0-9]+")


@pytest.fixture(scope="module")
def fx_operator(fx_server: LiveServer) -> tuple[str, str]:
    from core.operators import create_operator

    username = f"op-{uuid.uuid4().hex[:10]}"
    fx_server.run(
        create_operator(
            username=username, email=f"{username}@example.com", password=OPERATOR_PASSWORD
        )
    )
    return username, OPERATOR_PASSWORD


def fetch_csrf_cookie(client: httpx.Client) -> str:
    page = client.get("/admin/")
    assert page.status_code == 200, page.text
    assert '<div id="app"' in page.text or "<html" in page.text.lower()
    return client.cookies["csrftoken"]


def sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    token = fetch_csrf_cookie(client)
    return client.post(
        "/admin/public/login/",
        json={"username": username, "password": password},
        headers={"X-CSRFToken": token},
    )


@pytest.fixture(scope="module")
def fx_admin(fx_server: LiveServer, fx_operator: tuple[str, str]) -> Iterator[httpx.Client]:
    """An httpx client holding a signed-in operator's session and CSRF cookies."""
    with httpx.Client(base_url=fx_server.base_url, timeout=30) as client:
        response = sign_in(client, *fx_operator)
        assert response.status_code == 200, response.text
        assert client.cookies.get("id"), "no session cookie after sign-in"
        yield client


def unsafe(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """What the admin's own HTTP client does for POST/PUT/PATCH/DELETE."""
    headers = {"X-CSRFToken": client.cookies["csrftoken"], **kwargs.pop("headers", {})}
    return client.request(method, url, headers=headers, **kwargs)


def run_form(client: httpx.Client, slug: str, data: dict[str, Any]) -> httpx.Response:
    return unsafe(client, "POST", f"/admin/api/forms/{slug}/", json=data)


def create_bot(client: httpx.Client, tenant: Tenant) -> dict[str, Any]:
    response = client.post("/api/v1/chatbots", headers=tenant.headers, json={"name": "Helper"})
    assert response.status_code == 201, response.text
    return response.json()


def public_get(client: httpx.Client, bot_id: str, key: str) -> httpx.Response:
    return client.get(f"/api/v1/public/chatbots/{bot_id}", headers={"X-API-Key": key})


# --- mount, redirect, authentication ---------------------------------------------------


def test_admin_redirects_to_the_trailing_slash(fx_client: httpx.Client) -> None:
    response = fx_client.get("/admin", follow_redirects=False)
    assert response.is_redirect
    assert response.headers["location"] == "/admin/"
    with_query = fx_client.get("/admin?next=x", follow_redirects=False)
    assert with_query.headers["location"] == "/admin/?next=x"
    page = fx_client.get("/admin", follow_redirects=True)
    assert page.url.path == "/admin/" and page.status_code == 200
    # The page's relative asset URLs resolve under the mount.
    assets = re.findall(r'(?:src|href)="\./(assets/[^"]+)"', page.text)
    assert assets
    for asset in assets:
        assert fx_client.get(f"/admin/{asset}").status_code == 200, asset


def test_anonymous_requests_are_refused(fx_server: LiveServer) -> None:
    with httpx.Client(base_url=fx_server.base_url, timeout=30) as anonymous:
        assert anonymous.get("/admin/api/tables/customer/").status_code == 401
        assert anonymous.get("/admin/api/forms/").status_code == 401
        # Even with a valid CSRF pair, a form needs a session.
        fetch_csrf_cookie(anonymous)
        form = run_form(anonymous, customer_status.FORM.slug, {})
        assert form.status_code == 401


def test_sign_in_needs_the_csrf_token(fx_server: LiveServer, fx_operator: tuple[str, str]) -> None:
    username, password = fx_operator
    credentials = {"username": username, "password": password}
    with httpx.Client(base_url=fx_server.base_url, timeout=30) as client:
        # No CSRF cookie yet.
        assert client.post("/admin/public/login/", json=credentials).status_code == 403
        token = fetch_csrf_cookie(client)
        # A cookie but no header (what a cross-site form post would look like).
        assert client.post("/admin/public/login/", json=credentials).status_code == 403
        wrong = client.post(
            "/admin/public/login/", json=credentials, headers={"X-CSRFToken": "forged"}
        )
        assert wrong.status_code == 403
        assert "id" not in client.cookies
        bad_password = client.post(
            "/admin/public/login/",
            json={"username": username, "password": "Wrong-pass-1"},
            headers={"X-CSRFToken": token},
        )
        assert bad_password.status_code == 401
        assert sign_in(client, username, password).status_code == 200
        assert client.get("/admin/api/user/").json()["username"] == username


# --- tables ------------------------------------------------------------------------------


def test_lists_customers(fx_admin: httpx.Client, fx_tenant: Tenant) -> None:
    response = fx_admin.get("/admin/api/tables/customer/", params={"id": fx_tenant.customer_id})
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [row["id"] for row in rows] == [fx_tenant.customer_id]
    assert rows[0]["name"] == "Acme" and rows[0]["status"] == "active"
    grouped = fx_admin.get("/admin/api/tables/grouped/").json()["grouped"]
    assert set(grouped["Tenancy"]) >= {"customer", "customer_user", "chatbot", "api_key"}


def test_customer_users_never_show_the_password_hash(
    fx_server: LiveServer, fx_admin: httpx.Client, fx_tenant: Tenant
) -> None:
    from tables.tenancy import CustomerUser

    stored = fx_server.run(
        CustomerUser.select(CustomerUser.password_hash)
        .where(CustomerUser.id == fx_tenant.user_id)
        .first()
    )["password_hash"]
    assert stored.startswith("$argon2")

    listed = fx_admin.get(
        "/admin/api/tables/customer_user/",
        params={"customer": fx_tenant.customer_id, "__readable": "true"},
    )
    assert listed.status_code == 200, listed.text
    rows = listed.json()["rows"]
    assert [row["email"] for row in rows] == [fx_tenant.email]
    assert rows[0]["customer_readable"] == "Acme"
    single = fx_admin.get(f"/admin/api/tables/customer_user/{fx_tenant.user_id}/")
    # Piccolo keeps `secret` columns out of its SELECT; the response model still has the
    # field, so it comes back as null. The hash itself is nowhere in either answer.
    assert rows[0]["password_hash"] is None and single.json()["password_hash"] is None
    assert stored not in listed.text and stored not in single.text
    assert "$argon2" not in listed.text + single.text
    # Hidden from the list view, and not even requestable: `secret` columns are excluded.
    schema = fx_admin.get("/admin/api/tables/customer_user/schema/").json()
    assert "password_hash" not in schema["extra"]["visible_column_names"]
    assert "password_hash" not in schema["extra"]["visible_fields_options"]
    params = {"customer": fx_tenant.customer_id}
    asked = fx_admin.get(
        "/admin/api/tables/customer_user/",
        params={**params, "__visible_fields": "id,password_hash"},
    )
    assert asked.status_code == 200 and asked.json()["rows"][0]["password_hash"] is None
    # Nor can it be filtered on, which would make a LIKE oracle over the hash.
    oracle = fx_admin.get(
        "/admin/api/tables/customer_user/", params={**params, "password_hash": "$argon2"}
    )
    assert oracle.status_code == 400


def test_the_password_hash_is_read_only(
    fx_admin: httpx.Client, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    url = f"/admin/api/tables/customer_user/{fx_tenant.user_id}/"
    # The admin's edit form posts the (never shown) hash back empty: the password survives.
    edited = unsafe(fx_admin, "PATCH", url, json={"name": "Renamed", "password_hash": ""})
    assert edited.status_code == 200, edited.text
    assert fx_admin.get(url).json()["name"] == "Renamed"
    overwrite = unsafe(fx_admin, "PATCH", url, json={"password_hash": "not-a-hash"})
    assert overwrite.status_code == 400
    assert unsafe(fx_admin, "PUT", url, json={"name": "x"}).status_code == 405
    created = unsafe(
        fx_admin,
        "POST",
        "/admin/api/tables/customer_user/",
        json={"customer": fx_tenant.customer_id, "email": "x@example.com", "password_hash": "x"},
    )
    assert created.status_code == 405
    login = fx_client.post(
        "/api/v1/auth/login", json={"email": fx_tenant.email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text


def test_api_keys_are_hidden_and_read_only(
    fx_admin: httpx.Client, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = create_bot(fx_client, fx_tenant)
    listed = fx_admin.get("/admin/api/tables/api_key/", params={"chatbot": bot["id"]})
    assert listed.status_code == 200, listed.text
    (row,) = listed.json()["rows"]
    assert row["secret_hash"] is None  # a `secret` column: never selected (see above)
    assert hashlib.sha256(bot["api_key"].encode()).hexdigest() not in listed.text
    assert bot["api_key"] not in listed.text
    assert bot["api_key"].startswith(row["prefix"])
    schema = fx_admin.get("/admin/api/tables/api_key/schema/").json()
    assert "secret_hash" not in schema["extra"]["visible_column_names"]
    assert "secret_hash" not in schema["extra"]["visible_fields_options"]
    oracle = fx_admin.get("/admin/api/tables/api_key/", params={"secret_hash": "0"})
    assert oracle.status_code == 400

    url = f"/admin/api/tables/api_key/{row['id']}/"
    assert unsafe(fx_admin, "PATCH", url, json={"revoked_at": None}).status_code == 405
    assert unsafe(fx_admin, "PUT", url, json={"prefix": "x"}).status_code == 405
    assert unsafe(fx_admin, "DELETE", url).status_code == 405
    created = unsafe(
        fx_admin,
        "POST",
        "/admin/api/tables/api_key/",
        json={"chatbot": bot["id"], "prefix": "abc", "secret_hash": "0" * 64},
    )
    assert created.status_code == 405
    assert "Rotate API key" in created.json()["detail"]
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 200


def test_chatbot_edits_store_origins_as_core_does(
    fx_server: LiveServer, fx_admin: httpx.Client, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    from tables.tenancy import Chatbot

    bot = create_bot(fx_client, fx_tenant)
    url = f"/admin/api/tables/chatbot/{bot['id']}/"
    # The admin's edit form sends JSON columns as JSON text.
    origins = '["https://Shop.example.com/", "https://shop.example.com"]'
    edited = unsafe(fx_admin, "PATCH", url, json={"allowed_origins": origins, "name": "Shop"})
    assert edited.status_code == 200, edited.text
    stored = fx_server.run(
        Chatbot.select(Chatbot.name, Chatbot.allowed_origins)
        .where(Chatbot.id == bot["id"])
        .output(load_json=True)
        .first()
    )
    assert stored == {"name": "Shop", "allowed_origins": ["https://shop.example.com"]}
    bad = unsafe(fx_admin, "PATCH", url, json={"allowed_origins": '["ftp://x"]'})
    assert bad.status_code == 400
    assert "origin" in bad.text


# --- forms -------------------------------------------------------------------------------


def test_forms_are_listed(fx_admin: httpx.Client) -> None:
    slugs = {form["slug"] for form in fx_admin.get("/admin/api/forms/").json()}
    assert slugs == {
        create_customer.FORM.slug,
        customer_status.FORM.slug,
        rotate_key.FORM.slug,
    }
    schema = fx_admin.get(f"/admin/api/forms/{customer_status.FORM.slug}/schema/").json()
    # A plain string the admin can render (a pydantic enum `$ref` renders no input at all).
    assert schema["properties"]["status"]["type"] == "string"


def test_suspending_a_customer_stops_its_tokens_and_keys_at_once(
    fx_admin: httpx.Client, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = create_bot(fx_client, fx_tenant)
    assert fx_client.get("/api/v1/chatbots", headers=fx_tenant.headers).status_code == 200

    slug = customer_status.FORM.slug
    suspended = run_form(
        fx_admin, slug, {"customer_id": fx_tenant.customer_id, "status": "suspended"}
    )
    assert suspended.status_code == 200, suspended.text
    assert "suspended" in suspended.json()["custom_form_success"]
    assert fx_client.get("/api/v1/chatbots", headers=fx_tenant.headers).status_code == 403
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 403
    listed = fx_admin.get("/admin/api/tables/customer/", params={"id": fx_tenant.customer_id})
    assert listed.json()["rows"][0]["status"] == "suspended"

    reactivated = run_form(
        fx_admin, slug, {"customer_id": fx_tenant.customer_id, "status": "active"}
    )
    assert reactivated.status_code == 200, reactivated.text
    assert fx_client.get("/api/v1/chatbots", headers=fx_tenant.headers).status_code == 200
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 200


def test_status_form_errors_are_shown_in_the_form(fx_admin: httpx.Client) -> None:
    slug = customer_status.FORM.slug
    unknown = run_form(fx_admin, slug, {"customer_id": str(uuid.uuid4()), "status": "suspended"})
    assert unknown.status_code == 422
    assert "not found" in unknown.json()["custom_form_error"]
    bad_status = run_form(fx_admin, slug, {"customer_id": str(uuid.uuid4()), "status": "frozen"})
    assert bad_status.status_code == 422
    assert bad_status.json()["detail"][0]["loc"] == ["status"]


def test_rotating_a_key_from_the_dashboard(
    fx_admin: httpx.Client, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = create_bot(fx_client, fx_tenant)
    old_key = bot["api_key"]
    assert public_get(fx_client, bot["id"], old_key).status_code == 200

    response = run_form(fx_admin, rotate_key.FORM.slug, {"chatbot_id": bot["id"]})
    assert response.status_code == 200, response.text
    message = response.json()["custom_form_success"]
    (new_key,) = KEY.findall(message)
    assert new_key != old_key
    assert public_get(fx_client, bot["id"], old_key).status_code == 401
    assert public_get(fx_client, bot["id"], new_key).status_code == 200

    unknown = run_form(fx_admin, rotate_key.FORM.slug, {"chatbot_id": str(uuid.uuid4())})
    assert unknown.status_code == 422
    assert "not found" in unknown.json()["custom_form_error"]


def test_creating_a_customer_with_its_owner(
    fx_admin: httpx.Client, fx_client: httpx.Client
) -> None:
    email = f"founder-{uuid.uuid4().hex[:10]}@example.com"
    form = {
        "company": "Globex",
        "owner_email": email,
        "owner_name": "Hank",
        "owner_password": PASSWORD,
        "plan": "business",
        "token_quota": 5_000_000,
    }
    created = run_form(fx_admin, create_customer.FORM.slug, form)
    assert created.status_code == 200, created.text
    assert email in created.json()["custom_form_success"]

    login = fx_client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    me = fx_client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.status_code == 200, me.text
    listed = fx_admin.get(
        "/admin/api/tables/customer/",
        params={"contact_email": email, "contact_email__match": "exact"},
    )
    (row,) = listed.json()["rows"]
    assert (row["name"], row["plan"], row["token_quota"]) == ("Globex", "business", 5_000_000)

    # Core's rules answer in the form: a taken email, a weak password.
    again = run_form(fx_admin, create_customer.FORM.slug, form)
    assert again.status_code == 422
    assert "already exists" in again.json()["custom_form_error"]
    weak = run_form(
        fx_admin,
        create_customer.FORM.slug,
        {**form, "owner_email": f"x-{email}", "owner_password": "short"},
    )
    assert weak.status_code == 422
    assert "password" in weak.json()["custom_form_error"]
    bad_email = run_form(fx_admin, create_customer.FORM.slug, {**form, "owner_email": "nope"})
    assert bad_email.status_code == 422
    assert bad_email.json()["detail"][0]["loc"] == ["owner_email"]


# --- production mode ---------------------------------------------------------------------


def test_production_mode_secure_cookie_and_origin_check(
    fx_server: LiveServer, fx_operator: tuple[str, str]
) -> None:
    """production=True: the session cookie is Secure, and over HTTPS the CSRF middleware
    also wants the Origin to be the public host (BOTFLEET_PUBLIC_URL in the tests)."""
    from admin.app import create_admin_app
    from core.settings import load_settings

    settings = load_settings(env="production")
    assert settings.is_production
    app = create_admin_app(settings)
    username, password = fx_operator

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://bots.example.test"
        ) as client:
            assert (await client.get("/")).status_code == 200
            token = client.cookies["csrftoken"]
            credentials = {"username": username, "password": password}
            headers = {"X-CSRFToken": token}
            foreign = await client.post(
                "/public/login/",
                json=credentials,
                headers={**headers, "Origin": "https://evil.example"},
            )
            own = await client.post(
                "/public/login/",
                json=credentials,
                headers={**headers, "Origin": "https://bots.example.test"},
            )
            return foreign, own

    # On the server's loop: the database pool lives there.
    foreign, own = fx_server.run(scenario())
    assert foreign.status_code == 403
    assert "origin" in foreign.text.lower()
    assert own.status_code == 200, own.text
    session_cookie = next(
        value for value in own.headers.get_list("set-cookie") if value.startswith("id=")
    )
    assert "secure" in session_cookie.lower() and "httponly" in session_cookie.lower()
