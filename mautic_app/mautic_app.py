"""The Reflex app: its pages, and the public HTTP routes (tracking, API) mounted on it."""

from __future__ import annotations

import gc

import reflex as rx

from mautic_app.ui.browser_errors import log_browser_error
from mautic_app.ui.guard import SignInGuard, UploadsNeedASession
from mautic_app.ui.pages import (  # noqa: F401  (pages register themselves)
    account,
    campaign_builder,
    campaign_stats,
    campaigns,
    companies,
    company_detail,
    contact_detail,
    contact_form,
    contacts,
    dashboard,
    email_settings,
    emails,
    fields,
    focus_edit,
    focus_items,
    form_edit,
    form_results,
    forms,
    imports,
    login,
    outbox,
    point_groups,
    point_triggers,
    points,
    segment_edit,
    segments,
    stages,
    tracking_settings,
    users,
    visitors,
)
from mautic_app.web.app import build_public_app

# Reflex would wrap every route, ours included, in CORS that lets any site read replies with the
# visitor's credentials (it echoes the Origin whenever a cookie or cached password is sent). Our
# public routes answer CORS themselves (tracking and form embeds, for the sites they serve); the
# app's own pages, the API and Reflex's routes are same-origin.
rx.App._add_cors = staticmethod(lambda api: None)  # type: ignore[method-assign]


class MauticApp(rx.App):
    """Reflex's app, adding the ``@rx.page`` pages (``template``) once.

    Reflex adds the decorated pages to the app at every compile. ``reflex run --env prod`` compiles in
    the supervising process, then forks the server's workers from it, and each worker compiles the same
    app object again: every page was added a second time, and each warned "Page ... is being
    redefined" at start-up (once per worker).
    """

    _decorated_pages_added = False

    def _apply_decorated_pages(self) -> None:
        if self._decorated_pages_added:
            return
        super()._apply_decorated_pages()
        self._decorated_pages_added = True


app = MauticApp(
    api_transformer=[build_public_app(), UploadsNeedASession],
    frontend_exception_handler=log_browser_error,
    theme=None,
    head_components=[rx.script(src="/shell.js")],
    stylesheets=["/shell.css"],
)
# Before every event handler: the session (and the admin flag for admin pages) is checked on the server.
app.add_middleware(SignInGuard())

# Everything imported so far lives as long as the process: the collector need not walk it again.
gc.freeze()
