"""My account: every signed-in user's own name, e-mail, password, locale and time zone (the user menu opens it)."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from mautic_app import routes, throttle
from mautic_app.db import session_scope
from mautic_app.domain.fields import LOCALES, SORTED_TIMEZONES
from mautic_app.domain.locale_format import locale_name
from mautic_app.models import User
from mautic_app.services import users
from mautic_app.ui.components.widgets import labelled, native_select
from mautic_app.ui.guard import session_token
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState

PROFILE_KEYS = ("first_name", "last_name", "email", "locale", "timezone")


def _read(user_id: int) -> dict[str, str]:
    with session_scope() as session:
        user = session.get(User, user_id)
        return {} if user is None else {"username": user.username, "first_name": user.first_name or "",
                                        "last_name": user.last_name or "", "email": user.email or "",
                                        "locale": user.locale, "timezone": user.timezone}


def _save_profile(user_id: int, values: dict[str, str]) -> str:
    with session_scope() as session:
        return users.save_own_profile(session=session, user_id=user_id, **values).display_name


def _change_password(user_id: int, current: str, new: str, keep_session: str) -> None:
    with session_scope() as session:
        users.change_own_password(session=session, user_id=user_id, current=current, new=new, keep_session=keep_session)


class AccountState(rx.State):
    """Acts on the caller's own user only: the id comes from the session, never from the page."""

    profile: dict[str, str] = {}
    errors: dict[str, str] = {}
    saving: bool = False
    # Bumped after a password change: the password inputs are uncontrolled, and a new key empties them.
    password_form: int = 0

    @rx.event
    async def load(self):
        me = (await self.get_state(SessionState)).user_id
        self.profile = await rx.run_in_thread(lambda: _read(me))
        self.errors = {}

    @rx.event
    async def save_profile(self, form: dict):
        if self.saving:
            return
        session = await self.get_state(SessionState)
        me = session.user_id
        values = {k: str(form.get(k, ""))[:191] for k in PROFILE_KEYS}
        self.saving = True
        yield
        try:
            name = await rx.run_in_thread(lambda: _save_profile(me, values))
        except users.UserError as exc:
            self.errors = exc.errors
            yield rx.toast.error("Your profile was not saved: see the messages.")
            return
        finally:
            self.saving = False
        self.profile = self.profile | values
        self.errors = {}
        session.user_name = name
        yield rx.toast.success("Your profile is saved.")

    @rx.event
    async def change_password(self, form: dict):
        if self.saving:
            return
        session = await self.get_state(SessionState)
        me, username = session.user_id, session.username
        current, new, again = (str(form.get(k, ""))[:1024] for k in ("current", "password", "again"))
        if new != again:
            self.errors = {"again": "The two new passwords differ."}
            return
        # The current password is checked like a sign-in: a stolen open tab cannot guess it at full speed.
        wait = throttle.attempt(username=username, ip="")
        if wait:
            self.errors = {"current": f"Too many wrong passwords: try again in {wait} s."}
            return
        self.saving = True
        yield
        keep = session_token(self.router_data.get("headers"))
        try:
            await rx.run_in_thread(lambda: _change_password(me, current, new, keep))
        except users.UserError as exc:
            self.errors = exc.errors
            return
        finally:
            self.saving = False
        throttle.succeeded(username=username, ip="")
        self.errors = {}
        self.password_form += 1
        yield rx.toast.success("Your password is changed; your other browsers are signed out.")


def _input(key: str, label: str, **props) -> rx.Component:
    S = AccountState
    control_id = f"account-{key}"
    error = S.errors.get(key, "")
    return labelled(label, rx.input(id=control_id, name=key, width="100%", aria_invalid=error != "",
                                    aria_describedby=rx.cond(error != "", f"{control_id}-error", ""), **props),
                    control_id, error=error)


def _choice(key: str, label: str, values: tuple[str, ...], hint: str, named: Callable[[str], str] = str) -> rx.Component:
    S = AccountState
    control_id = f"account-{key}"
    return labelled(label, native_select(*[rx.el.option(named(v), value=v) for v in values], id=control_id, name=key,
                                         default_value=S.profile[key]), control_id, error=S.errors.get(key, ""), hint=hint)


def _profile() -> rx.Component:
    S = AccountState
    return rx.card(rx.form(rx.vstack(
        rx.heading("Profile", size="4", as_="h2"),
        rx.text("Signed in as ", rx.text.strong(S.profile["username"]), ". An administrator can change your username.", size="2"),
        _input("first_name", "First name", default_value=S.profile["first_name"], auto_complete="given-name"),
        _input("last_name", "Last name", default_value=S.profile["last_name"], auto_complete="family-name"),
        _input("email", "E-mail", type="email", default_value=S.profile["email"], auto_complete="email"),
        _choice("locale", "Language and number format", LOCALES, "How numbers and dates are written for you.", locale_name),
        _choice("timezone", "Time zone", SORTED_TIMEZONES, "Where your days begin and end: “today” and date ranges."),
        rx.button("Save profile", type="submit", loading=S.saving),
        spacing="3", width="100%", align="start",
    ), on_submit=S.save_profile, key=S.profile["username"]), width="100%")


def _password() -> rx.Component:
    S = AccountState
    return rx.card(rx.form(rx.vstack(
        rx.heading("Password", size="4", as_="h2"),
        rx.text(f"At least {users.MIN_PASSWORD} characters. Changing it signs you out of every other browser.", size="2"),
        _input("current", "Current password", type="password", auto_complete="current-password", required=True),
        _input("password", "New password", type="password", auto_complete="new-password", required=True,
               min_length=users.MIN_PASSWORD),
        _input("again", "New password again", type="password", auto_complete="new-password", required=True),
        rx.button("Change password", type="submit", loading=S.saving),
        spacing="3", width="100%", align="start",
    ), on_submit=S.change_password, reset_on_submit=False, key=S.password_form.to_string()), width="100%")


@template(route=routes.ACCOUNT, title="My account", on_load=AccountState.load)
def account_page() -> rx.Component:
    return rx.vstack(page_header("My account"),
                     rx.grid(_profile(), _password(), columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%",
                             max_width="66rem"),
                     width="100%")
