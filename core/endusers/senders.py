"""How a one-time code reaches the end user: the log (default), SMTP, or an SMS webhook.

The log sender is the embedded default so a developer can sign in with no set-up: the code
is printed on the `botfleet.otp` logger. Real delivery is chosen by settings alone.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import httpx

from core.endusers.identity import Identity
from core.errors import DomainError
from core.settings import Settings
from core.templates import render
from tables.chat import IdentifierKind

logger = logging.getLogger("botfleet.otp")
SEND_TIMEOUT_S = 10.0
EMAIL_SUBJECT = "Your sign-in code"


class DeliveryFailed(DomainError):
    """The code was made but could not be delivered; the caller may simply try again."""

    status = 503
    title = "Service Unavailable"


class OtpSender(Protocol):
    async def send(self, identity: Identity, code: str, *, expires_in_s: int) -> None:
        """Deliver `code`; raise DeliveryFailed when the channel refuses it."""
        ...


def _minutes(seconds: int) -> int:
    return max(1, round(seconds / 60))


class LogSender:
    async def send(self, identity: Identity, code: str, *, expires_in_s: int) -> None:
        logger.info("OTP for %s: %s", identity.identifier, code)


class SmtpSender:
    """Plain stdlib smtplib, run off the event loop (it blocks)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.sender = settings.smtp_from
        self.starttls = settings.smtp_starttls

    def message(self, identity: Identity, code: str, *, expires_in_s: int) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = EMAIL_SUBJECT
        message["From"] = self.sender
        message["To"] = identity.identifier
        message["Message-ID"] = make_msgid(domain="botfleet")
        message.set_content(render("otp_email.txt", code=code, minutes=_minutes(expires_in_s)))
        return message

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=SEND_TIMEOUT_S) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)

    async def send(self, identity: Identity, code: str, *, expires_in_s: int) -> None:
        message = self.message(identity, code, expires_in_s=expires_in_s)
        try:
            await asyncio.to_thread(self._deliver, message)
        except (OSError, smtplib.SMTPException) as exc:
            # The end user can't act on the mail server's reply; the operator can, in the log.
            logger.warning("SMTP delivery to %s failed: %s", identity.identifier, exc)
            raise DeliveryFailed("the code could not be emailed; try again shortly") from None


class WebhookSmsSender:
    """POSTs {to, message, code} as JSON to the operator's SMS gateway (any 2xx is success)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def send(self, identity: Identity, code: str, *, expires_in_s: int) -> None:
        text = f"Your sign-in code is {code}. It expires in {_minutes(expires_in_s)} minutes."
        payload = {"to": identity.identifier, "message": text, "code": code}
        try:
            async with httpx.AsyncClient(timeout=SEND_TIMEOUT_S) as client:
                response = await client.post(self.url, json=payload)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning("SMS webhook delivery to %s failed: %s", identity.identifier, exc)
            raise DeliveryFailed("the code could not be texted; try again shortly") from None


def sender_for(settings: Settings, kind: IdentifierKind) -> OtpSender:
    """Real delivery where configured for this kind of identifier, the log otherwise."""
    if kind is IdentifierKind.email and settings.smtp_host:
        return SmtpSender(settings)
    if kind is IdentifierKind.phone and settings.sms_webhook_url:
        return WebhookSmsSender(settings.sms_webhook_url)
    return LogSender()
