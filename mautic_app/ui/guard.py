"""Who may call which event handler, checked on the server before every event.

Reflex lets any socket client call any registered handler by name, so a sign-in check in a page's
``on_load`` protects nothing. :class:`SignInGuard` runs before every event instead: the handlers of
the login page and Reflex's own hydration are open; every other handler needs a session that the
database says is live at that moment (a user signed out, disabled or demoted loses access at once),
and the handlers of admin pages need an admin. A new page is guarded without writing anything; an
admin page is marked by ``template(..., admin_only=True)``. Page data belongs to the user it was
loaded for: a tab that someone else (or a demoted admin) uses next is emptied at hydration, and no
handler runs on the old data before that.

The session token is the ``HttpOnly`` cookie the browser sent with the socket's handshake (set by
``POST /auth/login``): scripts cannot read it, and it never enters page state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import reflex as rx
from reflex.istate.manager.token import BaseStateToken
from reflex.state import (
    FrontendEventExceptionState,
    OnLoadInternalState,
    State,
    StateUpdate,
    UpdateVarsInternalState,
)
from reflex_base.event import Event
from reflex_base.registry import RegistrationContext
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import users
from mautic_app.ui.session import SessionState

if TYPE_CHECKING:
    from reflex.app import App
    from reflex.state import BaseState

# Reflex's own handlers that run before anyone can sign in: hydration, page-load enumeration,
# browser storage and error reports. They read nothing of ours.
_OPEN_STATES: set[str] = {
    State.get_full_name(),
    OnLoadInternalState.get_full_name(),
    UpdateVarsInternalState.get_full_name(),
    FrontendEventExceptionState.get_full_name(),
}
_ADMIN_STATES: set[str] = set()
_HYDRATE = {f"{State.get_full_name()}.hydrate", f"{State.get_full_name()}.hydrate_and_load"}
# Reflex gives every state ``setvar`` (set any var by name); no page uses it.
_NEVER = "setvar"


@dataclass(frozen=True)
class SignedIn:
    id: int
    username: str
    name: str
    is_admin: bool


def open_to_visitors(cls: type[BaseState]) -> type[BaseState]:
    """Mark a state whose handlers anyone may call (the login page)."""
    _OPEN_STATES.add(cls.get_full_name())
    return cls


def admin_only(state_full_name: str) -> None:
    """Only admins may call this state's handlers."""
    _ADMIN_STATES.add(state_full_name)


def is_open(state_full_name: str) -> bool:
    return state_full_name in _OPEN_STATES


def is_admin_only(state_full_name: str) -> bool:
    return state_full_name in _ADMIN_STATES


def first_cookie(raw: str, name: str) -> str:
    """The first ``name`` cookie of a ``Cookie`` header, read as browsers and Starlette read them.

    The first, not the last: a cookie planted for a parent domain comes after the site's own.
    """
    for chunk in raw.split(";"):
        key, _, value = chunk.partition("=")
        if key.strip() == name:
            return value.strip().strip('"')
    return ""


def session_token(headers: dict[str, Any] | None) -> str:
    """The session cookie from the socket handshake's headers (set by the server, never by page state)."""
    return first_cookie((headers or {}).get("cookie") or "", users.SESSION_COOKIE)


def _lookup(token: str) -> SignedIn | None:
    with session_scope() as session:
        user = users.user_for_token(session=session, token=token)
        return None if user is None else SignedIn(user.id, user.username, user.display_name, user.is_admin)


async def user_for_token(token: str) -> SignedIn | None:
    return await rx.run_in_thread(lambda: _lookup(token)) if token else None


async def signed_in_user(state: BaseState) -> SignedIn | None:
    """The user whose live session this tab's socket carries, read from the database now."""
    return await user_for_token(session_token(state._get_root_state().router_data.get("headers")))


def viewer(user: SignedIn | None) -> str:
    """Whom a tab's page data was loaded for: the user and their admin flag ("" for nobody)."""
    return f"{user.id}:{int(user.is_admin)}" if user else ""


def _show(shown: SessionState, user: SignedIn | None) -> None:
    """Keep the shell's view of the user (name, admin menu) in step; assigned only when it changed."""
    values = (user.id, user.username, user.name, user.is_admin) if user else (0, "", "", False)
    if (shown.user_id, shown.username, shown.user_name, shown.is_admin) != values:
        shown.user_id, shown.username, shown.user_name, shown.is_admin = values


async def _refusal(root: BaseState, *specs: Any) -> StateUpdate:
    """No handler runs; the tab learns only who it is (signed out, not an admin) and where to go."""
    delta = await root._get_resolved_delta()
    root._clean()
    return StateUpdate(delta=delta, events=Event.from_event_type(list(specs)))


def to_login(path: str, query: str = "") -> Any:
    """Where a refused visitor goes: the login page, back to ``path`` afterwards (a local path only)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path or path.rstrip("/") in ("", routes.LOGIN):
        return rx.redirect(routes.LOGIN)
    return rx.redirect(routes.login(path + (f"?{query}" if query else "")))


async def allowed(state: BaseState, state_full_name: str) -> SignedIn | None:
    """The signed-in user if they may use ``state_full_name`` now (admin pages need an admin), else None."""
    user = await signed_in_user(state)
    if user is None or (is_admin_only(state_full_name) and not user.is_admin):
        return None
    return user


async def _tab_viewer(token: str) -> str:
    """Whom the tab ``token`` has page data for (read, not locked: a check, not a change)."""
    root = await RegistrationContext.get().app.state_manager.get_state(BaseStateToken(ident=token, cls=SessionState))
    return (await root._get_root_state().get_state(SessionState))._viewer


class UploadsNeedASession:
    """In front of Reflex's ``/_upload``, which runs the handler named in a header for the tab named in
    another, on the session that tab's socket carries: the upload request must carry a live session
    of its own, for the user that tab belongs to. A tab id alone (it sits in the page's storage and in
    socket URLs) is not enough."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith("/_upload"):
            headers = Headers(scope=scope)
            user = await user_for_token(first_cookie(headers.get("cookie", ""), users.SESSION_COOKIE))
            tab = headers.get("reflex-client-token", "")
            if user is None or not tab or len(tab) > 64 or await _tab_viewer(tab) != viewer(user):
                await PlainTextResponse("Sign in to upload files.", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SignInGuard(rx.Middleware):
    """Runs before every event (foreground, background and upload alike), under the state's lock."""

    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:
        root = state._get_root_state()
        registered = RegistrationContext.get().event_handlers.get(event.name)
        target = registered.states[0].get_full_name() if registered else ""
        by_name = event.name.rpartition(".")[2] == _NEVER
        user = await signed_in_user(root)
        shown = await root.get_state(SessionState)
        if event.name in _HYDRATE:
            if shown._viewer != viewer(user):
                # The tab's page data was loaded for someone else, or for a session that has ended: it is dropped.
                root.reset()
                shown._viewer = viewer(user)
            _show(shown, user)
            return None
        if shown._viewer != viewer(user):
            # Nothing runs on page data loaded for another user; a full reload hydrates a clean tab.
            return await _refusal(root, rx.call_script("window.location.reload()"))
        if is_open(target) and not by_name:
            return None
        _show(shown, user)
        if user is None:
            return await _refusal(root, to_login(root.router.url.path, root.router.url.query))
        if by_name or not registered:
            return await _refusal(root, rx.toast.error("This action is not available."))
        if is_admin_only(target) and not user.is_admin:
            return await _refusal(root, rx.toast.error("Only administrators can do this."), rx.redirect(routes.DASHBOARD))
        return None
