"""The public HTTP app Reflex runs in front of its own backend (``rx.App(api_transformer=...)``).

Reflex mounts its backend inside this app after our routes, so everything mounted here wins
over the frontend. Public surfaces (the REST API, web tracking and the signed-in CSV export now; embeds and form
submits as they arrive) are mounted in :func:`build_public_app`.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from mautic_app.web import auth, email, email_webhooks, exports, focus, forms, tracking
from mautic_app.web.api import NO_TELEMETRY, build_api


def build_public_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, telemetry=NO_TELEMETRY)
    app.include_router(auth.router)
    app.include_router(exports.router)
    app.include_router(tracking.router)
    app.include_router(forms.router)
    app.include_router(focus.router)
    app.include_router(email.router)
    app.include_router(email_webhooks.router)
    if os.environ.get("MAUTIC_BENCH_ROUTES") == "1":
        app.include_router(tracking.bench_router)
    app.mount("/api", build_api())
    return app


def standalone_app() -> FastAPI:
    """The public routes and ``/ping`` exactly as Reflex's backend serves them, without the UI: what the
    benchmarks and the tests that need a real server run under Granian (``--factory``)."""
    from reflex.app import ping

    app = build_public_app()
    app.add_route("/ping", ping, methods=["GET"])
    return app
