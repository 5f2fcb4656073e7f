"""End-user sign-in through real HTTP: OTP (log sender), passwords, session claiming.

The log sender writes the code on the `botfleet.otp` logger; the server runs in a thread of
this process, so a handler attached to that logger sees every code it sends.
"""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.chat.anonymous import AnonymousSessions
from core.chat.messages import StoredMessage
from core.endusers.tokens import decode_end_user_token, issue_end_user_token
from core.errors import Unauthorized
from core.resources import redis_client
from core.security import tokens as customer_tokens
from core.settings import get_settings
from tables.chat import ChatMessage, ChatSession, OtpCode
from tests.support.otp import CodeLog
from tests.support.server import LiveServer
from tests.support.tenants import Tenant

GOOD_PASSWORD = "Endus3r-pass"


@dataclass(frozen=True)
class Bot:
    id: str
    key: str
    tenant: Tenant

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}

    def url(self, path: str) -> str:
        return f"/api/v1/public/chatbots/{self.id}/auth/{path}"


def make_bot(client: httpx.Client, tenant: Tenant, name: str = "Shop bot") -> Bot:
    response = client.post("/api/v1/chatbots", headers=tenant.headers, json={"name": name})
    assert response.status_code == 201, response.text
    return Bot(id=response.json()["id"], key=response.json()["api_key"], tenant=tenant)


@pytest.fixture
def fx_bot(fx_client: httpx.Client, fx_tenant: Tenant) -> Bot:
    return make_bot(fx_client, fx_tenant)


def new_phone() -> str:
    return "+1555" + "".join(secrets.choice("0123456789") for _ in range(7))


def send(client: httpx.Client, bot: Bot, **body: object) -> httpx.Response:
    return client.post(bot.url("send-otp"), headers=bot.headers, json=body)


def verify(client: httpx.Client, bot: Bot, **body: object) -> httpx.Response:
    return client.post(bot.url("verify-otp"), headers=bot.headers, json=body)


def sign_in_by_otp(client: httpx.Client, bot: Bot, codes: CodeLog, phone: str, **extra: object):
    assert send(client, bot, phone=phone).status_code == 202
    response = verify(client, bot, phone=phone, code=codes.code_for(phone), **extra)
    assert response.status_code == 200, response.text
    return response.json()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def anonymous_session(server: LiveServer, bot: Bot, contents: list[str]) -> uuid.UUID:
    """An anonymous Redis session with history, as the chat engine would leave it."""

    async def create() -> uuid.UUID:
        redis = redis_client(get_settings())
        try:
            sessions = AnonymousSessions(redis, 3600)
            session = await sessions.create(uuid.UUID(bot.tenant.customer_id), uuid.UUID(bot.id))
            roles = ["user", "assistant"]
            await sessions.append(
                session.id,
                [StoredMessage(role=roles[i % 2], content=c) for i, c in enumerate(contents)],
            )
            return session.id
        finally:
            await redis.aclose()

    return server.run(create())


