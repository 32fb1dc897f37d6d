"""The login page: the only page open to visitors who are not signed in."""

from __future__ import annotations

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import users
from mautic_app.ui.session import SessionState


def _sign_in(username: str, password: str) -> str | None:
    with session_scope() as session:
        user = users.authenticate(session=session, username=username, password=password)
        return users.start_session(session=session, user=user) if user else None


class LoginState(rx.State):
    error: str = ""
    busy: bool = False

    @rx.event
    async def submit(self, form: dict):
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        if not username or not password:
            self.error = "Enter your username and password."
            return
        self.busy = True
        yield
        token = await rx.run_in_thread(lambda: _sign_in(username, password))
        self.busy = False
        if token is None:
            self.error = "Wrong username or password."
            return
        self.error = ""
        session = await self.get_state(SessionState)
        session.token = token
        target = self.router.url.query_parameters.get("next", "/")
        # Only local paths: never an open redirect.
        if not isinstance(target, str) or not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/"
        yield rx.redirect(target)

    @rx.event
    async def skip_if_signed_in(self):
        session = await self.get_state(SessionState)
        if session.token and await session._refresh_user():
            return rx.redirect("/")


@rx.page(route="/login", title="Log in | Mautic", on_load=LoginState.skip_if_signed_in)
def login() -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Log in to Mautic", size="6"),
                    rx.vstack(
                        rx.el.label("Username", html_for="username"),
                        rx.input(id="username", name="username", auto_complete="username", auto_focus=True, width="100%"),
                        width="100%",
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.el.label("Password", html_for="password"),
                        rx.input(id="password", name="password", type="password", auto_complete="current-password", width="100%"),
                        width="100%",
                        spacing="1",
                    ),
                    rx.cond(LoginState.error != "", rx.callout(LoginState.error, color_scheme="red", role="alert", width="100%")),
                    rx.button("Log in", type="submit", loading=LoginState.busy, width="100%"),
                    spacing="4",
                    width="100%",
                ),
                on_submit=LoginState.submit,
            ),
            width="100%",
            max_width="24rem",
            size="4",
        ),
        min_height="100vh",
        padding="1rem",
        background=rx.color("gray", 2),
    )
