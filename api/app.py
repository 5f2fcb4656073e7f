"""The app factory: `create_app()` builds the Litestar app once per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, asgi
from litestar.config.cors import CORSConfig
from litestar.handlers import ASGIRouteHandler
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.types import Receive, Scope, Send

from admin.app import create_admin_app
from api.auth.controller import PublicAuthController, SessionController
from api.chat.customer import CustomerChatController
from api.chat.public import PublicChatController, chat_socket
from api.chatbots.controller import ChatbotController
from api.deps import DEPENDENCIES
from api.documents.controller import DocumentController
from api.endusers.controller import EndUserAuthController
from api.errors import EXCEPTION_HANDLERS
from api.health.controller import liveness, readiness
from api.middleware import request_log
from api.public.controller import PublicChatbotController
from api.usage.controller import UsageController
from api.users.controller import UserController
from core.chat.engine import ChatEngine
from core.llm import LLMRouter
from core.resources import Resources
from core.settings import Settings, get_settings


def _lifespan(settings: Settings):
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.resources = resources = await Resources.open(settings)
        router = LLMRouter.from_settings(settings)
        app.state.chat = ChatEngine(resources, router)
        try:
            yield
        finally:
            await router.aclose()
            await resources.close()

    return lifespan


def _admin_mount(settings: Settings) -> ASGIRouteHandler:
    """The operator dashboard at /admin/ (built once; `/admin` redirects to `/admin/`)."""
    admin_app = create_admin_app(settings)

    # copy_scope: the admin (FastAPI) writes its own routing state into the scope.
    @asgi("/admin", is_mount=True, copy_scope=True)
    async def admin(scope: Scope, receive: Receive, send: Send) -> None:
        await admin_app(scope, receive, send)

    return admin


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    return Litestar(
        route_handlers=[
            liveness,
            readiness,
            _admin_mount(settings),
            PublicAuthController,
            SessionController,
            UserController,
            ChatbotController,
            DocumentController,
            PublicChatbotController,
            PublicChatController,
            chat_socket,
            CustomerChatController,
            EndUserAuthController,
            UsageController,
        ],
        dependencies=DEPENDENCIES,
        lifespan=[_lifespan(settings)],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_log],
        cors_config=CORSConfig(allow_origins=settings.cors_origins)
        if settings.cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="Botfleet",
            version="1",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(path="/swagger")],
        ),
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            log_exceptions="never",  # api/errors.py logs unexpected errors once
        ),
        # Uploads stream to disk and enforce their own limit; JSON bodies are small anyway.
        request_max_body_size=(settings.max_upload_mb + 1) * 1024 * 1024,
        debug=False,
    )
