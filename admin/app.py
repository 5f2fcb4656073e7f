"""The operator dashboard: Piccolo Admin, built once per process and mounted at /admin/."""

from __future__ import annotations

from urllib.parse import urlsplit

from piccolo.apps.user.tables import BaseUser
from piccolo_admin.endpoints import create_admin
from piccolo_api.session_auth.tables import SessionsBase
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from admin.forms import FORMS
from admin.tables import TABLES
from core.settings import Settings, get_settings

SITE_NAME = "Botfleet operators"


class _SlashRedirect:
    """`/admin` -> `/admin/`: the admin page loads its assets and API by relative URLs
    (`./assets/...`, `./api/...`), which only resolve under the trailing slash.

    Litestar hands a mount both `/admin` and `/admin/` as path `/` (and refuses a second
    handler on the mount path), so the two are told apart by the raw request path here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path: bytes = scope.get("raw_path") or b""
        if (
            scope["type"] == "http"
            and scope["path"] == "/"
            and raw_path
            and not raw_path.endswith(b"/")
        ):
            query = scope.get("query_string", b"").decode("latin-1")
            location = raw_path.decode("latin-1") + "/" + (f"?{query}" if query else "")
            await RedirectResponse(location)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _allowed_hosts(settings: Settings) -> list[str]:
    """For the CSRF middleware's Origin/Referer check, which it applies to HTTPS requests
    only (on top of the double-submit cookie it always checks): the public host."""
    host = urlsplit(settings.public_url).hostname
    return [host] if host else []


def create_admin_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or get_settings()
    admin = create_admin(
        tables=TABLES,
        forms=FORMS,
        auth_table=BaseUser,  # operators are Piccolo users (`botfleet createsuperuser`)
        session_table=SessionsBase,
        site_name=SITE_NAME,
        # Piccolo's `production` means "the session cookie is Secure (HTTPS only)"; CSRF
        # protection is on either way. In development and tests the admin is served over
        # plain http://127.0.0.1, where a Secure cookie would never come back, so sign-in
        # would silently fail: production=True only in production.
        production=settings.is_production,
        allowed_hosts=_allowed_hosts(settings),
    )
    return _SlashRedirect(admin)
