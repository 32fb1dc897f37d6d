"""Settings → E-mail (administrators): how messages leave (SMTP, Mailgun's API, or the built-in outbox), the
default sender, a rate limit, the frequency rule for marketing e-mail, and a test send showing the server's answer."""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.domain.mailer_dsn import DsnError
from mautic_app.services import mailer
from mautic_app.ui.components.widgets import labelled, native_select, section
from mautic_app.ui.layout import page_header, template

KEYS = ("kind", "host", "port", "security", "username", "password", "api_key", "domain", "region", "pool_size", "rate_per_second",
        "from_address", "from_name", "frequency_number", "frequency_time")


def _load() -> dict[str, Any]:
    with session_scope() as session:
        return mailer.settings_values(session=session)


def _save(values: dict[str, str]) -> dict[str, str]:
    with session_scope() as session:
        return mailer.save_settings(session=session, values=values)


def _test(address: str) -> mailer.Result:
    with session_scope() as session:
        cfg = mailer.config(session=session)
    return mailer.send_test(cfg=cfg, to_address=address)


class EmailSettingsState(rx.State):
    values: dict[str, str] = dict.fromkeys(KEYS, "")
    errors: dict[str, str] = dict.fromkeys(KEYS, "")
    password_set: bool = False
    api_key_set: bool = False
    from_environment: bool = False
    saving: bool = False
    test_address: str = ""
    test_answer: str = ""
    test_ok: bool = False
    testing: bool = False

    @rx.event
    async def load(self):
        found = await rx.run_in_thread(_load)
        self.values = {k: str(found.get(k, "")) for k in KEYS} | {"password": "", "api_key": ""}
        self.password_set, self.api_key_set, self.from_environment = found["password_set"], found["api_key_set"], found["environment"]
        self.errors, self.test_answer = dict.fromkeys(KEYS, ""), ""

    @rx.event
    def set_value(self, key: str, value: str):
        if key in KEYS:
            self.values = self.values | {key: str(value)[:500]}

    @rx.event
    async def save(self):
        if self.saving:
            return
        self.saving = True
        yield
        values = dict(self.values)
        errors = await rx.run_in_thread(lambda: _save(values))
        self.saving = False
        self.errors = dict.fromkeys(KEYS, "") | {k: v for k, v in errors.items() if k in KEYS}
        if errors:
            yield rx.toast.error("The settings were not saved: fix the highlighted fields.")
            return
        found = await rx.run_in_thread(_load)
        self.password_set, self.api_key_set = found["password_set"], found["api_key_set"]
        self.values = self.values | {"password": "", "api_key": ""}
        yield rx.toast.success("E-mail settings saved.")

    @rx.event
    def set_test_address(self, value: str):
        self.test_address = value[:191]

    @rx.event
    async def send_test(self):
        if self.testing:
            return
        self.testing, self.test_answer = True, ""
        yield
        address = self.test_address.strip()
        try:
            result = await rx.run_in_thread(lambda: _test(address))
            self.test_ok = result.outcome == "sent"
            self.test_answer = ("Sent. " if self.test_ok else "Not sent. ") + f"The server answered: {result.answer}"
        except (ValueError, DsnError) as exc:
            self.test_ok, self.test_answer = False, f"Not sent: {exc}"
        self.testing = False


def _id(key: str) -> str:
    return "email-settings-" + key.replace("_", "-")


def _input(label: str, key: str, *, hint: str | None = None, **props: Any) -> rx.Component:
    S = EmailSettingsState
    return labelled(label, rx.input(id=_id(key), value=S.values[key], on_change=lambda v: S.set_value(key, v), width="100%", **props),
                    _id(key), error=S.errors[key], hint=hint)


def _select(label: str, key: str, options: dict[str, str]) -> rx.Component:
    S = EmailSettingsState
    return labelled(label, native_select(*[rx.el.option(text, value=value) for value, text in options.items()], id=_id(key),
                                         value=S.values[key], on_change=lambda v: S.set_value(key, v)), _id(key), error=S.errors[key])


@template(route=routes.EMAIL_SETTINGS, title="E-mail settings", on_load=EmailSettingsState.load, admin_only=True)
def email_settings_page() -> rx.Component:
    S = EmailSettingsState
    kind = S.values["kind"]
    return rx.vstack(
        page_header("E-mail settings", rx.link("Outbox", href=routes.OUTBOX, size="2")),
        rx.cond(S.from_environment, rx.callout("MAUTIC_MAILER_DSN is set on the server: it decides the transport, whatever this page says.",
                                               icon="info", role="status", width="100%")),
        section(
            "Transport",
            _select("Send through", "kind", {"outbox": "Nothing: keep messages in the outbox (not delivered)", "smtp": "An SMTP server",
                                             "mailgun": "Mailgun (HTTP API)"}),
            rx.cond(kind == "smtp", rx.grid(
                _input("SMTP host", "host"), _input("Port", "port", placeholder="587"),
                _select("Security", "security", {"auto": "STARTTLS when the server offers it", "starttls": "STARTTLS, required",
                                                 "tls": "TLS from the start (port 465)", "none": "None"}),
                _input("Connections at once", "pool_size", placeholder="4"),
                _input("Username", "username"),
                _input("Password", "password", type="password", placeholder=rx.cond(S.password_set, "unchanged", ""),
                       hint="Never shown again once saved; leave blank to keep the stored one."),
                columns=rx.breakpoints(initial="1", md="2"), spacing="3", width="100%")),
            rx.cond(kind == "mailgun", rx.grid(
                _input("Sending domain", "domain"), _select("Region", "region", {"us": "US", "eu": "EU"}),
                _input("API key", "api_key", type="password", placeholder=rx.cond(S.api_key_set, "unchanged", ""),
                       hint="Never shown again once saved; leave blank to keep the stored one."),
                columns=rx.breakpoints(initial="1", md="2"), spacing="3", width="100%")),
            _input("Messages per second at most", "rate_per_second", hint="Blank: as fast as the transport takes them."),
        ),
        section(
            "Sender and limits",
            rx.grid(_input("Default from address", "from_address"), _input("Default from name", "from_name"),
                    _input("Marketing e-mails per contact at most", "frequency_number", hint="Blank: no limit."),
                    _select("Per", "frequency_time", {"DAY": "day", "WEEK": "week", "MONTH": "month"}),
                    columns=rx.breakpoints(initial="1", md="2"), spacing="3", width="100%"),
        ),
        rx.button("Save", on_click=S.save, loading=S.saving),
        section(
            "Send a test",
            rx.text("Sends a short message through the saved settings and shows what the server answered.", size="2", color=rx.color("gray", 11)),
            rx.hstack(rx.input(value=S.test_address, on_change=S.set_test_address, type="email", placeholder="you@example.com",
                               aria_label="Test address", width="18rem"),
                      rx.button("Send a test message", on_click=S.send_test, loading=S.testing), spacing="2"),
            rx.cond(S.test_answer != "", rx.callout(S.test_answer, icon=rx.cond(S.test_ok, "check", "triangle-alert"),
                                                    color_scheme=rx.cond(S.test_ok, "green", "red"), role="status", width="100%")),
        ),
        spacing="3", width="100%", max_width="60rem",
    )
