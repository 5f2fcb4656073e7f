"""OTP delivery: which sender settings pick, and each real sender against a loopback server."""

from __future__ import annotations

import asyncio
import json
import socketserver
import threading
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from core.chat.anonymous import AnonymousSessions
from core.endusers import identity, otp
from core.endusers.senders import (
    DeliveryFailed,
    LogSender,
    SmtpSender,
    WebhookSmsSender,
    sender_for,
)
from core.resources import redis_client
from core.settings import get_settings, load_settings
from tables.chat import IdentifierKind, OtpCode
from tests.support.server import LiveServer
from tests.support.tenants import Tenant

CUSTOMER = uuid.UUID(int=1)
EMAIL = identity.of(CUSTOMER, IdentifierKind.email, "Ada@Example.com")
PHONE = identity.of(CUSTOMER, IdentifierKind.phone, "+44 20 7946 0958")


def test_identities_are_normalised_and_masked() -> None:
    assert EMAIL.identifier == "ada@example.com"
    assert EMAIL.identity_key == f"{CUSTOMER}:email:ada@example.com"
    assert PHONE.identifier == "+442079460958"
    assert identity.mask(EMAIL) == "a***@example.com"
    assert identity.mask(PHONE) == "+*********958"
    assert identity.guess(CUSTOMER, "(020) 7946-0958").kind is IdentifierKind.phone


def test_sender_for_follows_settings() -> None:
    plain = load_settings()
    assert isinstance(sender_for(plain, IdentifierKind.email), LogSender)
    assert isinstance(sender_for(plain, IdentifierKind.phone), LogSender)
    configured = load_settings(smtp_host="mail.test", sms_webhook_url="http://sms.test/send")
    assert isinstance(sender_for(configured, IdentifierKind.email), SmtpSender)
    assert isinstance(sender_for(configured, IdentifierKind.phone), WebhookSmsSender)
    # SMTP is for emails only, the webhook for phones only.
    only_smtp = load_settings(smtp_host="mail.test")
    assert isinstance(sender_for(only_smtp, IdentifierKind.phone), LogSender)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 localhost test SMTP")
        envelope: dict[str, Any] = {"rcpt": []}
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb == "MAIL":
                envelope["from"] = line.decode().strip()
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(line.decode().strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                envelope["data"] = data
                self.server.received.append(envelope)  # type: ignore[attr-defined]
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def fx_smtp() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_sender_mails_the_code_from_the_template(
    fx_smtp: socketserver.ThreadingTCPServer,
) -> None:
    port = fx_smtp.server_address[1]
    settings = load_settings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, smtp_from="Shop <shop@x.test>"
    )
    sender = sender_for(settings, IdentifierKind.email)
    asyncio.run(sender.send(EMAIL, "123456", expires_in_s=300))
    [envelope] = fx_smtp.received  # type: ignore[attr-defined]
    assert "ada@example.com" in envelope["rcpt"][0]
    mail = message_from_bytes(envelope["data"])
    assert mail["Subject"] == "Your sign-in code" and mail["To"] == "ada@example.com"
    body = mail.get_payload(decode=True).decode()
    assert "123456" in body and "5 minutes" in body


def test_smtp_failure_is_a_clear_503() -> None:
    settings = load_settings(smtp_host="127.0.0.1", smtp_port=1, smtp_starttls=False)
    with pytest.raises(DeliveryFailed, match="could not be emailed") as failure:
        asyncio.run(SmtpSender(settings).send(EMAIL, "123456", expires_in_s=300))
    assert failure.value.status == 503


class _Gateway(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        self.server.received.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fx_gateway() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    server.received = []  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_sms_webhook_posts_json(fx_gateway: HTTPServer) -> None:
    url = f"http://127.0.0.1:{fx_gateway.server_address[1]}/sms"
    sender = sender_for(load_settings(sms_webhook_url=url), IdentifierKind.phone)
    asyncio.run(sender.send(PHONE, "654321", expires_in_s=300))
    [payload] = fx_gateway.received  # type: ignore[attr-defined]
    assert payload["to"] == "+442079460958" and payload["code"] == "654321"
    assert "654321" in payload["message"] and "5 minutes" in payload["message"]

    fx_gateway.status = 500  # type: ignore[attr-defined]
    with pytest.raises(DeliveryFailed, match="could not be texted"):
        asyncio.run(sender.send(PHONE, "654321", expires_in_s=300))


class _Broken:
    async def send(self, who: identity.Identity, code: str, *, expires_in_s: int) -> None:
        raise DeliveryFailed("the gateway is down")


def test_an_undelivered_code_is_not_kept_and_not_counted(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = fx_client.post("/api/v1/chatbots", headers=fx_tenant.headers, json={"name": "B"}).json()
    customer_id, chatbot_id = uuid.UUID(fx_tenant.customer_id), uuid.UUID(bot["id"])
    who = identity.of(customer_id, IdentifierKind.phone, "+15550001111")

    async def send_broken() -> int:
        redis = redis_client(get_settings())
        try:
            anonymous = AnonymousSessions(redis, 3600)
            for _ in range(get_settings().otp_max_sends + 1):
                with pytest.raises(DeliveryFailed):
                    await otp.send(
                        who,
                        customer_id=customer_id,
                        chatbot_id=chatbot_id,
                        settings=get_settings(),
                        sender=_Broken(),
                        anonymous=anonymous,
                    )
        finally:
            await redis.aclose()
        return await OtpCode.count().where(OtpCode.identity_key == who.identity_key)

    assert fx_server.run(send_broken()) == 0
    # The failures used none of the sends: a real one still goes out.
    sent = fx_client.post(
        f"/api/v1/public/chatbots/{bot['id']}/auth/send-otp",
        headers={"X-API-Key": bot["api_key"]},
        json={"phone": who.identifier},
    )
    assert sent.status_code == 202, sent.text
