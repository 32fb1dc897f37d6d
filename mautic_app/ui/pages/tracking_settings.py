"""Tracking settings: the snippet a site pastes, the secret that proves who a site's signed-in visitor is,
addresses never tracked, how long click tokens last, the sites trusted with visitors' ids."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import tracking
from mautic_app.ui.components.widgets import confirm_dialog, labelled
from mautic_app.ui.layout import page_header, template

SNIPPET = """<script>
    (function(w,d,t,u,n,a,m){{w['MauticTrackingObject']=n;
        w[n]=w[n]||function(){{(w[n].q=w[n].q||[]).push(arguments)}},a=d.createElement(t),
        m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
    }})(window,document,'script','{origin}/mtc.js','mt');

    mt('send', 'pageview');
</script>"""
# How a site's server signs its signed-in user's e-mail (the secret never goes into a page).
SIGNATURE_EXAMPLE = """# Python
signature = hmac.new(SECRET.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()
// PHP
$signature = hash_hmac('sha256', strtolower(trim($email)), $secret);
// Node.js
const signature = crypto.createHmac('sha256', secret).update(email.trim().toLowerCase()).digest('hex');

// then, in the page the server renders for that user:
mt('send', 'pageview', {email: 'ann@example.com', email_signature: '<signature>'});"""


def _load() -> dict[str, str]:
    with session_scope() as session:
        current = tracking.get_settings(session=session)
    return {
        "do_not_track_ips": "\n".join(current["do_not_track_ips"]),
        "token_max_age_days": str(current["token_max_age_days"]),
        "allowed_hosts": "\n".join(current["allowed_hosts"]),
    }


def _secret(new: bool = False) -> str:
    with session_scope() as session:
        return tracking.new_identity_secret(session=session) if new else tracking.identity_secret(session=session)


def _save(values: dict) -> dict[str, str]:
    with session_scope() as session:
        return tracking.save_settings(session=session, values=values)


class TrackingSettingsState(rx.State):
    snippet: str = ""
    values: dict[str, str] = {"do_not_track_ips": "", "token_max_age_days": "30", "allowed_hosts": ""}
    errors: dict[str, str] = {"do_not_track_ips": "", "token_max_age_days": "", "allowed_hosts": ""}
    saving: bool = False
    form_key: int = 0
    identity_secret: str = ""
    confirming_new_secret: bool = False
    generating: bool = False

    @rx.event
    async def load(self):
        self.snippet = SNIPPET.format(origin=self.router.url.origin)
        self.values = await rx.run_in_thread(_load)
        self.identity_secret = await rx.run_in_thread(_secret)
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

    @rx.event
    def copy_secret(self):
        return [rx.set_clipboard(self.identity_secret), rx.toast.info("Identity secret copied.")]

    @rx.event
    def ask_new_secret(self):
        self.confirming_new_secret = True

    @rx.event
    def cancel_new_secret(self, _open: bool = False):
        if not self.generating:
            self.confirming_new_secret = False

    @rx.event
    async def generate_secret(self):
        """Replace the secret (say it leaked): sites must sign with the new one from now on."""
        if self.generating:
            return
        self.generating = True
        yield
        self.identity_secret = await rx.run_in_thread(lambda: _secret(new=True))
        self.generating = False
        self.confirming_new_secret = False
        yield rx.toast.success("A new identity secret was generated.")


@template(route=routes.TRACKING_SETTINGS, title="Tracking", on_load=TrackingSettingsState.load, admin_only=True)
def tracking_settings_page() -> rx.Component:
    S = TrackingSettingsState
    return rx.vstack(
        page_header("Tracking"),
        rx.card(
            rx.vstack(
                rx.heading("Tracking code", size="4", as_="h2"),
                rx.text(
                    "Paste this before the closing </body> tag of every page of your sites. It is Mautic's snippet: "
                    "sites already tracked by Mautic only need the address changed. Add fields, for example "
                    "mt('send', 'pageview', {firstname: 'Ann', tags: 'newsletter'}): only fields marked publicly "
                    "updatable are stored, and only on a visitor nobody knows yet. An e-mail makes the visitor a known "
                    "contact only when your site signs it (below).",
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
            rx.vstack(
                rx.heading("Identifying signed-in visitors", size="4", as_="h2"),
                rx.text(
                    "Anyone can type an e-mail address, so a page naming one proves nothing. A site that knows who "
                    "its signed-in user is proves it with a signature: on its server, the HMAC-SHA256 (in hex) of the "
                    "user's e-mail in lower case, keyed with this secret, sent as email_signature beside the e-mail. "
                    "A signed e-mail merges the visitor into the contact that has it. Keep the secret on your server: "
                    "never put it in a page.",
                    size="2", color=rx.color("gray", 11),
                ),
                labelled(
                    "Identity secret",
                    rx.input(id="identity-secret", value=S.identity_secret, read_only=True, width="100%",
                             font_family="monospace"),
                    "identity-secret",
                ),
                rx.hstack(
                    rx.button(rx.icon("copy", size=16), "Copy identity secret", on_click=S.copy_secret, variant="soft"),
                    rx.button(rx.icon("refresh-cw", size=16), "Generate a new secret", on_click=S.ask_new_secret,
                              variant="soft", color_scheme="red"),
                    spacing="3",
                    wrap="wrap",
                ),
                rx.el.pre(
                    rx.el.code(SIGNATURE_EXAMPLE),
                    aria_label="Signature example",
                    style={"background": rx.color("gray", 3), "padding": "0.75rem", "border_radius": "var(--radius-3)",
                           "overflow_x": "auto", "font_size": "0.8rem", "width": "100%", "white_space": "pre"},
                ),
                confirm_dialog(
                    open=S.confirming_new_secret,
                    title="Generate a new secret?",
                    description="Signatures made with the current secret stop identifying visitors at once: update "
                                "every site that signs e-mails.",
                    confirm_label="Generate new secret",
                    on_confirm=S.generate_secret,
                    on_cancel=S.cancel_new_secret,
                    busy=S.generating,
                ),
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
                        "Allowed sites",
                        rx.text_area(id="allowed-hosts", name="allowed_hosts", default_value=S.values["allowed_hosts"],
                                     rows="4", width="100%", placeholder="One per line: www.example.com or *.example.com"),
                        "allowed-hosts",
                        error=S.errors["allowed_hosts"],
                        hint="Your own sites. Only they may read a visitor's tracking ids and pre-fill forms for known "
                             "visitors, and share one visitor across sites; other sites are tracked each on its own. After a "
                             "form is submitted, visitors are only ever sent back to the page they came from or to these sites.",
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
