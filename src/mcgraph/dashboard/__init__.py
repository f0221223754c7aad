"""The live dashboard: a static page at ``/`` that talks to ``/graphql`` like any client.

The page is plain HTML, CSS and ES modules shipped in the package (no build step, no
CDN, so it works offline). Every response of it carries a strict Content-Security-Policy:
scripts, styles and connections from this origin only, no inline code, no framing, so a
name or a message in an organisation's data can never run as script on the page.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class DashboardFiles(StaticFiles):
    """Starlette's static files, each answered with the page's security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def dashboard() -> Mount:
    """The route of the page and its files; mounted last, so the API's routes win."""
    return Mount("/", DashboardFiles(directory=STATIC, html=True), name="dashboard")
