"""Tracking settings: the snippet a site pastes, addresses never tracked, how long click tokens last."""

from __future__ import annotations

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import tracking
from mautic_app.ui.components.widgets import labelled
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState

ROUTE = "/settings/tracking"
SNIPPET = """<script>
    (function(w,d,t,u,n,a,m){{w['MauticTrackingObject']=n;
        w[n]=w[n]||function(){{(w[n].q=w[n].q||[]).push(arguments)}},a=d.createElement(t),
        m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
    }})(window,document,'script','{origin}/mtc.js','mt');

    mt('send', 'pageview');
</script>"""


def _load() -> dict[str, str]:
    with session_scope() as session:
        current = tracking.get_settings(session=session)
    return {
        "do_not_track_ips": "\n".join(current["do_not_track_ips"]),
        "token_max_age_days": str(current["token_max_age_days"]),
        "allowed_hosts": "\n".join(current["allowed_hosts"]),
    }


def _save(values: dict) -> dict[str, str]:
    with session_scope() as session:
        return tracking.save_settings(session=session, values=values)


class TrackingSettingsState(rx.State):
    snippet: str = ""
    values: dict[str, str] = {"do_not_track_ips": "", "token_max_age_days": "30", "allowed_hosts": ""}
    errors: dict[str, str] = {"do_not_track_ips": "", "token_max_age_days": "", "allowed_hosts": ""}
    saving: bool = False
    form_key: int = 0

    @rx.event
    async def load(self):
        if not (await self.get_state(SessionState)).is_admin:
            return
        self.snippet = SNIPPET.format(origin=self.router.url.origin)
        self.values = await rx.run_in_thread(_load)
        self.errors = {k: "" for k in self.errors}
        self.form_key += 1

    @rx.event
    async def save(self, form: dict):
        if self.saving:
            return
        values = {
            "do_not_track_ips": str(form.get("do_not_track_ips", "")).replace(",", "\n").splitlines(),
            "token_max_age_days": str(form.get("token_max_age_days", "")).strip(),
            "allowed_hosts": str(form.get("allowed_hosts", "")).replace(",", "\n").splitlines(),
        }
        self.values = {"do_not_track_ips": "\n".join(values["do_not_track_ips"]), "token_max_age_days": values["token_max_age_days"],
                       "allowed_hosts": "\n".join(values["allowed_hosts"])}
        self.saving = True
        yield
        errors = await rx.run_in_thread(lambda: _save(values))
        self.saving = False
        self.errors = {k: "" for k in self.errors} | errors
        if not errors:
            self.values = await rx.run_in_thread(_load)
            yield rx.toast.success("Tracking settings saved.")

    @rx.event
    def copy_snippet(self):
        return [rx.set_clipboard(self.snippet), rx.toast.info("Snippet copied.")]


@template(route=ROUTE, title="Tracking", on_load=TrackingSettingsState.load, admin_only=True)
def tracking_settings_page() -> rx.Component:
    S = TrackingSettingsState
    return rx.vstack(
        page_header("Tracking"),
        rx.card(
            rx.vstack(
                rx.heading("Tracking code", size="4", as_="h2"),
                rx.text(
                    "Paste this before the closing </body> tag of every page of your sites. It is Mautic's snippet: "
                    "sites already tracked by Mautic only need the address changed. Add fields to identify visitors, "
                    "for example mt('send', 'pageview', {email: 'ann@example.com', tags: 'newsletter'}); only "
                    "fields marked publicly updatable are stored.",
                    size="2", color=rx.color("gray", 11),
                ),
                rx.el.pre(
                    rx.el.code(S.snippet),
                    aria_label="Tracking code",
                    style={"background": rx.color("gray", 3), "padding": "0.75rem", "border_radius": "var(--radius-3)",
                           "overflow_x": "auto", "font_size": "0.8rem", "width": "100%", "white_space": "pre"},
                ),
                rx.button(rx.icon("copy", size=16), "Copy tracking code", on_click=S.copy_snippet, variant="soft"),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Settings", size="4", as_="h2"),
                    labelled(
                        "Addresses never tracked",
                        rx.text_area(id="dnt-ips", name="do_not_track_ips", default_value=S.values["do_not_track_ips"],
                                     rows="5", width="100%", placeholder="One per line: 203.0.113.7, 10.0.0.0/8 or 192.168.*.*"),
                        "dnt-ips",
                        error=S.errors["do_not_track_ips"],
                        hint="Your office, your agency: hits from these addresses are ignored. Bots and signed-in users are never tracked.",
                    ),
                    labelled(
                        "Days a tracked link identifies its reader",
                        rx.input(id="token-days", name="token_max_age_days", type="number", min="1", max="365",
                                 default_value=S.values["token_max_age_days"], width="10rem"),
                        "token-days",
                        error=S.errors["token_max_age_days"],
                        hint="Links in e-mails carry a signed token; after this many days it no longer identifies anyone.",
                    ),
                    labelled(
                        "Sites that may receive form visitors",
                        rx.text_area(id="allowed-hosts", name="allowed_hosts", default_value=S.values["allowed_hosts"],
                                     rows="4", width="100%", placeholder="One per line: www.example.com or *.example.com"),
                        "allowed-hosts",
                        error=S.errors["allowed_hosts"],
                        hint="After a form is submitted, visitors are only ever sent back to the page they came from or to "
                             "these sites. Forms embedded on these sites also pre-fill auto-fill fields for known visitors.",
                    ),
                    rx.button("Save settings", type="submit", loading=S.saving),
                    spacing="4",
                    width="100%",
                ),
                key=S.form_key,
                on_submit=S.save,
                reset_on_submit=False,
                width="100%",
            ),
            width="100%",
        ),
        spacing="4",
        width="100%",
        max_width="60rem",
    )
