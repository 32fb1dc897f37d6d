"""Settings → E-mail (administrators): how messages leave (SMTP, Mailgun's API, or the built-in outbox), the
default sender, a rate limit, the frequency rule for marketing e-mail, a test send showing the server's answer,
and the bounce webhooks' secrets with the callback address to give each provider."""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.domain.mailer_dsn import DsnError
from mautic_app.services import bounces, mailer
from mautic_app.settings import get_settings
from mautic_app.ui.components.widgets import labelled, native_select, section
from mautic_app.ui.layout import page_header, template

KEYS = ("kind", "host", "port", "security", "username", "password", "api_key", "domain", "region", "pool_size", "rate_per_second",
        "from_address", "from_name", "frequency_number", "frequency_time")


# Each provider's secret (never shown again once saved) and where it posts; SES's topic ARN is no secret.
HOOKS = {"mailgun_signing_key": ("Mailgun: webhook signing key", "/mailer/mailgun/callback"),
         "postmark_token": ("Postmark: token (the URL's ?token=)", "/mailer/postmark/callback?token=<the token>"),
         "sendgrid_public_key": ("SendGrid: verification key", "/mailer/sendgrid/callback"),
         "ses_topic_arn": ("Amazon SES: SNS topic ARN (blank: any topic)", "/mailer/amazon/callback")}
SECRETS = ("mailgun_signing_key", "postmark_token", "sendgrid_public_key")


def _load_hooks() -> dict[str, Any]:
    with session_scope() as session:
        return bounces.webhook_secrets(session=session)


def _save_hooks(changes: dict[str, str]) -> dict[str, str]:
    """The stored secrets with ``changes`` over them (a blank one is removed); the errors, if not saved."""
    with session_scope() as session:
        return bounces.save_webhook_secrets(session=session, values=bounces.webhook_secrets(session=session) | changes)


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
    hooks: dict[str, str] = dict.fromkeys(HOOKS, "")
    hooks_set: dict[str, bool] = dict.fromkeys(HOOKS, False)
    hook_errors: dict[str, str] = dict.fromkeys(HOOKS, "")
    callback_base: str = ""
    saving_hooks: bool = False

    async def _show_hooks(self):
        found = await rx.run_in_thread(_load_hooks)
        self.hooks_set = {k: bool(found.get(k)) for k in HOOKS}
        self.hooks = dict.fromkeys(SECRETS, "") | {"ses_topic_arn": str(found.get("ses_topic_arn") or "")}
        self.hook_errors = dict.fromkeys(HOOKS, "")

    @rx.event
    async def load(self):
        self.callback_base = get_settings().base_url.rstrip("/")
        await self._show_hooks()
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
    def set_hook(self, key: str, value: str):
        if key in HOOKS:
            self.hooks = self.hooks | {key: str(value)[:1000]}

    @rx.event
    async def save_hooks(self, removed: str = ""):
        """Save the typed secrets (a blank secret field keeps the stored one), the topic ARN, and ``removed``'s removal."""
        if self.saving_hooks:
            return
        self.saving_hooks = True
        yield
        changes = {k: v for k, v in self.hooks.items() if k == "ses_topic_arn" or v.strip()}
        if removed in SECRETS:
            changes = {removed: ""}
        errors = await rx.run_in_thread(lambda: _save_hooks(changes))
        self.saving_hooks = False
        if errors:
            self.hook_errors = dict.fromkeys(HOOKS, "") | {k: v for k, v in errors.items() if k in HOOKS}
            yield rx.toast.error("The webhook settings were not saved: fix the highlighted fields.")
            return
        await self._show_hooks()
        yield rx.toast.success("Secret removed." if removed in SECRETS else "Webhook settings saved.")

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


def _hook(key: str) -> rx.Component:
    """A provider's secret (only whether one is set is shown; typing replaces it) and its callback address."""
    S, (label, path), secret = EmailSettingsState, HOOKS[key], key in SECRETS
    control = rx.input(id=_id(key), value=S.hooks[key], on_change=lambda v: S.set_hook(key, v), width="100%",
                       type="password" if secret else "text", auto_complete="off",
                       placeholder=rx.cond(S.hooks_set[key], "unchanged", "not set") if secret else "arn:aws:sns:…")
    if secret:
        control = rx.hstack(control, rx.badge(rx.cond(S.hooks_set[key], "Set", "Not set"), color_scheme=rx.cond(S.hooks_set[key], "green", "gray")),
                            rx.cond(S.hooks_set[key], rx.button("Remove", on_click=S.save_hooks(key), variant="soft", color_scheme="red",
                                                                size="1", aria_label=f"Remove the {label.split(':')[0]} secret")),
                            align="center", width="100%")
    return rx.vstack(labelled(label, control, _id(key), error=S.hook_errors[key]),
                     rx.text("Callback URL: ", rx.code(S.callback_base + path, id=_id(key) + "-url"), size="1"),
                     spacing="1", width="100%")


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
        section(
            "Bounce webhooks",
            rx.text("Each provider posts its bounces and complaints to the callback URL shown; the secret proves the post is "
                    "the provider's. A secret is never shown again once saved: type a new one to replace it.",
                    size="2", color=rx.color("gray", 11)),
            *[_hook(key) for key in HOOKS],
            rx.button("Save webhook settings", on_click=S.save_hooks(""), loading=S.saving_hooks),
        ),
        spacing="3", width="100%", max_width="60rem",
    )
