"""Who is signed in. Pages reach this shared state with ``get_state(SessionState)``."""

from __future__ import annotations

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import users
from mautic_app.settings import settings


def _lookup(token: str) -> dict | None:
    with session_scope() as session:
        user = users.user_for_token(session=session, token=token)
        if user is None:
            return None
        return {"id": user.id, "username": user.username, "name": user.display_name, "is_admin": user.is_admin}


class SessionState(rx.State):
    token: str = rx.Cookie("", name="mautic_session", max_age=settings.session_hours * 3600, same_site="strict", path="/")
    user_id: int = 0
    username: str = ""
    user_name: str = ""
    is_admin: bool = False

    @rx.var
    def signed_in(self) -> bool:
        return self.user_id > 0

    async def _refresh_user(self) -> bool:
        info = await rx.run_in_thread(lambda: _lookup(self.token)) if self.token else None
        if info is None:
            self.user_id, self.username, self.user_name, self.is_admin = 0, "", "", False
            return False
        self.user_id, self.username, self.user_name, self.is_admin = info["id"], info["username"], info["name"], info["is_admin"]
        return True

    @rx.event
    async def require_login(self):
        """on_load guard for every page but login: an expired or missing session goes to /login."""
        if not await self._refresh_user():
            path = self.router.url.path or "/"
            return rx.redirect(f"/login?next={path}" if path.startswith("/") and not path.startswith("//") else "/login")

    @rx.event
    async def require_admin(self):
        if not await self._refresh_user():
            return rx.redirect("/login")
        if not self.is_admin:
            return rx.redirect("/")

    @rx.event
    async def log_out(self):
        token = self.token
        if token:
            def end() -> None:
                with session_scope() as session:
                    users.end_session(session=session, token=token)

            await rx.run_in_thread(end)
        self.token = ""
        self.user_id, self.username, self.user_name, self.is_admin = 0, "", "", False
        return rx.redirect("/login")