def test_send_then_verify_gives_an_end_user_token(
    fx_client: httpx.Client, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    phone = new_phone()
    sent = send(fx_client, fx_bot, phone=f"{phone[:5]} {phone[5:8]}-{phone[8:]}")
    assert sent.status_code == 202, sent.text
    body = sent.json()
    assert body == {"sent_to": body["sent_to"], "kind": "phone", "expires_in": 300}
    assert body["sent_to"].endswith(phone[-3:]) and phone[4:-3] not in body["sent_to"]

    response = verify(fx_client, fx_bot, phone=phone, code=fx_codes.code_for(phone))
    assert response.status_code == 200, response.text
    auth = response.json()
    assert auth["token_type"] == "bearer" and auth["expires_in"] == 30 * 24 * 3600
    assert auth["end_user"]["identifier"] == phone and auth["end_user"]["kind"] == "phone"
    assert auth["end_user"]["verified"] is True and auth["session_id"] is None
    claims = decode_end_user_token(auth["access_token"], key=get_settings().signing_key())
    assert str(claims.end_user_id) == auth["end_user"]["id"]
    assert str(claims.customer_id) == fx_bot.tenant.customer_id
    assert str(claims.chatbot_id) == fx_bot.id

    # The code is spent: a second verify with it fails.
    again = verify(fx_client, fx_bot, phone=phone, code=fx_codes.code_for(phone))
    assert again.status_code == 401 and "already been used" in again.json()["detail"]


def test_email_is_normalised_and_the_user_is_found_again(
    fx_client: httpx.Client, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    email = f"Ada.{uuid.uuid4().hex[:8]}@Example.COM"
    assert send(fx_client, fx_bot, email=email).json()["sent_to"].endswith("@example.com")
    first = verify(fx_client, fx_bot, email=email.lower(), code=fx_codes.code_for(email.lower()))
    assert first.status_code == 200, first.text
    assert first.json()["end_user"]["identifier"] == email.lower()
    assert send(fx_client, fx_bot, email=email.lower()).status_code == 202
    second = verify(fx_client, fx_bot, email=email, code=fx_codes.code_for(email.lower()))
    assert second.json()["end_user"]["id"] == first.json()["end_user"]["id"]


def test_check_user(fx_client: httpx.Client, fx_bot: Bot, fx_codes: CodeLog) -> None:
    phone = new_phone()
    check = fx_client.post(
        fx_bot.url("check-user"), headers=fx_bot.headers, json={"identifier": phone}
    )
    assert check.status_code == 200, check.text
    assert check.json() == {
        "identifier": phone,
        "kind": "phone",
        "exists": False,
        "verified": False,
        "has_password": False,
    }
    sign_in_by_otp(fx_client, fx_bot, fx_codes, phone, password=GOOD_PASSWORD)
    check = fx_client.post(
        fx_bot.url("check-user"), headers=fx_bot.headers, json={"identifier": phone}
    )
    assert check.json()["exists"] and check.json()["verified"] and check.json()["has_password"]

    bad = fx_client.post(
        fx_bot.url("check-user"), headers=fx_bot.headers, json={"identifier": "hi"}
    )
    assert bad.status_code == 400 and "identifier" in bad.json()["detail"]


def test_five_wrong_codes_lock_the_code(
    fx_client: httpx.Client, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    phone = new_phone()
    assert send(fx_client, fx_bot, phone=phone).status_code == 202
    code = fx_codes.code_for(phone)
    for left in (4, 3, 2, 1):
        response = verify(fx_client, fx_bot, phone=phone, code=wrong(code))
        assert response.status_code == 401, response.text
        assert f"{left} {'try' if left == 1 else 'tries'} left" in response.json()["detail"]
    fifth = verify(fx_client, fx_bot, phone=phone, code=wrong(code))
    assert fifth.status_code == 429 and "locked" in fifth.json()["detail"]
    sixth = verify(fx_client, fx_bot, phone=phone, code=code)  # even the right one
    assert sixth.status_code == 429, sixth.text
    assert "locked after 5 wrong tries" in sixth.json()["detail"]
    assert sixth.json()["errors"][0]["field"] == "code"

    # A new code works.
    assert send(fx_client, fx_bot, phone=phone).status_code == 202
    assert verify(fx_client, fx_bot, phone=phone, code=fx_codes.code_for(phone)).status_code == 200


def test_an_expired_code_is_refused(
    fx_client: httpx.Client, fx_server: LiveServer, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    phone = new_phone()
    assert send(fx_client, fx_bot, phone=phone).status_code == 202
    past = datetime.now(UTC) - timedelta(seconds=1)
    key = f"{fx_bot.tenant.customer_id}:phone:{phone}"
    fx_server.run(OtpCode.update({OtpCode.expires_at: past}).where(OtpCode.identity_key == key))
    response = verify(fx_client, fx_bot, phone=phone, code=fx_codes.code_for(phone))
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_a_new_code_replaces_the_previous_one(
    fx_client: httpx.Client, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    phone = new_phone()
    assert send(fx_client, fx_bot, phone=phone).status_code == 202
    first = fx_codes.code_for(phone)
    assert send(fx_client, fx_bot, phone=phone).status_code == 202
    second = fx_codes.code_for(phone)
    if first != second:  # one in a million they're equal
        assert verify(fx_client, fx_bot, phone=phone, code=first).status_code == 401
    assert verify(fx_client, fx_bot, phone=phone, code=second).status_code == 200


def test_a_fourth_send_within_the_window_is_429(
    fx_client: httpx.Client, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    email = f"limit-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(3):
        assert send(fx_client, fx_bot, email=email).status_code == 202
    fourth = send(fx_client, fx_bot, email=email)
    assert fourth.status_code == 429, fourth.text
    assert fourth.headers["content-type"].startswith("application/problem+json")
    assert "at most 3 codes" in fourth.json()["detail"] and "10 minutes" in fourth.json()["detail"]
    assert 0 < int(fourth.headers["Retry-After"]) <= 600
    # Other identifiers are not affected.
    assert send(fx_client, fx_bot, email=f"x{email}").status_code == 202


def test_an_anonymous_session_moves_to_the_database_on_verify(
    fx_client: httpx.Client, fx_server: LiveServer, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    session_id = anonymous_session(fx_server, fx_bot, ["Do you sell kettles?", "Yes, three."])
    status = fx_client.get(fx_bot.url(f"status/{session_id}"), headers=fx_bot.headers)
    assert status.status_code == 200, status.text
    assert status.json() == {
        "session_id": str(session_id),
        "authenticated": False,
        "end_user_id": None,
        "storage": "memory",
    }
    phone = new_phone()
    auth = sign_in_by_otp(fx_client, fx_bot, fx_codes, phone, session_id=str(session_id))
    assert auth["session_id"] == str(session_id)

    status = fx_client.get(fx_bot.url(f"status/{session_id}"), headers=fx_bot.headers).json()
    assert status["storage"] == "database" and status["authenticated"] is True
    assert status["end_user_id"] == auth["end_user"]["id"]
    rows = fx_server.run(
        ChatMessage.select(ChatMessage.role, ChatMessage.content)
        .where(ChatMessage.session == session_id)
        .order_by(ChatMessage.created_at)
    )
    assert [(r["role"], r["content"]) for r in rows] == [
        ("user", "Do you sell kettles?"),
        ("assistant", "Yes, three."),
    ]
    owner = fx_server.run(
        ChatSession.select(ChatSession.end_user).where(ChatSession.id == session_id)
    )
    assert str(owner[0]["end_user"]) == auth["end_user"]["id"]

    # The same person signing in again with it keeps it; someone else gets 404.
    again = sign_in_by_otp(fx_client, fx_bot, fx_codes, phone, session_id=str(session_id))
    assert again["session_id"] == str(session_id)
    other = new_phone()
    assert send(fx_client, fx_bot, phone=other).status_code == 202
    stolen = verify(
        fx_client, fx_bot, phone=other, code=fx_codes.code_for(other), session_id=str(session_id)
    )
    assert stolen.status_code == 404 and "session_id" in stolen.json()["detail"]
    # ...and that 404 did not spend the code.
    assert verify(fx_client, fx_bot, phone=other, code=fx_codes.code_for(other)).status_code == 200


def test_the_session_named_at_send_time_is_claimed(
    fx_client: httpx.Client, fx_server: LiveServer, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    session_id = anonymous_session(fx_server, fx_bot, ["hello"])
    phone = new_phone()
    assert send(fx_client, fx_bot, phone=phone, session_id=str(session_id)).status_code == 202
    auth = verify(fx_client, fx_bot, phone=phone, code=fx_codes.code_for(phone)).json()
    assert auth["session_id"] == str(session_id)
    status = fx_client.get(fx_bot.url(f"status/{session_id}"), headers=fx_bot.headers).json()
    assert status["storage"] == "database"


def test_status_of_unknown_or_other_bots_sessions_is_404(
    fx_client: httpx.Client, fx_server: LiveServer, fx_tenant: Tenant, fx_bot: Bot
) -> None:
    missing = fx_client.get(fx_bot.url(f"status/{uuid.uuid4()}"), headers=fx_bot.headers)
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]
    other_bot = make_bot(fx_client, fx_tenant, "Other")
    session_id = anonymous_session(fx_server, other_bot, ["hi"])
    assert (
        fx_client.get(fx_bot.url(f"status/{session_id}"), headers=fx_bot.headers).status_code == 404
    )
    assert send(fx_client, fx_bot, phone=new_phone(), session_id=str(session_id)).status_code == 404
    bad = fx_client.get(fx_bot.url("status/not-a-uuid"), headers=fx_bot.headers)
    assert bad.status_code in (400, 404)


def test_password_set_at_verify_then_sign_in(
    fx_client: httpx.Client, fx_server: LiveServer, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    phone = new_phone()
    assert send(fx_client, fx_bot, phone=phone).status_code == 202
    code = fx_codes.code_for(phone)
    weak = verify(fx_client, fx_bot, phone=phone, code=code, password="short")
    assert weak.status_code == 400 and "password" in weak.json()["detail"]
    # The policy failure spent nothing: the same code still works.
    user = verify(fx_client, fx_bot, phone=phone, code=code, password=GOOD_PASSWORD)
    assert user.status_code == 200, user.text

    session_id = anonymous_session(fx_server, fx_bot, ["remember me"])
    signed = fx_client.post(
        fx_bot.url("sign-in"),
        headers=fx_bot.headers,
        json={"identifier": phone, "password": GOOD_PASSWORD, "session_id": str(session_id)},
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["end_user"]["id"] == user.json()["end_user"]["id"]
    assert signed.json()["session_id"] == str(session_id)
    claims = decode_end_user_token(signed.json()["access_token"], key=get_settings().signing_key())
    assert str(claims.end_user_id) == user.json()["end_user"]["id"]

    for identifier, password in ((phone, "Wrong-pass1"), (new_phone(), GOOD_PASSWORD)):
        refused = fx_client.post(
            fx_bot.url("sign-in"),
            headers=fx_bot.headers,
            json={"identifier": identifier, "password": password},
        )
        assert refused.status_code == 401
        assert refused.json()["detail"] == "invalid identifier or password"


def test_a_user_without_password_cannot_sign_in_with_one(
    fx_client: httpx.Client, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    phone = new_phone()
    sign_in_by_otp(fx_client, fx_bot, fx_codes, phone)
    refused = fx_client.post(
        fx_bot.url("sign-in"),
        headers=fx_bot.headers,
        json={"identifier": phone, "password": GOOD_PASSWORD},
    )
    assert refused.status_code == 401


def test_another_chatbots_key_is_404(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_bot: Bot
) -> None:
    other = make_bot(fx_client, fx_tenant, "Other")
    response = fx_client.post(
        fx_bot.url("send-otp"), headers=other.headers, json={"phone": new_phone()}
    )
    assert response.status_code == 404
    assert fx_client.post(fx_bot.url("send-otp"), json={"phone": new_phone()}).status_code == 401


def test_end_users_belong_to_one_customer(
    fx_client: httpx.Client, fx_bot: Bot, fx_other_tenant: Tenant, fx_codes: CodeLog
) -> None:
    phone = new_phone()
    sign_in_by_otp(fx_client, fx_bot, fx_codes, phone, password=GOOD_PASSWORD)
    other = make_bot(fx_client, fx_other_tenant)
    # B has never sent a code to this phone, so A's code means nothing there.
    assert send(fx_client, fx_bot, phone=phone).status_code == 202
    a_code = fx_codes.code_for(phone)
    stolen = verify(fx_client, other, phone=phone, code=a_code)
    assert stolen.status_code == 401 and "no code has been sent" in stolen.json()["detail"]
    check = fx_client.post(
        other.url("check-user"), headers=other.headers, json={"identifier": phone}
    )
    assert check.json()["exists"] is False
    refused = fx_client.post(
        other.url("sign-in"),
        headers=other.headers,
        json={"identifier": phone, "password": GOOD_PASSWORD},
    )
    assert refused.status_code == 401
    # B's end user with the same phone is a different person.
    own = sign_in_by_otp(fx_client, other, fx_codes, phone)
    mine = verify(fx_client, fx_bot, phone=phone, code=a_code)
    assert mine.status_code == 200
    assert own["end_user"]["id"] != mine.json()["end_user"]["id"]


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("send-otp", {}, "phone or email is required"),
        ("send-otp", {"phone": "+15551234567", "email": "a@b.co"}, "either phone or email"),
        ("send-otp", {"phone": "12ab"}, "phone must be 7-15 digits"),
        ("send-otp", {"phone": "123"}, "phone must be 7-15 digits"),
        ("send-otp", {"phone": "+1234567890123456"}, "phone must be 7-15 digits"),
        ("send-otp", {"email": "not-an-email"}, "email must be an email address"),
        ("send-otp", {"phone": "+15551234567", "extra": 1}, "extra"),
        ("send-otp", {"phone": 5551234567}, "phone"),
        ("send-otp", {"phone": "+15551234567", "session_id": "nope"}, "session_id"),
        ("verify-otp", {"phone": "+15551234567"}, "code"),
        ("verify-otp", {"phone": "+15551234567", "code": "12ab56"}, "code must be the 6 digits"),
        ("verify-otp", {"phone": "+15551234567", "code": "1" * 40}, "code"),
        ("sign-in", {"identifier": "+15551234567"}, "password"),
        ("sign-in", {"identifier": "", "password": "x"}, "identifier"),
        ("check-user", {"identifier": "x" * 400}, "identifier"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    fx_client: httpx.Client, fx_bot: Bot, path: str, body: dict[str, object], named: str
) -> None:
    response = fx_client.post(fx_bot.url(path), headers=fx_bot.headers, json=body)
    assert response.status_code == 400, response.text
    assert named in response.json()["detail"], response.json()


def test_not_json_is_400(fx_client: httpx.Client, fx_bot: Bot) -> None:
    response = fx_client.post(
        fx_bot.url("send-otp"),
        headers={**fx_bot.headers, "content-type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 400, response.text


def test_customer_and_end_user_tokens_are_not_interchangeable(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    key = get_settings().signing_key()
    with pytest.raises(Unauthorized):
        decode_end_user_token(fx_tenant.token, key=key)
    end_user_token = sign_in_by_otp(fx_client, fx_bot, fx_codes, new_phone())["access_token"]
    with pytest.raises(Unauthorized):
        customer_tokens.decode(end_user_token, key=key)
    me = fx_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {end_user_token}"})
    assert me.status_code == 401


def test_end_user_token_checks() -> None:
    key = get_settings().signing_key()
    ids = {"end_user_id": uuid.uuid4(), "customer_id": uuid.uuid4(), "chatbot_id": uuid.uuid4()}
    token = issue_end_user_token(**ids, key=key, ttl=timedelta(minutes=5))
    claims = decode_end_user_token(token, key=key, customer_id=ids["customer_id"])
    assert (claims.end_user_id, claims.customer_id, claims.chatbot_id) == tuple(ids.values())
    assert claims.expires_at > datetime.now(UTC)

    expired = issue_end_user_token(**ids, key=key, ttl=timedelta(seconds=-1))
    with pytest.raises(Unauthorized, match="expired"):
        decode_end_user_token(expired, key=key)
    with pytest.raises(Unauthorized, match="another customer"):
        decode_end_user_token(token, key=key, customer_id=uuid.uuid4())
    for bad in ("", "abc", token + "x", token.replace(".", "", 1)):
        with pytest.raises(Unauthorized, match="invalid"):
            decode_end_user_token(bad, key=key)
    with pytest.raises(Unauthorized, match="invalid"):
        decode_end_user_token(token, key="another-key-that-is-long-enough-0123456789")


def test_concurrent_guesses_never_exceed_the_tries(
    fx_client: httpx.Client, fx_server: LiveServer, fx_bot: Bot, fx_codes: CodeLog
) -> None:
    phone = new_phone()
    assert send(fx_client, fx_bot, phone=phone).status_code == 202
    code = fx_codes.code_for(phone)
    guesses = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 13)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(lambda guess: verify(fx_client, fx_bot, phone=phone, code=guess), guesses)
        )
    assert {a.status_code for a in answers} <= {401, 429}, [a.text for a in answers]
    judged = [a for a in answers if "is wrong" in a.json()["detail"]]
    assert len(judged) == 5  # only five guesses were ever compared with the code
    key = f"{fx_bot.tenant.customer_id}:phone:{phone}"
    [row] = fx_server.run(OtpCode.select(OtpCode.attempts).where(OtpCode.identity_key == key))
    assert row["attempts"] == 5
    assert verify(fx_client, fx_bot, phone=phone, code=code).status_code == 429
