"""End-user sign-in on the public API (the chatbot's X-API-Key): OTP, password, status."""

from __future__ import annotations

import uuid
from datetime import timedelta

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from api.deps import AppResources
from api.endusers.schemas import (
    CheckUserOut,
    CheckUserRequest,
    EndUserAuthOut,
    EndUserOut,
    OtpSentOut,
    SendOtpRequest,
    SessionStatusOut,
    SignInRequest,
    VerifyOtpRequest,
)
from api.public.deps import PUBLIC_DEPENDENCIES, Bot
from core.chat.anonymous import AnonymousSessions
from core.endusers import accounts, identity, otp, sessions
from core.endusers.identity import Identity
from core.endusers.senders import sender_for
from core.endusers.tokens import issue_end_user_token
from core.errors import InvalidInput
from core.resources import Resources
from core.tenancy.principals import ChatbotPrincipal
from tables.chat import EndUser, IdentifierKind


def _phone_or_email(bot: ChatbotPrincipal, phone: str | None, email: str | None) -> Identity:
    if phone is not None and email is not None:
        raise InvalidInput("send either phone or email, not both", field="email")
    if phone is not None:
        return identity.of(bot.customer_id, IdentifierKind.phone, phone)
    if email is not None:
        return identity.of(bot.customer_id, IdentifierKind.email, email)
    raise InvalidInput("phone or email is required", field="phone")


def _anonymous(resources: Resources) -> AnonymousSessions:
    return AnonymousSessions(resources.redis, resources.settings.anonymous_session_ttl_s)


def _signed_in(
    user: EndUser, bot: ChatbotPrincipal, resources: Resources, session_id: uuid.UUID | None
) -> EndUserAuthOut:
    settings = resources.settings
    ttl = timedelta(minutes=settings.end_user_token_minutes)
    token = issue_end_user_token(
        end_user_id=user.id,
        customer_id=bot.customer_id,
        chatbot_id=bot.chatbot_id,
        key=settings.signing_key(),
        ttl=ttl,
    )
    return EndUserAuthOut(
        access_token=token,
        expires_in=int(ttl.total_seconds()),
        end_user=EndUserOut.of(user),
        session_id=session_id,
    )


class EndUserAuthController(Controller):
    path = "/api/v1/public/chatbots/{chatbot_id:str}/auth"
    tags = ["public: end-user sign-in"]
    dependencies = PUBLIC_DEPENDENCIES

    @post("/check-user", status_code=200, summary="Does this phone or email have an account?")
    async def check_user(self, data: JSONBody[CheckUserRequest], bot: Bot) -> CheckUserOut:
        who = identity.guess(bot.customer_id, data.identifier)
        return CheckUserOut.of(who, await accounts.check_user(who))

    @post("/send-otp", status_code=HTTP_202_ACCEPTED, summary="Send a one-time sign-in code")
    async def send_otp(
        self, data: JSONBody[SendOtpRequest], bot: Bot, resources: AppResources
    ) -> OtpSentOut:
        who = _phone_or_email(bot, data.phone, data.email)
        sent = await otp.send(
            who,
            customer_id=bot.customer_id,
            chatbot_id=bot.chatbot_id,
            settings=resources.settings,
            sender=sender_for(resources.settings, who.kind),
            anonymous=_anonymous(resources),
            session_id=data.session_id,
        )
        return OtpSentOut(
            sent_to=identity.mask(who), kind=who.kind.value, expires_in=sent.expires_in
        )

    @post("/verify-otp", status_code=200, summary="Exchange a one-time code for a token")
    async def verify_otp(
        self, data: JSONBody[VerifyOtpRequest], bot: Bot, resources: AppResources
    ) -> EndUserAuthOut:
        who = _phone_or_email(bot, data.phone, data.email)
        verified = await otp.verify(
            who,
            data.code,
            customer_id=bot.customer_id,
            chatbot_id=bot.chatbot_id,
            settings=resources.settings,
            anonymous=_anonymous(resources),
            session_id=data.session_id,
            password=data.password,
        )
        return _signed_in(verified.end_user, bot, resources, verified.session_id)

    @post("/sign-in", status_code=200, summary="Sign in with a password set at verify-otp")
    async def sign_in(
        self, data: JSONBody[SignInRequest], bot: Bot, resources: AppResources
    ) -> EndUserAuthOut:
        who = identity.guess(bot.customer_id, data.identifier)
        signed_in = await accounts.sign_in(
            who,
            data.password,
            customer_id=bot.customer_id,
            chatbot_id=bot.chatbot_id,
            redis=resources.redis,
            anonymous=_anonymous(resources),
            session_id=data.session_id,
        )
        return _signed_in(signed_in.end_user, bot, resources, signed_in.session_id)

    @get("/status/{session_id:str}", summary="Is this session signed in, and where is it stored?")
    async def status(
        self, session_id: FromPath[uuid.UUID], bot: Bot, resources: AppResources
    ) -> SessionStatusOut:
        state = await sessions.state(
            _anonymous(resources),
            customer_id=bot.customer_id,
            chatbot_id=bot.chatbot_id,
            session_id=session_id,
        )
        return SessionStatusOut(
            session_id=state.session_id,
            authenticated=state.authenticated,
            end_user_id=state.end_user_id,
            storage=state.storage,
        )
