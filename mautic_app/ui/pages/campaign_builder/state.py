"""The campaign builder's state: the draft on the canvas (events, their settings and timing, node positions,
sources), undo and redo, checks shown on the nodes, the live counts of a running campaign and the dry run."""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from mautic_app import routes
from mautic_app.domain import campaigns as rules
from mautic_app.services import campaigns
from mautic_app.ui import live
from mautic_app.ui.layout import RecordPage
from mautic_app.ui.pages.campaign_builder import data
from mautic_app.ui.session import SessionState

HISTORY = 50
MULTI = {"segments", "forms", "campaigns", "users", "channels", "emails"}
NUMBER_KINDS = {"number"}
ONE_ID = {"email", "form", "stage", "user", "group", "company", "focus", "event"}


def _draft() -> dict[str, Any]:
    return {"name": "", "description": "", "category": "", "allow_restart": False, "is_published": False, "publish_up": "", "publish_down": ""}


class CampaignBuilderState(RecordPage, rx.State):
    campaign_id: int = 0
    loaded: bool = False
    draft: dict[str, Any] = _draft()
    segments: list[str] = []
    forms: list[str] = []
    events: list[dict[str, Any]] = []
    positions: dict[str, dict[str, float]] = {}
    selected: str = ""
    add_parent: str = ""  # the node a new event goes under ("" : the palette is closed)
    add_path: str = ""
    choices: dict[str, list[dict[str, str]]] = {}
    general_problems: list[str] = []
    event_problems: dict[str, list[str]] = {}
    checked: bool = False
    counts: dict[str, dict[str, int]] = {}
    dry: dict[str, str] = {}
    dry_samples: dict[str, list[str]] = {}
    dry_note: str = ""
    dry_running: bool = False
    dirty: bool = False
    saving: bool = False
    fit_key: int = 0
    save_error: str = ""
    _undo: list[str] = []
    _redo: list[str] = []
    _next: int = 1
    _following: bool = False

    # ------------------------------------------------------------ what the canvas shows

    @rx.var
    def title(self) -> str:
        return (self.draft.get("name") or "Campaign") if self.campaign_id else "New campaign"

    @rx.var
    def can_undo(self) -> bool:
        return bool(self._undo)

    @rx.var
    def can_redo(self) -> bool:
        return bool(self._redo)

    @rx.var
    def nodes(self) -> list[dict[str, Any]]:
        names = {o["value"]: o["label"] for o in self.choices.get("segments", [])}
        form_names = {o["value"]: o["label"] for o in self.choices.get("forms", [])}
        sources = [names.get(s, f"Segment {s}") for s in self.segments] + [f"Form: {form_names.get(f, f)}" for f in self.forms]
        out = [{"id": data.SOURCE_NODE, "position": self.positions.get(data.SOURCE_NODE, {"x": 0.0, "y": 0.0}), "data": {
            "label": "Contact sources", "kind": "source", "type_label": ", ".join(sources) or "Choose segments or forms",
            "timing": "", "counts": {"now": self.counts.get("members", {}).get("now", 0)}, "error": " ".join(self.general_problems),
            "selected": self.selected == data.SOURCE_NODE, "dry": self.dry.get(data.SOURCE_NODE, "")}}]
        for e in self.events:
            t = rules.EVENT_TYPES.get(e["type"])
            out.append({"id": e["id"], "position": self.positions.get(e["id"], {"x": 0.0, "y": 0.0}), "data": {
                "label": e["name"], "kind": e["kind"], "type_label": t.label if t else e["type"],
                "timing": "" if e["kind"] == rules.DECISION else data.timing_rule(e["timing"]).describe(),
                "counts": self.counts.get(e["id"], {}), "error": " ".join(self.event_problems.get(e["id"], [])),
                "selected": self.selected == e["id"], "dry": self.dry.get(e["id"], "")}})
        return out

    @rx.var
    def edges(self) -> list[dict[str, str]]:
        out = []
        for e in self.events:
            parent = e["parent"] or data.SOURCE_NODE
            handle = e["path"] if e["parent"] and e["path"] else "out"
            out.append({"id": f"{parent}-{e['id']}", "source": parent, "target": e["id"], "sourceHandle": handle,
                        "label": e["path"] if handle != "out" else ""})
        return out

    @rx.var
    def selected_event(self) -> dict[str, Any]:
        return next((e for e in self.events if e["id"] == self.selected), {})

    @rx.var
    def selected_type(self) -> str:
        t = rules.EVENT_TYPES.get(self.selected_event.get("type", ""))
        return f"{t.label} ({t.kind})" if t else ""

    @rx.var
    def selected_timing(self) -> dict[str, Any]:
        return self.selected_event.get("timing", data.blank_timing())

    @rx.var
    def selected_is_decision(self) -> bool:
        return self.selected_event.get("kind") == rules.DECISION

    @rx.var
    def selected_problems(self) -> list[str]:
        return self.event_problems.get(self.selected, [])

    @rx.var
    def settings(self) -> list[dict[str, Any]]:
        """The selected event's settings as the side panel shows them."""
        e = self.selected_event
        t = rules.EVENT_TYPES.get(e.get("type", ""))
        if t is None:
            return []
        props = e.get("properties", {})
        jump = [{"value": x["id"], "label": x["name"]} for x in self.events if x["id"] != e["id"]]
        out = []
        for s in t.settings:
            value = props.get(s.key)
            options = [{"value": v, "label": label} for v, label in s.options] or (
                jump if s.kind == "event" else self.choices.get(s.kind, []) if s.kind not in ("select",) else [])
            if s.kind == "select" and s.key == "operator" and not s.options:
                options = self.choices.get("operator", [])
            chosen = [str(v) for v in rules.ids_of(value)] if s.kind in MULTI - {"channels"} else rules.texts_of(value) if s.kind == "channels" else []
            if s.kind in ("campaigns",) and isinstance(value, list):
                chosen = [str(v) for v in value]
            if s.kind in ("tags", "textlist"):
                text = ", ".join(rules.texts_of(value))
            elif s.kind == "json":
                text = json.dumps(value, indent=1) if isinstance(value, dict) else ""
            elif s.kind in ONE_ID:
                ids = rules.ids_of(value)
                text = str(ids[0]) if ids else ""
            elif s.kind == "bool":
                text = "1" if value in (True, 1, "1") else ""
            else:
                text = "" if value is None else ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            out.append({"key": s.key, "label": s.label, "required": s.required, "kind": "multi" if s.kind in MULTI else
                        "pick" if (s.kind in ONE_ID or s.kind in ("select", "field")) else s.kind,
                        "value": text, "chosen": chosen, "options": options, "help": s.help})
        return out

    @rx.var
    def palette(self) -> list[dict[str, str]]:
        """What can be added where the palette was opened: no decision right under a decision."""
        parent = next((e for e in self.events if e["id"] == self.add_parent), None)
        kinds = [rules.ACTION, rules.CONDITION] if parent is not None and parent["kind"] == rules.DECISION else list(rules.KINDS)
        return [{"key": t.key, "label": t.label, "kind": t.kind, "group": t.group,
                 "heading": {"action": "Actions", "decision": "Decisions", "condition": "Conditions"}[t.kind]}
                for k in kinds for t in rules.palette(k)
                if not (t.kind == rules.DECISION and t.follows and (parent is None or parent["type"] not in t.follows))]

    @rx.var
    def palette_open(self) -> bool:
        return self.add_parent != ""

    @rx.var
    def dry_selected(self) -> list[str]:
        return self.dry_samples.get(self.selected, [])

    # ------------------------------------------------------------ loading and following

    @rx.event
    async def load(self):
        campaign_id = routes.id_in_path(self.router.url.path, routes.CAMPAIGN) or 0
        self.campaign_id, self.missing, self.selected, self.add_parent = campaign_id, False, "", ""
        self.choices = await rx.run_in_thread(data.choices)
        self._undo, self._redo, self.dirty, self.save_error = [], [], False, ""
        self.dry, self.dry_samples, self.dry_note, self.counts = {}, {}, "", {}
        self.general_problems, self.event_problems, self.checked = [], {}, False
        if campaign_id:
            found = await rx.run_in_thread(lambda: data.read(campaign_id))
            if found is None:
                self.missing, self.loaded = True, True
                self._loaded_here()
                return
            self._show(found)
            self.counts = await rx.run_in_thread(lambda: data.counts(campaign_id))
        else:
            self.draft, self.segments, self.forms, self.events = _draft(), [], [], []
            self.positions = {data.SOURCE_NODE: {"x": 0.0, "y": 0.0}}
        self.fit_key += 1
        self.loaded = True
        self._loaded_here()
        return CampaignBuilderState.follow_changes

    def _show(self, found: dict[str, Any]) -> None:
        self.draft = {k: found[k] for k in _draft()}
        self.segments, self.forms, self.events = found["segments"], found["forms"], found["events"]
        self.positions = found["positions"]
        if any(e["id"] not in self.positions for e in self.events) or data.SOURCE_NODE not in self.positions:
            self.positions = data.auto_layout(self.events) | {k: v for k, v in self.positions.items()}

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(batch):
            cid = self.campaign_id  # a new campaign gets its id when first saved: every campaign's news is heard
            if cid and any(cid in p.get("ids", []) for p in batch):
                self.counts = await rx.run_in_thread(lambda: data.counts(cid))

        await live.follow(self, ["campaigns"], refresh)

    # ------------------------------------------------------------ editing (each change can be undone)

    def _snapshot(self) -> str:
        return json.dumps({"events": self.events, "positions": self.positions, "segments": self.segments, "forms": self.forms})

    def _changing(self) -> None:
        self._undo = [*self._undo[-HISTORY + 1:], self._snapshot()]
        self._redo = []
        self.dirty = True
        self.dry = {}

    def _restore(self, snap: str) -> None:
        s = json.loads(snap)
        self.events, self.positions, self.segments, self.forms = s["events"], s["positions"], s["segments"], s["forms"]
        if self.selected and self.selected != data.SOURCE_NODE and all(e["id"] != self.selected for e in self.events):
            self.selected = ""
        self.dirty = True
        self._recheck()

    @rx.event
    def undo(self):
        if self._undo:
            self._redo = [*self._redo, self._snapshot()]
            snap, self._undo = self._undo[-1], self._undo[:-1]
            self._restore(snap)

    @rx.event
    def redo(self):
        if self._redo:
            self._undo = [*self._undo, self._snapshot()]
            snap, self._redo = self._redo[-1], self._redo[:-1]
            self._restore(snap)

    def _recheck(self) -> None:
        if self.checked:
            self.general_problems, self.event_problems = data.problems(self.events, len(self.segments) + len(self.forms))

    @rx.event
    def select(self, node_id: str):
        self.selected = str(node_id)[:64]

    @rx.event
    def open_palette(self, node_id: str, path: str):
        node_id = str(node_id)
        if node_id != data.SOURCE_NODE and all(e["id"] != node_id for e in self.events):
            return
        self.add_parent, self.add_path = node_id, path if path in (rules.YES, rules.NO) else ""

    @rx.event
    def close_palette(self, _open: bool = False):
        self.add_parent = ""

    @rx.event
    def add_event(self, type_key: str):
        t = rules.EVENT_TYPES.get(type_key)
        if t is None or not self.add_parent:
            return
        self._changing()
        ident = self._new_id()
        parent = "" if self.add_parent == data.SOURCE_NODE else self.add_parent
        timing = data.blank_timing()
        if self.add_path == rules.NO:  # "has not done it within…": a no path waits
            timing |= {"mode": "interval", "interval": "1", "unit": "d"}
        self.events = [*self.events, {"id": ident, "name": t.label, "type": t.key, "kind": t.kind, "parent": parent,
                                      "path": self.add_path if parent else "", "properties": {}, "timing": timing}]
        anchor = self.positions.get(self.add_parent, {"x": 0.0, "y": 0.0})
        siblings = sum(1 for e in self.events if e["parent"] == parent)
        dx = {rules.YES: -data.X_GAP / 2, rules.NO: data.X_GAP / 2}.get(self.add_path, (siblings - 1) * data.X_GAP)
        self.positions = self.positions | {ident: {"x": anchor["x"] + dx, "y": anchor["y"] + data.Y_GAP}}
        self.add_parent, self.selected = "", ident
        self._recheck()

    def _new_id(self) -> str:
        taken = {e["id"] for e in self.events}
        while f"new{self._next}" in taken:
            self._next += 1
        self._next += 1
        return f"new{self._next - 1}"

    @rx.event
    def remove_selected(self):
        """The event and everything under it."""
        gone = {self.selected}
        grew = True
        while grew:
            more = {e["id"] for e in self.events if e["parent"] in gone} - gone
            grew, gone = bool(more), gone | more
        if not any(e["id"] in gone for e in self.events):
            return
        self._changing()
        self.events = [e for e in self.events if e["id"] not in gone]
        self.positions = {k: v for k, v in self.positions.items() if k not in gone}
        self.selected = ""
        self._recheck()

    @rx.event
    def move(self, node_id: str, x: float, y: float):
        node_id = str(node_id)
        if node_id in self.positions or any(e["id"] == node_id for e in self.events):
            self._changing()
            self.positions = self.positions | {node_id: {"x": float(x), "y": float(y)}}

    @rx.event
    def connect(self, source: str, handle: str, target: str):
        """A line drawn from a node's handle to an event: the event now hangs there (never under itself)."""
        target_event = next((e for e in self.events if e["id"] == target), None)
        if target_event is None or source == target:
            return
        below: set[str] = set()
        frontier = {target}
        while frontier:
            frontier = {e["id"] for e in self.events if e["parent"] in frontier} - below
            below |= frontier
        if source in below:
            return
        self._changing()
        parent = "" if source == data.SOURCE_NODE else source
        self.events = [e | {"parent": parent, "path": handle if parent and handle in (rules.YES, rules.NO) else ""} if e["id"] == target else e
                       for e in self.events]
        self._recheck()

    @rx.event
    def tidy(self):
        self._changing()
        self.positions = data.auto_layout(self.events)
        self.fit_key += 1

    def _update_selected(self, change: dict[str, Any]) -> None:
        self._changing()
        self.events = [e | change if e["id"] == self.selected else e for e in self.events]
        self._recheck()

    @rx.event
    def set_name(self, value: str):
        if self.selected_event:
            self._update_selected({"name": str(value)[:191]})

    @rx.event
    def set_setting(self, key: str, value: str):
        e = self.selected_event
        t = rules.EVENT_TYPES.get(e.get("type", "")) if e else None
        setting = next((s for s in t.settings if s.key == key), None) if t else None
        if setting is None:
            return
        value = str(value)[:5000]
        parsed: Any = value
        if setting.kind in ("tags", "textlist"):
            parsed = rules.texts_of(value)
        elif setting.kind in ONE_ID:
            ids = rules.ids_of(value)
            parsed = ids[0] if ids else None
        elif setting.kind == "number":
            parsed = value.strip()
        elif setting.kind == "json":
            try:
                parsed = json.loads(value or "{}")
            except ValueError:
                return  # kept as typed in the box until it is valid JSON
        elif setting.kind == "bool":
            parsed = value in ("1", "true", "on")
        self._update_selected({"properties": e["properties"] | {key: parsed}})

    @rx.event
    def toggle_choice(self, key: str, option: str, on: bool):
        e = self.selected_event
        if not e:
            return
        current = e["properties"].get(key)
        items = [str(v) for v in (current if isinstance(current, list) else rules.ids_of(current) if current else [])]
        items = sorted(set(items) | {option}) if on else [v for v in items if v != option]
        as_ids = [int(v) if v.isdigit() else v for v in items]
        self._update_selected({"properties": e["properties"] | {key: as_ids}})

    @rx.event
    def set_timing(self, key: str, value: str):
        if self.selected_event and key in data.blank_timing() and key != "weekdays":
            self._update_selected({"timing": self.selected_event["timing"] | {key: str(value)[:32]}})

    @rx.event
    def toggle_weekday(self, day: str, on: bool):
        e = self.selected_event
        if e:
            days = set(e["timing"].get("weekdays") or [])
            days = days | {day} if on else days - {day}
            self._update_selected({"timing": e["timing"] | {"weekdays": sorted(days)}})

    @rx.event
    def toggle_source(self, kind: str, value: str, on: bool):
        if kind not in ("segments", "forms"):
            return
        self._changing()
        current = set(getattr(self, kind))
        setattr(self, kind, sorted(current | {value} if on else current - {value}, key=int))
        self._recheck()

    @rx.event
    def set_detail(self, key: str, value: str):
        if key in ("name", "description", "category", "publish_up", "publish_down"):
            self.draft = self.draft | {key: str(value)[:2000]}
            self.dirty = True

    @rx.event
    def set_restart(self, on: bool):
        self.draft = self.draft | {"allow_restart": bool(on)}
        self.dirty = True

    # ------------------------------------------------------------ checking, saving, publishing

    @rx.event
    def check(self):
        self.checked = True
        self._recheck()
        if not self.general_problems and not self.event_problems:
            return rx.toast.success("The campaign is ready to publish.")
        return rx.toast.error("Fix the problems marked on the canvas before publishing.")

    async def _save(self, publish: bool) -> int | None:
        body = data.payload(self.draft, self.events, self.positions, self.segments, self.forms, publish)
        cid = self.campaign_id or None
        user_id = (await self.get_state(SessionState)).user_id
        try:
            saved = await rx.run_in_thread(lambda: data.save(cid, body, user_id))
        except campaigns.CampaignError as exc:
            self.save_error = " ".join(exc.errors.values())
            mapping = {str(k): v for k, v in exc.events.items()}
            if mapping:
                self.event_problems = mapping
            return None
        self.save_error = ""
        return saved

    @rx.event
    async def save(self):
        async for step in self._store(publish=bool(self.draft.get("is_published"))):
            yield step

    @rx.event
    async def publish(self, on: bool):
        async for step in self._store(publish=bool(on)):
            yield step

    async def _store(self, *, publish: bool):
        if self.saving:
            return
        if publish:
            self.checked = True
            self._recheck()
            if self.general_problems or self.event_problems:
                yield rx.toast.error("This campaign cannot be published yet: fix the problems marked on the canvas.")
                return
        self.saving = True
        yield
        saved = await self._save(publish)
        self.saving = False
        if saved is None:
            yield rx.toast.error(f"Not saved: {self.save_error or 'fix the problems marked on the canvas.'}"[:300])
            return
        was_new = not self.campaign_id
        found = await rx.run_in_thread(lambda: data.read(saved))
        if found is not None:
            self.campaign_id = saved
            self._show(found)
        self.dirty, self.selected = False, ""
        if publish:
            self.dry, self.dry_samples, self.dry_note = {}, {}, ""
        self.counts = await rx.run_in_thread(lambda: data.counts(saved))
        yield rx.toast.success(f"Campaign “{self.draft['name']}” {'published' if publish else 'saved'}.")
        if was_new:
            yield rx.redirect(routes.campaign(saved))

    # ------------------------------------------------------------ the dry run

    @rx.event(background=True)
    async def dry_run(self):
        """Save the draft (unpublished campaigns stay unpublished), then simulate 30 days over the real audience."""
        from mautic_app.ui.pages.campaign_builder import dry

        async with self:
            if self.dry_running:
                return
            self.dry_running = True
            saved = await self._save(bool(self.draft.get("is_published"))) if (self.dirty or not self.campaign_id) else self.campaign_id
            if saved is None:
                self.dry_running = False
                yield rx.toast.error(f"Save the campaign first: {self.save_error}"[:300])
                return
            if not self.campaign_id:  # saved for the first time: the address names it from now on
                self.campaign_id = saved
                yield rx.call_script(f"window.history.replaceState(window.history.state, '', '{routes.campaign(saved)}')")
            found = await rx.run_in_thread(lambda: data.read(saved))
            if found is not None:
                self._show(found)
            self.dirty = False
        try:
            result = await rx.run_in_thread(lambda: dry.simulate(saved))
        except Exception as exc:  # noqa: BLE001  (shown to the marketer; the campaign itself is untouched)
            async with self:
                self.dry_running = False
                yield rx.toast.error(f"The dry run failed: {exc}"[:300])
            return
        async with self:
            self.dry, self.dry_samples, self.dry_note = result["labels"], result["samples"], result["note"]
            self.dry_running = False
            yield rx.toast.success(result["summary"])

    @rx.event
    def clear_dry_run(self):
        self.dry, self.dry_samples, self.dry_note = {}, {}, ""

