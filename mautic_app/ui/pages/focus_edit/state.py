"""The focus item page's state: the draft the builder edits (the preview follows it as it is typed)
and a saved item's statistics, followed live as visitors arrive."""

from __future__ import annotations

import plotly.graph_objects as go
import reflex as rx

from mautic_app import routes
from mautic_app.domain import focus as rules
from mautic_app.ui import live
from mautic_app.ui.layout import RecordPage
from mautic_app.ui.pages.focus_edit import data
from mautic_app.ui.pages.focus_edit.data import COLOUR_KEYS, FLAG_KEYS
from mautic_app.ui.session import SessionState

ERROR_KEYS = ("name", "type", "style", "form_id", "placement", "when", "timeout", "frequency", "headline", "tagline",
              "button_text", "link_url", "show_on", *(f"color_{k}" for k in COLOUR_KEYS))


def _no_errors() -> dict[str, str]:
    return dict.fromkeys(ERROR_KEYS, "")


class FocusEditState(RecordPage, rx.State):
    focus_id: int = 0
    loaded: bool = False
    draft: dict[str, str] = data.blank()
    errors: dict[str, str] = _no_errors()
    forms: list[dict[str, str]] = []
    saving: bool = False
    origin: str = ""
    views: int = 0
    clicks: int = 0
    conversions: int = 0
    figure: go.Figure = go.Figure()
    _following: bool = False

    @rx.var
    def title(self) -> str:
        return (self.draft.get("name") or "Focus item") if self.focus_id else "New focus item"

    @rx.var
    def placements(self) -> list[dict[str, str]]:
        return [{"value": k, "label": v} for k, v in rules.PLACEMENTS.get(self.draft.get("style", "bar"), {}).items()]

    @rx.var
    def embed_code(self) -> str:
        return f'<script src="{self.origin}/focus/{self.focus_id}.js" async></script>' if self.focus_id else ""

    @rx.var
    def click_rate(self) -> str:
        return data.rate(self.clicks, self.views)

    @rx.var
    def conversion_rate(self) -> str:
        return data.rate(self.conversions, self.views)

    @rx.var
    def preview(self) -> dict[str, str]:
        """Where the preview draws the item (CSS values), from the style and placement."""
        style, place = self.draft.get("style", "bar"), self.draft.get("placement", "top")
        out = {"top": "auto", "bottom": "auto", "left": "auto", "right": "auto", "width": "auto", "height": "auto",
               "overlay": "transparent", "align": "center", "justify": "center", "box_width": "100%", "radius": "0",
               "box_height": "auto", "text_align": "center"}
        if style == "bar":
            out |= {"left": "0", "right": "0", "top": "0" if place == "top" else "auto", "bottom": "0" if place == "bottom" else "auto"}
        elif style == "modal":
            out |= {"top": "0", "bottom": "0", "left": "0", "right": "0", "overlay": "rgba(0,0,0,0.5)", "box_width": "60%",
                    "radius": "8px", "align": {"top": "flex-start", "bottom": "flex-end"}.get(place, "center")}
        elif style == "notification":
            out |= {"width": "40%", "radius": "8px", "box_width": "100%", "text_align": "left"}
            out["top" if place.startswith("top") else "bottom"] = "12px"
            out["left" if place.endswith("left") else "right"] = "12px"
        else:  # page
            out |= {"top": "0", "bottom": "0", "left": "0", "right": "0", "box_height": "100%"}
        return out

    # ------------------------------------------------------------ loading

    @rx.event
    async def load(self):
        focus_id = routes.id_in_path(self.router.url.path, routes.FOCUS_ITEM) or 0
        self.origin = self.router.url.origin
        self.forms = await rx.run_in_thread(data.form_choices)
        self.focus_id, self.missing, self.errors = focus_id, False, _no_errors()
        self.views = self.clicks = self.conversions = 0
        if focus_id:
            draft = await rx.run_in_thread(lambda: data.read(focus_id))
            if draft is None:
                self.missing, self.loaded = True, True
                self._loaded_here()
                return
            self.draft = draft
            await self._load_stats()
        else:
            self.draft = data.blank()
        self.loaded = True
        self._loaded_here()
        return FocusEditState.follow_changes

    async def _load_stats(self) -> None:
        fid = self.focus_id
        if not fid:
            return
        found = await rx.run_in_thread(lambda: data.stats(fid))
        totals = found["totals"]
        self.views, self.clicks, self.conversions = totals["view"], totals["click"], totals["conversion"]
        self.figure = data.figure(found["series"])

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(batch):
            if self.focus_id and any(self.focus_id in p.get("ids", []) for p in batch):
                await self._load_stats()

        await live.follow(self, ["focus"], refresh)

    # ------------------------------------------------------------ the builder

    @rx.event
    def set_value(self, key: str, value: str):
        if key in self.draft:
            self.draft = self.draft | {key: str(value)[:2000]}
            if key == "style":
                choices = rules.PLACEMENTS.get(str(value), {})
                if self.draft["placement"] not in choices:
                    self.draft = self.draft | {"placement": next(iter(choices), "")}

    @rx.event
    def set_flag(self, key: str, on: bool):
        if key in FLAG_KEYS:
            self.draft = self.draft | {key: "1" if on else ""}

    @rx.event
    async def save(self):
        if self.saving:
            return
        self.saving = True
        yield
        values, fid = data.values(self.draft), self.focus_id or None
        user_id = (await self.get_state(SessionState)).user_id
        try:
            new_id = await rx.run_in_thread(lambda: data.save(fid, values, user_id))
        except rules.FocusError as exc:
            self.saving = False
            self.errors = _no_errors() | {k: v for k, v in exc.errors.items() if k in ERROR_KEYS}
            if exc.status == 404:
                self.missing = True
            yield rx.toast.error("The focus item was not saved: fix the highlighted fields.")
            return
        self.saving, self.errors = False, _no_errors()
        yield rx.toast.success(f"Focus item “{self.draft['name']}” saved.")
        if not fid:
            yield rx.redirect(routes.focus_item(new_id))
