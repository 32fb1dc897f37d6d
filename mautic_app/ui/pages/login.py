"""The login page: the only page open to visitors who are not signed in.

The form posts to ``POST /auth/login`` (``web/auth.py``), which sets the session cookie and comes
back here with an error code when the sign-in fails; the page turns the code into words.
"""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.widgets import post_form
from mautic_app.ui.guard import open_to_visitors, signed_in_user
from mautic_app.web.auth import local_path

ERRORS = {
    "missing": "Enter your username and password.",
    "wrong": "Wrong username or password.",
}


@open_to_visitors
class LoginState(rx.State):
    error: str = ""
    next_path: str = routes.DASHBOARD

    @rx.event
    async def load(self):
        """Read the outcome of the last post; a visitor who is already signed in goes on."""
        query = self.router.url.query_parameters
        self.next_path = local_path(str(query.get("next", routes.DASHBOARD)))
        if await signed_in_user(self):
            return rx.redirect(self.next_path)
        code, seconds = str(query.get("error", "")), str(query.get("seconds", ""))
        if code == "wait" and seconds.isdigit():
            self.error = f"Too many failed sign-ins. Wait {_duration(int(seconds))}, then try again."
        else:
            self.error = ERRORS.get(code, "")


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@rx.page(route=routes.LOGIN, title="Log in | Mautic", on_load=LoginState.load)
def login() -> rx.Component:
    return rx.center(
        rx.card(
            post_form(
                rx.vstack(
                    rx.heading("Log in to Mautic", size="6"),
                    rx.vstack(
                        rx.el.label("Username", html_for="username"),
                        rx.input(id="username", name="username", auto_complete="username", auto_focus=True, required=True,
                                 width="100%"),
                        width="100%",
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.el.label("Password", html_for="password"),
                        rx.input(id="password", name="password", type="password", auto_complete="current-password",
                                 required=True, width="100%"),
                        width="100%",
                        spacing="1",
                    ),
                    rx.el.input(type="hidden", name="next", value=LoginState.next_path),
                    rx.cond(LoginState.error != "", rx.callout(LoginState.error, color_scheme="red", role="alert", width="100%")),
                    rx.button("Log in", type="submit", width="100%"),
                    spacing="4",
                    width="100%",
                ),
                action=routes.AUTH_LOGIN,
            ),
            width="100%",
            max_width="24rem",
            size="4",
        ),
        min_height="100vh",
        padding="1rem",
        background=rx.color("gray", 2),
    )
