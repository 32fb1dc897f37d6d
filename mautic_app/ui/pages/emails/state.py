"""The e-mail page's state: the draft being written (content, settings, segments), its preview as a contact,
test sends, and for a saved e-mail its statistics and broadcast, followed live."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go
import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.domain import email_templates
from mautic_app.models.base import utcnow
from mautic_app.services import email_sends, emails
from mautic_app.ui import live
from mautic_app.ui.layout import RecordPage
from mautic_app.ui.pages.emails import data
from mautic_app.ui.session import SessionState

ERROR_KEYS = ("name", "subject", "preheader", "from_address", "from_name", "reply_to", "bcc", "email_type", "headers", "content",
              "segments", "publish_down")
TEMPLATE_CHOICES = email_templates.choices()


def _no_errors() -> dict[str, str]:
    return dict.fromkeys(ERROR_KEYS, "")


def _broadcast(action: str, send_id: int, email_id: int, user_id: int | None, when: datetime | None = None) -> None:
    with session_scope() as session:
        if action == "start":
            email_sends.start_broadcast(session=session, email_id=email_id, scheduled_at=when, user_id=user_id)
        else:
            getattr(email_sends, action)(session=session, send_id=send_id)


class EmailState(RecordPage, rx.State):
    email_id: int = 0
    loaded: bool = False
    draft: dict[str, str] = data.blank()
    included: list[str] = []
    excluded: list[str] = []
    segments: list[dict[str, str]] = []
    errors: dict[str, str] = _no_errors()
    saving: bool = False
    tab: str = "content"
    # the builder (MJML only) or the code view; the builder is remade (a new key) when the code changes elsewhere
    editor: str = "builder"
    builder_key: int = 0
    builder_token: dict[str, str | int] = {"text": "", "n": 0}
    # preview
    preview_width: str = "600px"
    preview_as: str = ""
    preview_subject: str = ""
    preview_html: str = ""
    preview_error: str = ""
    preview_version: int = 0  # a new preview is a new frame (a srcdoc changed in place can keep showing the old one)
    # test send
    test_address: str = ""
    test_answer: str = ""
    test_failed: bool = False
    testing: bool = False
    # statistics and the broadcast
    totals: dict[str, str] = {}
    links: list[dict[str, str]] = []
    figure: go.Figure = go.Figure()
    send: dict[str, str] = {}
    pending: int = 0
    schedule_at: str = ""
    broadcast_error: str = ""
    # A/B test and translations: this e-mail's family of versions
    version_kind: str = ""  # "" (the main e-mail), "variant" or "translation"
    parent_id: int = 0
    parent_name: str = ""
    versions: list[dict[str, str]] = []
    translations: list[dict[str, str]] = []
    ab: dict[str, str] = {}
    weights: dict[str, str] = {}
    winner: str = ""
    new_language: str = ""
    versions_error: str = ""
    _following: bool = False

    @rx.var
    def title(self) -> str:
        return (self.draft.get("name") or "E-mail") if self.email_id else "New e-mail"

    @rx.var
    def is_segment_email(self) -> bool:
        return self.draft.get("email_type") == "list"

    @rx.var
    def is_version(self) -> bool:
        return self.version_kind != ""

    @rx.var
    def send_status(self) -> str:
        return self.send.get("status", "")

    @rx.var
    def progress_percent(self) -> int:
        return int(self.send.get("percent") or 0)

    @rx.var
    def progress_label(self) -> str:
        s = self.send
        if not s:
            return ""
        left = s.get("seconds_left", "")
        eta = f", about {int(left) // 60} min {int(left) % 60} s left" if left else ""
        text = f"{s.get('sent', '0')} sent of {s.get('total', '0')}, {s.get('failed', '0')} failed"
        if s.get("skipped", "0") != "0":
            text += f", {s['skipped']} skipped (do not contact or frequency rules)"
        if s.get("unknown", "0") != "0":
            text += f", {s['unknown']} delivery unknown"
        if s.get("status") == "waiting":
            return text + f". The A/B test's share is sent: the winner is chosen at {s.get('scheduled_at', '')[:16].replace('T', ' ')} UTC" \
                          " and goes to the rest."
        return text + eta

    # ------------------------------------------------------------ loading

    @rx.event
    async def load(self):
        email_id = routes.id_in_path(self.router.url.path, routes.EMAIL) or 0
        self.segments = await rx.run_in_thread(data.segment_choices)
        self.email_id, self.missing, self.errors, self.tab = email_id, False, _no_errors(), "content"
        self.test_answer, self.preview_error, self.broadcast_error, self.send, self.totals, self.links = "", "", "", {}, {}, []
        self.version_kind, self.parent_id, self.versions, self.translations, self.versions_error = "", 0, [], [], ""
        if email_id:
            found = await rx.run_in_thread(lambda: data.read(email_id))
            if found is None:
                self.missing, self.loaded = True, True
                self._loaded_here()
                return
            self.draft, self.included, self.excluded = found
            await self._load_stats()
        else:
            self.draft, self.included, self.excluded = data.blank(), [], []
        self.editor = "builder" if self.draft["content_format"] == "mjml" else "code"
        self.builder_key += 1
        await self._refresh_preview()
        self.loaded = True
        self._loaded_here()
        return EmailState.follow_changes

    async def _load_stats(self) -> None:
        email_id = self.email_id
        if not email_id:
            return
        found = await rx.run_in_thread(lambda: data.stats(email_id))
        self._show_versions(found["versions"])
        self.totals = {k: (f"{v:,}" if isinstance(v, int) else str(v)) for k, v in found.items()
                       if k not in ("links", "series", "send", "versions")}
        self.links = [{"url": link["url"], "hits": f"{link['hits']:,}", "unique": f"{link['unique']:,}"} for link in found["links"]]
        self.figure = data.figure(found["series"])
        send = found["send"]
        self.send = {k: ("" if v is None else str(v)) for k, v in send.items()} if send else {}
        self.pending = found["pending"]

    def _show_versions(self, found: dict) -> None:
        self.version_kind, self.parent_id, self.parent_name = found["kind"], found["parent_id"], found["parent_name"]
        self.versions = [{k: str(v) for k, v in row.items()} for row in found["versions"]]
        self.translations = [{k: str(v) for k, v in row.items()} for row in found["translations"]]
        self.winner = str(found["winner_id"] or "")
        settings = found["settings"]
        self.ab = {k: str(settings.get(k, "")) for k in ("test_percent", "criterion", "winner_after_hours")}
        self.weights = {row["id"]: row["weight"] for row in self.versions}

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(batch):
            await self._load_stats()

        async with self:
            topics = [f"email:{self.email_id}"] if self.email_id else []
        if topics:
            await live.follow(self, topics, refresh)

    # ------------------------------------------------------------ editing

    @rx.event
    def set_tab(self, tab: str):
        if tab in ("content", "settings", "sending"):
            self.tab = tab

    @rx.event
    def set_value(self, key: str, value: str):
        if key in self.draft:
            self.draft = self.draft | {key: str(value)[:500_000]}

    @rx.event
    def set_editor(self, editor: str | list[str]):
        if editor in ("builder", "code") and editor != self.editor:
            self.editor = str(editor)
            self.builder_key += 1  # the builder starts from the code as it is now

    @rx.event
    def set_from_builder(self, mjml: str):
        """What the builder hands back: its MJML replaces the code (it only edits MJML). Its last word comes as it
        closes, just after the switch to the code view."""
        if self.draft["content_format"] == "mjml" and isinstance(mjml, str):
            self.draft = self.draft | {"content": mjml[:500_000]}

    @rx.event
    def insert_token(self, token: str):
        """A token from the picker: at the builder's caret (in the text being edited), or at the end of the code."""
        if not token:
            return
        if self.editor == "builder" and self.draft["content_format"] == "mjml":
            self.builder_token = {"text": token[:100], "n": int(self.builder_token.get("n") or 0) + 1}
        else:
            self.draft = self.draft | {"content": self.draft["content"] + token[:100]}

    @rx.event
    def set_flag(self, key: str, on: bool):
        if key in data.FLAG_KEYS:
            self.draft = self.draft | {key: "1" if on else ""}

    @rx.event
    async def use_template(self, template_id: str):
        if template_id in email_templates.TEMPLATES:
            self.draft = self.draft | {"content_format": "mjml", "content": email_templates.source(template_id)}
            self.builder_key += 1
            await self._refresh_preview()

    @rx.event
    def toggle_segment(self, segment_id: str, which: str, on: bool):
        chosen = self.included if which == "included" else self.excluded
        chosen = sorted({*chosen, segment_id}) if on else [s for s in chosen if s != segment_id]
        if which == "included":
            self.included = chosen
        else:
            self.excluded = chosen

    @rx.event
    async def save(self):
        if self.saving:
            return
        self.saving = True
        yield
        email_id, draft, included, excluded = self.email_id or None, dict(self.draft), list(self.included), list(self.excluded)
        user_id = (await self.get_state(SessionState)).user_id
        try:
            new_id = await rx.run_in_thread(lambda: data.save(email_id, draft, included, excluded, user_id))
        except emails.EmailError as exc:
            self.saving = False
            self.errors = _no_errors() | {k: v for k, v in exc.errors.items() if k in ERROR_KEYS}
            if exc.status == 404:
                self.missing = True
            yield rx.toast.error("The e-mail was not saved: fix the highlighted fields.")
            return
        self.saving, self.errors = False, _no_errors()
        yield rx.toast.success(f"E-mail “{self.draft['name']}” saved.")
        if not email_id:
            yield rx.redirect(routes.email(new_id))
            return
        await self._load_stats()

    # ------------------------------------------------------------ preview and test

    async def _refresh_preview(self) -> None:
        draft, address = dict(self.draft), self.preview_as.strip()
        contact_id = await rx.run_in_thread(lambda: data.contact_by_address(address)) if address else None
        if address and contact_id is None:
            self.preview_error = f"No contact has the address {address}; showing a sample contact."
        else:
            self.preview_error = ""
        shown = await rx.run_in_thread(lambda: data.preview(draft, contact_id))
        if shown["error"]:
            self.preview_error = f"The content does not compile: {shown['error']}"
        self.preview_subject, self.preview_html = shown["subject"], shown["html"]
        self.preview_version += 1

    @rx.event
    async def refresh_preview(self):
        await self._refresh_preview()

    @rx.event
    def set_preview_as(self, value: str):
        self.preview_as = value[:191]

    @rx.event
    def set_preview_width(self, value: str | list[str]):
        self.preview_width = "375px" if value == "phone" else "600px"

    @rx.event
    def set_test_address(self, value: str):
        self.test_address = value[:191]

    @rx.event
    async def send_test(self):
        if not self.email_id or self.testing:
            return
        self.testing, self.test_answer = True, ""
        yield
        email_id, address, preview_as = self.email_id, self.test_address.strip(), self.preview_as.strip()
        contact_id = await rx.run_in_thread(lambda: data.contact_by_address(preview_as)) if preview_as else None
        try:
            answer = await rx.run_in_thread(lambda: email_sends.send_test(email_id=email_id, to_address=address, contact_id=contact_id))
            self.test_failed, self.test_answer = False, f"Sent to {address}. The server answered: {answer}"
        except email_sends.SendError as exc:
            self.test_failed, self.test_answer = True, str(exc)
        self.testing = False

    # ------------------------------------------------------------ A/B test and translations

    @rx.event
    def set_ab(self, key: str, value: str):
        if key in ("test_percent", "criterion", "winner_after_hours"):
            self.ab = self.ab | {key: str(value)[:16]}

    @rx.event
    def set_weight(self, version_id: str, value: str):
        if version_id in self.weights:
            self.weights = self.weights | {version_id: str(value)[:4]}

    @rx.event
    def set_new_language(self, value: str):
        self.new_language = value[:16]

    @rx.event
    async def save_test(self):
        email_id, ab, weights = self.parent_id or self.email_id, dict(self.ab), dict(self.weights)
        try:
            await rx.run_in_thread(lambda: data.save_test(email_id, ab, weights))
        except emails.EmailError as exc:
            self.versions_error = " ".join(exc.errors.values())
            return
        self.versions_error = ""
        await self._load_stats()
        yield rx.toast.success("A/B test saved.")

    async def _add(self, make) -> rx.event.EventSpec | None:
        user_id = (await self.get_state(SessionState)).user_id
        try:
            new_id = await rx.run_in_thread(lambda: make(user_id))
        except emails.EmailError as exc:
            self.versions_error = " ".join(exc.errors.values())
            return None
        self.versions_error = ""
        return rx.redirect(routes.email(new_id))

    @rx.event
    async def add_variant(self):
        email_id = self.email_id
        return await self._add(lambda user_id: data.add_variant(email_id, user_id))

    @rx.event
    async def add_translation(self):
        email_id, language = self.email_id, self.new_language
        return await self._add(lambda user_id: data.add_translation(email_id, language, user_id))

    # ------------------------------------------------------------ broadcasting

    @rx.event
    def set_schedule_at(self, value: str):
        self.schedule_at = value

    async def _broadcast(self, action: str, when: datetime | None = None):
        email_id, send_id = self.email_id, int(self.send.get("id") or 0)
        user_id = (await self.get_state(SessionState)).user_id
        try:
            await rx.run_in_thread(lambda: _broadcast(action, send_id, email_id, user_id, when))
            self.broadcast_error = ""
        except email_sends.SendError as exc:
            self.broadcast_error = str(exc)
        await self._load_stats()

    @rx.event
    async def send_now(self):
        await self._broadcast("start")

    @rx.event
    async def schedule(self):
        try:
            when = datetime.fromisoformat(self.schedule_at).replace(tzinfo=utcnow().tzinfo)
        except ValueError:
            self.broadcast_error = "Choose the date and time to send at."
            return
        if when <= utcnow():
            self.broadcast_error = "Choose a time in the future."
            return
        await self._broadcast("start", when)

    @rx.event
    async def pause(self):
        await self._broadcast("pause")

    @rx.event
    async def resume(self):
        await self._broadcast("resume")

    @rx.event
    async def cancel(self):
        await self._broadcast("cancel")
