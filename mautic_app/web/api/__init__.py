"""The REST API: Mautic's paths, parameters and JSON shapes under ``/api``, plus its OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mautic_app.settings import get_settings
from mautic_app.web.api import (
    campaigns,
    companies,
    contacts,
    devices,
    emails,
    errors,
    fields,
    focus,
    forms,
    notes,
    points,
    segments,
)

DESCRIPTION = """Mautic-compatible REST API. Authenticate with HTTP Basic (a user's username and password).

Bodies may be JSON or form-encoded (`tags[]=a&tags[]=b`). Lists answer `{"total": "N", "<plural>": {id: {...}}}`;
errors answer `{"errors": [{"code", "message", "details", "type"}]}` with the HTTP status."""


class ApiGate:
    """Refuses the whole API (docs included) when it is switched off, and marks every answer as not sniffable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not get_settings().api_enabled:
            response = errors.error_response(403, "The API is disabled.")
            await response(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-content-type-options", b"nosniff"))
            await send(message)

        await self.app(scope, receive, send_nosniff)


# FastAPI's built-in OpenTelemetry looks up three unconfigured providers on every request; nothing here exports any.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def build_api() -> FastAPI:
    api = FastAPI(
        title="Mautic API", version="1.0", description=DESCRIPTION,
        openapi_url="/openapi.json", docs_url="/docs", redoc_url=None, telemetry=NO_TELEMETRY,
        openapi_tags=[
            {"name": "Contacts", "description": "Contacts, their notes, do-not-contact, UTM tags, points and activity."},
            {"name": "Companies", "description": "Companies and their contacts."},
            {"name": "Fields", "description": "Contact and company field definitions."},
            {"name": "Notes", "description": "Notes on contacts."},
            {"name": "Devices", "description": "Browsers and devices contacts were tracked on."},
            {"name": "Points", "description": "Point actions that score behaviour, triggers that act at a score, point groups."},
            {"name": "Segments", "description": "Segments: filters over contacts, their members, rebuilds."},
            {"name": "Forms", "description": "Forms with their fields and submit actions, and their submissions."},
            {"name": "Focus items", "description": "Focus items: bars, modals, notifications and full pages shown on sites."},
            {"name": "Campaigns", "description": "Campaigns: their sources and events, members, each contact's campaign events, export and import."},
        ],
    )
    errors.install(api)
    # A contact's plus/minus points first: they are more specific than the contacts router's /points/{operator}/{delta}.
    api.include_router(points.contact_router)
    api.include_router(segments.contact_router)  # /contacts/list/segments before the contacts router's /contacts/{id}
    for router in (contacts.router, companies.router, fields.router, notes.router, devices.router, *points.ROUTERS, segments.router, forms.router, focus.router, emails.router,
                   campaigns.router):
        api.include_router(router)
    api.add_middleware(ApiGate)
    return api
