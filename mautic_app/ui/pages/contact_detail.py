"""One contact: fields, points, stage, owner, tags, notes, companies, do-not-contact, IPs, page visits, devices,
UTM tags, timeline, merge."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.domain.search import SearchError
from mautic_app.services import companies, contacts, segments, timeline, visitors
from mautic_app.services import fields as field_service
from mautic_app.services import points as point_service
from mautic_app.ui import live
from mautic_app.ui.components.contact_data import display_name, id_from_path, owner_options, parse_id, stage_options
from mautic_app.ui.components.field_input import GROUP_LABELS, display_value
from mautic_app.ui.components.visits import device_label, when
from mautic_app.ui.components.widgets import (
    VISUALLY_HIDDEN,
    confirm_dialog,
    labelled,
    native_select,
    option_list,
    plain_header,
    section,
)
from mautic_app.ui.layout import RecordPage, template
from mautic_app.ui.session import SessionState

TIMELINE_PAGE = 25
VISITS_PAGE = 20
UTM_KEYS = (("utm_source", "Source"), ("utm_medium", "Medium"), ("utm_campaign", "Campaign"), ("utm_content", "Content"),
            ("utm_term", "Term"))
DNC_CHANNELS = (("email", "Email"), ("sms", "Text message"))
NOTE_TYPES = (("general", "General"), ("email", "Email"), ("call", "Call"), ("meeting", "Meeting"))
TIMELINE_FILTERS = [{"value": "", "label": "All activity"}] + [
    {"value": k, "label": v} for k, v in sorted(timeline.EVENT_LABELS.items(), key=lambda kv: kv[1])
]


@dataclasses.dataclass
class DetailField:
    label: str = ""
    value: str = ""


@dataclasses.dataclass
class DetailGroup:
    key: str = ""
    label: str = ""
    fields: list[DetailField] = dataclasses.field(default_factory=list)


def _fmt(dt: Any) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


def _initials(name: str) -> str:
    parts = [p for p in name.replace("@", " ").split() if p[:1].isalnum()]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def _load(cid: int) -> dict[str, Any]:
    """Everything but the timeline; ``{"redirect": id}`` for a merged-away id, ``{}`` when gone."""
    with session_scope() as session:
        row = contacts.read(session=session, contact_id=cid)
        if row is None:
            winner = contacts.resolve_merged_id(session=session, contact_id=cid)
            return {"redirect": winner} if winner else {}
        info = contacts.details(session=session, contact_id=cid)
        specs = field_service.specs(session=session, obj="contact")
        groups = []
        for key, label in GROUP_LABELS.items():
            fields = [
                DetailField(label=s.label, value=display_value(s.type, row.get(s.alias), s.properties.get("yes", "Yes"),
                                                               s.properties.get("no", "No")))
                for s in specs if s.group == key and s.is_visible
            ]
            if fields:
                groups.append(DetailGroup(key=key, label=label, fields=fields))
        dnc = {d["channel"]: d for d in info["do_not_contact"]}
        name = display_name(row)
        subtitle = " at ".join(p for p in (row.get("position"), row.get("company")) if p)
        return {
            "name": name,
            "email": row.get("email") or "",
            "subtitle": subtitle,
            "initials": _initials(name),
            "anonymous": not row.get("is_identified"),
            "points": int(row.get("points") or 0),
            "group_scores": [{"name": g["name"], "score": str(g["score"])}
                             for g in point_service.group_scores(session=session, contact_id=cid)],
            "date_added": _fmt(row.get("date_added")),
            "last_active": _fmt(row.get("last_active")),
            "groups": groups,
            "stage_id": str(row.get("stage_id") or ""),
            "owner_id": str(row.get("owner_id") or ""),
            "tags": info["tags"],
            "notes": [
                {"id": str(n.id), "type": n.type, "type_label": dict(NOTE_TYPES).get(n.type, n.type.title()),
                 "text": n.text, "date": _fmt(n.date_time)}
                for n in info["notes"]
            ],
            "companies": [
                {"id": str(c["id"]), "name": c["name"], "primary": "1" if c["is_primary"] else ""} for c in info["companies"]
            ],
            "ips": [i["ip"] for i in info["ip_addresses"]],
            "utm_tags": [
                {"date": _fmt(u.date_added), "text": " · ".join(f"{label}: {getattr(u, key)}" for key, label in UTM_KEYS
                                                               if getattr(u, key))}
                for u in info["utm_tags"]
            ],
            "dnc": [
                {"channel": ch, "label": label, "active": "1" if ch in dnc else "",
                 "reason": dnc[ch]["reason_label"] if ch in dnc else "", "comments": dnc[ch]["comments"] if ch in dnc else "",
                 "date": _fmt(dnc[ch]["date_added"]) if ch in dnc else ""}
                for ch, label in DNC_CHANNELS
            ],
            "owners": owner_options(session),
            "stages": stage_options(session),
            "segments": [{"id": str(seg.id), "name": seg.name, "how": "added by hand" if manual else "by its filters"}
                         for seg, _added, manual in segments.memberships(session=session, contact_id=cid)],
            "segment_choices": [{"value": str(seg.id), "label": seg.name}
                                for seg in segments.list_segments(session=session, limit=500)[1]],
        }


def _load_timeline(cid: int, event_type: str, before_id: int | None, limit: int) -> tuple[list[dict[str, str]], bool]:
    with session_scope() as session:
        events = timeline.events(session=session, contact_id=cid, limit=limit + 1, before_id=before_id,
                                 types=[event_type] if event_type else None)
        rows = [
            {"id": str(e.id), "type": e.event_type, "label": timeline.EVENT_LABELS.get(e.event_type, e.event_type),
             "text": timeline.describe(e), "date": _fmt(e.occurred_at)}
            for e in events[:limit]
        ]
        for r in rows:
            if r["text"] == r["label"]:
                r["text"] = ""
        return rows, len(events) > limit


def _load_visits(cid: int, start: int) -> dict[str, Any]:
    """A page of the contact's visits and their devices; every string is the visitor's own, shown as text."""
    with session_scope() as session:
        total, hits = visitors.contact_hits(session=session, contact_id=cid, start=start, limit=VISITS_PAGE)
        devices = visitors.contact_devices(session=session, contact_id=cid)
    return {
        "visits_total": total,
        "visits": [
            {"date": when(h["date_hit"]), "title": h["title"], "url": h["url"], "referrer": h["referrer"],
             "device": device_label(h["device"], h["browser"])}
            for h in hits
        ],
        "devices": [
            {"device": device_label(d["device"]),
             "model": " ".join(p for p in (d["brand"], d["model"]) if p), "os": d["os"],
             "browser": " ".join(p for p in (d["browser"], d["browser_version"]) if p), "last_seen": _fmt(d["last_seen"])}
            for d in devices
        ],
    }


def _write(fn, **kwargs):
    with session_scope() as session:
        return fn(session=session, **kwargs)


def _find_contacts(query: str, exclude: int) -> list[dict[str, str]]:
    with session_scope() as session:
        page = contacts.list_contacts(session=session, search=query, order_by="last_active", limit=11, count_cap=0)
        return [
            {"id": str(r["id"]), "name": display_name(r), "email": r.get("email") or ""}
            for r in page.rows if r["id"] != exclude
        ][:10]


def _find_companies(query: str, exclude: list[str]) -> list[dict[str, str]]:
    with session_scope() as session:
        rows, _ = companies.list_companies(session=session, search=query, limit=10)
        return [{"id": str(r["id"]), "name": r.get("companyname") or ""} for r in rows if str(r["id"]) not in exclude]


class ContactDetailState(RecordPage, rx.State):
    cid: int = 0
    loaded: bool = False
    missing: bool = False
    merged_into: int = 0
    name: str = ""
    email: str = ""
    subtitle: str = ""
    initials: str = ""
    anonymous: bool = False
    points: int = 0
    points_amount: str = "1"
    group_scores: list[dict[str, str]] = []
    date_added: str = ""
    last_active: str = ""
    groups: list[DetailGroup] = []
    show_all: bool = False
    stage_id: str = ""
    owner_id: str = ""
    owners: list[dict[str, str]] = []
    stages: list[dict[str, str]] = []
    tags: list[str] = []
    tag_error: str = ""
    segments: list[dict[str, str]] = []
    segment_choices: list[dict[str, str]] = []
    notes: list[dict[str, str]] = []
    note_error: str = ""
    note_key: int = 0
    companies: list[dict[str, str]] = []
    company_results: list[dict[str, str]] = []
    company_searched: bool = False
    ips: list[str] = []
    utm_tags: list[dict[str, str]] = []
    visits: list[dict[str, str]] = []
    visits_total: int = 0
    visits_start: int = 0
    devices: list[dict[str, str]] = []
    dnc: list[dict[str, str]] = []
    dnc_channel: str = ""
    events: list[dict[str, str]] = []
    event_filter: str = ""
    more_events: bool = False
    merge_open: bool = False
    merge_results: list[dict[str, str]] = []
    merge_searched: bool = False
    merge_pick: dict[str, str] = {}
    merge_error: str = ""
    busy: bool = False
    delete_open: bool = False
    action_error: str = ""
    _following: bool = False

    @rx.var
    def shown_groups(self) -> list[DetailGroup]:
        if self.show_all:
            return self.groups
        out = []
        for g in self.groups:
            fields = [f for f in g.fields if f.value != ""]
            if fields:
                out.append(DetailGroup(key=g.key, label=g.label, fields=fields))
        return out

    @rx.var
    def dnc_channel_label(self) -> str:
        return dict(DNC_CHANNELS).get(self.dnc_channel, self.dnc_channel)

    @rx.var
    def edit_href(self) -> str:
        return f"/contacts/{self.cid}/edit"

    @rx.var
    def visits_range(self) -> str:
        if not self.visits:
            return ""
        return f"{self.visits_start + 1}–{self.visits_start + len(self.visits)} of {self.visits_total:,}"

    # ------------------------------------------------------------ loading

    async def _user_id(self) -> int:
        """The signed-in user's id (the guard checked the session before this handler ran)."""
        return (await self.get_state(SessionState)).user_id

    async def _refresh(self) -> bool:
        """Reload everything; False when the contact is gone (a redirect or a not-found message follows)."""
        cid = self.cid
        data = await rx.run_in_thread(lambda: _load(cid))
        if not data or "redirect" in data:
            self.missing = True
            self.merged_into = int(data.get("redirect") or 0) if data else 0
            return False
        self.missing, self.merged_into = False, 0
        for key in ("name", "email", "subtitle", "initials", "anonymous", "points", "group_scores", "date_added", "last_active", "groups",
                    "stage_id", "owner_id", "tags", "notes", "companies", "ips", "dnc", "owners", "stages", "utm_tags",
                    "segments", "segment_choices"):
            setattr(self, key, data[key])
        return True

    async def _reload_events(self, keep: bool = True) -> None:
        cid, kind = self.cid, self.event_filter
        limit = max(TIMELINE_PAGE, len(self.events)) if keep else TIMELINE_PAGE
        self.events, self.more_events = await rx.run_in_thread(lambda: _load_timeline(cid, kind, None, limit))

    async def _reload_visits(self) -> None:
        """The current page of visits (a new hit shifts it by one, as the newest comes first) and the devices."""
        cid, start = self.cid, self.visits_start
        data = await rx.run_in_thread(lambda: _load_visits(cid, start))
        if not data["visits"] and start:
            self.visits_start = 0
            data = await rx.run_in_thread(lambda: _load_visits(cid, 0))
        self.visits, self.visits_total, self.devices = data["visits"], data["visits_total"], data["devices"]

    @rx.event
    async def load(self):
        cid = id_from_path(self.router.url.path) or 0
        if cid != self.cid:
            self.loaded = False
            self.events, self.event_filter, self.show_all = [], "", False
            self.visits, self.visits_start = [], 0
        self.cid = cid
        self.merge_open, self.delete_open, self.dnc_channel, self.action_error = False, False, "", ""
        self.company_results, self.company_searched, self.tag_error, self.note_error = [], False, "", ""
        if not cid:
            self.missing, self.loaded = True, True
            self._loaded_here()
            return
        if not await self._refresh():
            self.loaded = True
            self._loaded_here()
            if self.merged_into:
                return rx.redirect(f"/contacts/{self.merged_into}", replace=True)
            return
        await self._reload_events(keep=False)
        await self._reload_visits()
        self.loaded = True
        self._loaded_here()
        return ContactDetailState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(batch):
            ids = {int(i) for p in batch for i in p.get("ids", []) if str(i).isdigit()}
            if self.cid in ids and await self._refresh():
                await self._reload_events()
                await self._reload_visits()

        await live.follow(self, ["contacts", "segment_members"], refresh)

    async def _after_write(self) -> None:
        if await self._refresh():
            await self._reload_events()
            await self._reload_visits()  # a merge brings the other contact's visits and devices

    # ------------------------------------------------------------ fields view and timeline

    @rx.event
    def set_show_all(self, on: bool):
        self.show_all = on

    @rx.event
    async def set_event_filter(self, value: str):
        self.event_filter = value if value in timeline.EVENT_LABELS else ""
        await self._reload_events(keep=False)

    @rx.event
    async def load_more_events(self):
        if not self.events:
            return
        cid, kind, before = self.cid, self.event_filter, int(self.events[-1]["id"])
        rows, more = await rx.run_in_thread(lambda: _load_timeline(cid, kind, before, TIMELINE_PAGE))
        self.events = self.events + rows
        self.more_events = more

    @rx.event
    async def page_visits(self, direction: str):
        """Older or newer page visits."""
        step = VISITS_PAGE if direction == "older" else -VISITS_PAGE
        start = self.visits_start + step
        if 0 <= start < max(self.visits_total, 1):
            self.visits_start = start
            await self._reload_visits()

    # ------------------------------------------------------------ points, stage, owner

    @rx.event
    def set_points_amount(self, value: str):
        self.points_amount = value

    @rx.event
    async def change_points(self, operation: str):
        try:
            amount = float(self.points_amount or "1")
        except ValueError:
            self.action_error = "Points must be a number."
            return
        if amount <= 0:
            self.action_error = "Enter a positive number of points."
            return
        cid, user_id = self.cid, await self._user_id()
        try:
            # Through the points service, so point triggers run for a score reached by hand too.
            self.points = await rx.run_in_thread(lambda: _write(point_service.adjust, contact_id=cid, reason="manual",
                                                                delta=amount if operation == "plus" else -amount, user_id=user_id))
        except (contacts.ContactError, point_service.PointError) as exc:
            self.action_error = " ".join(exc.errors.values())
            return
        self.action_error = ""
        await self._after_write()

    @rx.event
    async def set_stage(self, value: str):
        cid, user_id, stage_id = self.cid, await self._user_id(), parse_id(value)
        try:
            await rx.run_in_thread(lambda: _write(contacts.set_stage, contact_ids=[cid], stage_id=stage_id, user_id=user_id))
        except contacts.ContactError as exc:
            self.action_error = " ".join(exc.errors.values())
            return
        self.action_error = ""
        await self._after_write()
        return rx.toast.success("Stage changed.")

    @rx.event
    async def set_owner(self, value: str):
        cid, user_id, owner_id = self.cid, await self._user_id(), parse_id(value)
        try:
            await rx.run_in_thread(lambda: _write(contacts.set_owner, contact_ids=[cid], owner_id=owner_id, user_id=user_id))
        except contacts.ContactError as exc:
            self.action_error = " ".join(exc.errors.values())
            return
        self.action_error = ""
        await self._after_write()
        return rx.toast.success("Owner changed.")

    # ------------------------------------------------------------ tags

    @rx.event
    async def add_tags(self, form: dict):
        names = [t.strip() for t in str(form.get("tags", "")).replace("|", ",").split(",") if t.strip().lstrip("-")]
        names = [t.lstrip("-").strip() for t in names]
        if not names:
            self.tag_error = "Enter a tag."
            return
        self.tag_error = ""
        cid, user_id = self.cid, await self._user_id()
        await rx.run_in_thread(lambda: _write(contacts.modify_tags, contact_ids=[cid], tags=names, user_id=user_id))
        await self._after_write()

    @rx.event
    async def remove_tag(self, tag: str):
        cid, user_id = self.cid, await self._user_id()
        await rx.run_in_thread(lambda: _write(contacts.modify_tags, contact_ids=[cid], tags=["-" + tag], user_id=user_id))
        await self._after_write()

    # ------------------------------------------------------------ segments

    @rx.event
    async def add_to_segment(self, form: dict):
        segment_id, cid, user_id = parse_id(form.get("segment")), self.cid, await self._user_id()
        if not segment_id:
            return
        await rx.run_in_thread(lambda: _write(segments.add_contacts, segment_id=segment_id, contact_ids=[cid], user_id=user_id))
        await self._after_write()

    @rx.event
    async def remove_from_segment(self, segment_id: str):
        sid, cid, user_id = parse_id(segment_id), self.cid, await self._user_id()
        if not sid:
            return
        await rx.run_in_thread(lambda: _write(segments.remove_contacts, segment_id=sid, contact_ids=[cid], user_id=user_id))
        await self._after_write()

    # ------------------------------------------------------------ notes

    @rx.event
    async def add_note(self, form: dict):
        text, kind = str(form.get("text", "")), str(form.get("type", "general"))
        cid, user_id = self.cid, await self._user_id()
        try:
            await rx.run_in_thread(lambda: _write(contacts.add_note, contact_id=cid, text=text, type=kind, user_id=user_id))
        except contacts.ContactError as exc:
            self.note_error = " ".join(exc.errors.values())
            return
        self.note_error = ""
        self.note_key += 1
        await self._after_write()
        return rx.toast.success("Note added.")

    @rx.event
    async def delete_note(self, note_id: str):
        nid = parse_id(note_id)
        if nid is None or note_id not in {n["id"] for n in self.notes}:
            return
        await rx.run_in_thread(lambda: _write(contacts.delete_note, note_id=nid))
        await self._after_write()

    # ------------------------------------------------------------ companies

    @rx.event
    async def find_companies(self, form: dict):
        query = str(form.get("q", "")).strip()
        exclude = [c["id"] for c in self.companies]
        self.company_results = await rx.run_in_thread(lambda: _find_companies(query, exclude))
        self.company_searched = True

    @rx.event
    async def link_company(self, company_id: str):
        cid, user_id, comp = self.cid, await self._user_id(), parse_id(company_id)
        if comp is None:
            return
        try:
            await rx.run_in_thread(lambda: _write(companies.link_contact, company_id=comp, contact_id=cid, user_id=user_id))
        except companies.CompanyError as exc:
            self.action_error = " ".join(exc.errors.values())
            return
        self.company_results = [c for c in self.company_results if c["id"] != company_id]
        await self._after_write()

    @rx.event
    async def unlink_company(self, company_id: str):
        cid, user_id, comp = self.cid, await self._user_id(), parse_id(company_id)
        if comp is None:
            return
        await rx.run_in_thread(lambda: _write(companies.unlink_contact, company_id=comp, contact_id=cid, user_id=user_id))
        await self._after_write()

    # ------------------------------------------------------------ do not contact

    @rx.event
    def open_dnc(self, channel: str):
        if channel in dict(DNC_CHANNELS):
            self.dnc_channel = channel

    @rx.event
    def close_dnc(self, _open: bool = False):
        self.dnc_channel = ""

    @rx.event
    async def add_dnc(self, form: dict):
        channel, comments = self.dnc_channel, str(form.get("comments", "")).strip()
        if not channel:
            return
        cid, user_id = self.cid, await self._user_id()
        await rx.run_in_thread(lambda: _write(contacts.add_dnc, contact_id=cid, channel=channel, reason=3, comments=comments,
                                              force=True, user_id=user_id))
        self.dnc_channel = ""
        await self._after_write()
        return rx.toast.success("Marked do not contact.")

    @rx.event
    async def remove_dnc(self, channel: str):
        cid, user_id = self.cid, await self._user_id()
        await rx.run_in_thread(lambda: _write(contacts.remove_dnc, contact_id=cid, channel=channel, user_id=user_id))
        await self._after_write()

    # ------------------------------------------------------------ merge and delete

    @rx.event
    def open_merge(self):
        self.merge_open, self.merge_results, self.merge_searched, self.merge_pick, self.merge_error = True, [], False, {}, ""

    @rx.event
    def close_merge(self, _open: bool = False):
        if not self.busy:
            self.merge_open, self.merge_pick, self.merge_error = False, {}, ""

    @rx.event
    async def find_merge(self, form: dict):
        query, cid = str(form.get("q", "")).strip(), self.cid
        self.merge_pick = {}
        if not query:
            self.merge_error, self.merge_results = "Type a name or e-mail address.", []
            return
        try:
            self.merge_results = await rx.run_in_thread(lambda: _find_contacts(query, cid))
        except SearchError as exc:
            self.merge_error, self.merge_results = str(exc), []
            return
        self.merge_error, self.merge_searched = "", True

    @rx.event
    def pick_merge(self, contact: dict[str, str]):
        self.merge_pick = contact

    @rx.event
    async def do_merge(self):
        loser = parse_id(self.merge_pick.get("id"))
        if loser is None:
            self.merge_error = "Choose the contact to merge into this one."
            return
        cid, user_id = self.cid, await self._user_id()
        self.busy = True
        yield
        try:
            await rx.run_in_thread(lambda: _write(contacts.merge, winner_id=cid, loser_id=loser, user_id=user_id))
        except contacts.ContactError as exc:
            self.busy = False
            self.merge_error = " ".join(exc.errors.values())
            return
        name = self.merge_pick.get("name", "")
        self.busy, self.merge_open, self.merge_pick = False, False, {}
        await self._after_write()
        yield rx.toast.success(f"Merged {name} into this contact.")

    @rx.event
    def open_delete(self):
        self.delete_open = True

    @rx.event
    def close_delete(self, _open: bool = False):
        if not self.busy:
            self.delete_open = False

    @rx.event
    async def do_delete(self):
        cid = self.cid
        self.busy = True
        yield
        await rx.run_in_thread(lambda: _write(contacts.delete, contact_ids=[cid]))
        self.busy, self.delete_open = False, False
        yield rx.toast.success("Contact deleted.")
        yield rx.redirect("/contacts")


# ---------------------------------------------------------------- view

S = ContactDetailState


def _header() -> rx.Component:
    return rx.hstack(
        rx.avatar(fallback=S.initials, size="5", radius="full", aria_hidden="true"),
        rx.vstack(
            rx.hstack(
                rx.heading(S.name, size="6", as_="h1"),
                rx.cond(S.anonymous, rx.badge("Anonymous", color_scheme="gray")),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.cond(S.email != "", rx.text(S.email, size="2", color=rx.color("gray", 11))),
            rx.cond(S.subtitle != "", rx.text(S.subtitle, size="2", color=rx.color("gray", 11))),
            rx.text("Added ", S.date_added, " · Last active ", S.last_active, size="1", color=rx.color("gray", 10)),
            spacing="1",
            min_width="0",
        ),
        rx.spacer(),
        rx.hstack(
            rx.button(rx.link(rx.icon("pencil", size=16), "Edit", href=S.edit_href, underline="none"), as_child=True),
            rx.button(rx.icon("merge", size=16), "Merge", variant="soft", on_click=S.open_merge),
            rx.button(rx.icon("trash-2", size=16), "Delete", variant="soft", color_scheme="red", on_click=S.open_delete),
            spacing="2",
        ),
        align="center",
        spacing="4",
        width="100%",
        wrap="wrap",
        margin_bottom="1rem",
    )


def _details_card() -> rx.Component:
    return section(
        "Details",
        rx.cond(
            S.shown_groups.length() > 0,
            rx.vstack(
                rx.foreach(
                    S.shown_groups,
                    lambda g: rx.vstack(
                        rx.text(g.label, size="1", weight="bold", color=rx.color("gray", 10), text_transform="uppercase"),
                        rx.data_list.root(
                            rx.foreach(
                                g.fields,
                                lambda f: rx.data_list.item(
                                    rx.data_list.label(f.label, min_width="10rem"),
                                    rx.data_list.value(rx.text(f.value, white_space="pre-wrap", word_break="break-word")),
                                ),
                            ),
                            size="2",
                        ),
                        spacing="2",
                        width="100%",
                    ),
                ),
                spacing="4",
                width="100%",
            ),
            rx.text("No details yet.", color=rx.color("gray", 10), size="2"),
        ),
        actions=rx.hstack(
            rx.el.label("Show empty fields", html_for="show-all-fields", style={"font_size": "var(--font-size-2)"}),
            rx.switch(id="show-all-fields", checked=S.show_all, on_change=S.set_show_all),
            align="center",
            spacing="2",
        ),
        heading_id="details-heading",
    )


def _event_icon(kind: rx.Var) -> rx.Component:
    def ic(name: str) -> rx.Component:
        return rx.icon(name, size=16, aria_hidden="true")

    return rx.match(
        kind,
        ("created", ic("user-plus")), ("api_added", ic("code")), ("imported", ic("upload")),
        ("identified", ic("user-check")), ("updated", ic("pencil")), ("points", ic("trophy")),
        ("stage", ic("milestone")), ("note", ic("sticky-note")), ("dnc", ic("ban")), ("tags", ic("tag")),
        ("owner", ic("user")), ("merged", ic("merge")), ("company", ic("building-2")), ("ip_added", ic("globe")),
        ("utm", ic("link")), ("page_hit", ic("mouse-pointer-click")), ("device_added", ic("monitor-smartphone")),
        ("segment", ic("filter")),
        ic("activity"),
    )


def _timeline() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.el.label("Show", html_for="timeline-filter", style={"font_size": "var(--font-size-2)"}),
            native_select(*option_list(TIMELINE_FILTERS), id="timeline-filter", value=S.event_filter,
                          on_change=S.set_event_filter, width="14rem", aria_label="Filter timeline by event type"),
            align="center",
            spacing="2",
        ),
        rx.cond(
            S.events.length() > 0,
            rx.el.ol(
                rx.foreach(
                    S.events,
                    lambda e: rx.el.li(
                        rx.hstack(
                            rx.center(_event_icon(e["type"]), width="2rem", height="2rem", border_radius="full",
                                      background=rx.color("accent", 3), color=rx.color("accent", 11), flex_shrink="0"),
                            rx.vstack(
                                rx.hstack(
                                    rx.text(e["label"], weight="medium", size="2"),
                                    rx.spacer(),
                                    rx.text(e["date"], size="1", color=rx.color("gray", 10), white_space="nowrap"),
                                    width="100%",
                                ),
                                rx.cond(e["text"] != "", rx.text(e["text"], size="2", color=rx.color("gray", 11), word_break="break-word")),
                                spacing="0",
                                width="100%",
                                min_width="0",
                            ),
                            spacing="3",
                            width="100%",
                        ),
                        style={"padding": "0.6rem 0", "border_bottom": "1px solid var(--gray-a4)"},
                    ),
                ),
                aria_label="Timeline",
                style={"list_style": "none", "padding": "0", "margin": "0", "width": "100%"},
            ),
            rx.text("No activity.", color=rx.color("gray", 10), size="2"),
        ),
        rx.cond(S.more_events, rx.button("Load more", variant="soft", on_click=S.load_more_events)),
        spacing="3",
        width="100%",
    )


def _notes() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.el.label("Note type", html_for="note-type", style={"font_size": "var(--font-size-2)"}),
                    native_select(*[rx.el.option(label, value=v) for v, label in NOTE_TYPES], id="note-type", name="type",
                                  default_value="general", width="10rem"),
                    align="center",
                    spacing="2",
                ),
                labelled("Note", rx.text_area(id="note-text", name="text", rows="3", width="100%",
                                              placeholder="What happened?"), "note-text", error=S.note_error),
                rx.button(rx.icon("plus", size=16), "Add note", type="submit"),
                spacing="2",
                width="100%",
                align="start",
            ),
            on_submit=S.add_note,
            reset_on_submit=False,
            key=S.note_key,
            width="100%",
        ),
        rx.cond(
            S.notes.length() > 0,
            rx.el.ul(
                rx.foreach(
                    S.notes,
                    lambda n: rx.el.li(
                        rx.card(
                            rx.hstack(
                                rx.badge(n["type_label"], variant="soft"),
                                rx.text(n["date"], size="1", color=rx.color("gray", 10)),
                                rx.spacer(),
                                rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="ghost", color_scheme="red",
                                               on_click=S.delete_note(n["id"]), aria_label="Delete note"),
                                align="center",
                                width="100%",
                            ),
                            rx.text(n["text"], size="2", white_space="pre-wrap", word_break="break-word", margin_top="0.5rem"),
                            width="100%",
                        ),
                        style={"margin_bottom": "0.5rem"},
                    ),
                ),
                aria_label="Notes",
                style={"list_style": "none", "padding": "0", "margin": "0", "width": "100%"},
            ),
            rx.text("No notes yet.", color=rx.color("gray", 10), size="2"),
        ),
        spacing="4",
        width="100%",
    )


def _points_stage_card() -> rx.Component:
    return section(
        "Points and stage",
        rx.hstack(
            rx.icon_button(rx.icon("minus", size=16), variant="soft", on_click=S.change_points("minus"), aria_label="Subtract points"),
            rx.vstack(
                rx.text(S.points, size="7", weight="bold", aria_label="Points", role="status", id="points-value"),
                rx.text("points", size="1", color=rx.color("gray", 10)),
                spacing="0",
                align="center",
            ),
            rx.icon_button(rx.icon("plus", size=16), variant="soft", on_click=S.change_points("plus"), aria_label="Add points"),
            rx.input(value=S.points_amount, on_change=S.set_points_amount, type="number", min="1", width="5rem",
                     aria_label="Points to add or subtract"),
            align="center",
            spacing="3",
        ),
        rx.cond(
            S.group_scores.length() > 0,
            rx.el.ul(
                rx.foreach(S.group_scores, lambda g: rx.el.li(
                    rx.hstack(rx.text(g["name"], size="2"), rx.spacer(), rx.text(g["score"], size="2", weight="bold"), width="100%"),
                )),
                aria_label="Point group scores",
                style={"list_style": "none", "padding": "0", "margin": "0", "width": "100%"},
            ),
        ),
        labelled("Stage", native_select(*option_list(S.stages, blank="No stage"), id="detail-stage", value=S.stage_id,
                                        on_change=S.set_stage), "detail-stage"),
        labelled("Owner", native_select(*option_list(S.owners, blank="No owner"), id="detail-owner", value=S.owner_id,
                                        on_change=S.set_owner), "detail-owner"),
        rx.cond(S.action_error != "", rx.callout(S.action_error, color_scheme="red", role="alert", size="1", width="100%")),
        heading_id="points-heading",
    )


def _tags_card() -> rx.Component:
    return section(
        "Tags",
        rx.cond(
            S.tags.length() > 0,
            rx.flex(
                rx.foreach(
                    S.tags,
                    lambda t: rx.badge(
                        t,
                        rx.el.button(
                            rx.icon("x", size=12, aria_hidden="true"),
                            type="button",
                            on_click=S.remove_tag(t),
                            aria_label="Remove tag " + t,
                            style={"background": "none", "border": "none", "padding": "0", "cursor": "pointer",
                                   "color": "inherit", "display": "inline-flex"},
                        ),
                        size="2",
                        variant="soft",
                    ),
                ),
                wrap="wrap",
                gap="2",
                role="list",
                aria_label="Tags",
            ),
            rx.text("No tags.", color=rx.color("gray", 10), size="2"),
        ),
        rx.form(
            rx.hstack(
                rx.input(id="new-tags", name="tags", placeholder="Add tags (comma separated)", aria_label="Add tags", width="100%"),
                rx.button("Add", type="submit", variant="soft"),
                width="100%",
                spacing="2",
            ),
            on_submit=S.add_tags,
            reset_on_submit=True,
            width="100%",
        ),
        rx.cond(S.tag_error != "", rx.text(S.tag_error, color=rx.color("red", 11), size="1", role="alert")),
        heading_id="tags-heading",
    )


def _segments_card() -> rx.Component:
    return section(
        "Segments",
        rx.cond(
            S.segments.length() > 0,
            rx.el.ul(
                rx.foreach(S.segments, lambda g: rx.el.li(
                    rx.hstack(
                        rx.link(g["name"], href="/segments/" + g["id"].to(str)),
                        rx.text(g["how"], size="1", color=rx.color("gray", 10)),
                        rx.spacer(),
                        rx.icon_button(rx.icon("x", size=12), size="1", variant="ghost", color_scheme="gray",
                                       aria_label="Remove from segment " + g["name"].to(str), on_click=S.remove_from_segment(g["id"])),
                        align="center", width="100%",
                    ))),
                aria_label="Segments", style={"list_style": "none", "padding": "0", "margin": "0", "width": "100%"},
            ),
            rx.text("In no segment.", color=rx.color("gray", 10), size="2"),
        ),
        rx.cond(
            S.segment_choices.length() > 0,
            rx.form(
                rx.hstack(
                    native_select(*option_list(S.segment_choices, blank="Choose a segment"), name="segment",
                                  aria_label="Add to segment"),
                    rx.button("Add", type="submit", variant="soft"),
                    width="100%", spacing="2",
                ),
                on_submit=S.add_to_segment, reset_on_submit=True, width="100%",
            ),
        ),
        heading_id="segments-heading",
    )


def _companies_card() -> rx.Component:
    return section(
        "Companies",
        rx.cond(
            S.companies.length() > 0,
            rx.el.ul(
                rx.foreach(
                    S.companies,
                    lambda c: rx.el.li(
                        rx.hstack(
                            rx.icon("building-2", size=16, aria_hidden="true", color=rx.color("gray", 10)),
                            rx.text(c["name"], size="2"),
                            rx.cond(c["primary"] == "1", rx.badge("Primary", color_scheme="green", size="1")),
                            rx.spacer(),
                            rx.icon_button(rx.icon("unlink", size=14), size="1", variant="ghost", color_scheme="gray",
                                           on_click=S.unlink_company(c["id"]), aria_label="Unlink " + c["name"].to(str)),
                            align="center",
                            width="100%",
                        ),
                        style={"padding": "0.25rem 0"},
                    ),
                ),
                aria_label="Linked companies",
                style={"list_style": "none", "padding": "0", "margin": "0", "width": "100%"},
            ),
            rx.text("Not linked to a company.", color=rx.color("gray", 10), size="2"),
        ),
        rx.form(
            rx.hstack(
                rx.input(name="q", placeholder="Find a company to link", aria_label="Find a company to link", width="100%"),
                rx.button("Find", type="submit", variant="soft"),
                width="100%",
                spacing="2",
            ),
            on_submit=S.find_companies,
            width="100%",
        ),
        rx.cond(
            S.company_results.length() > 0,
            rx.vstack(
                rx.foreach(
                    S.company_results,
                    lambda c: rx.hstack(
                        rx.text(c["name"], size="2"),
                        rx.spacer(),
                        rx.button("Link", size="1", variant="soft", on_click=S.link_company(c["id"]),
                                  aria_label="Link " + c["name"].to(str)),
                        width="100%",
                        align="center",
                    ),
                ),
                width="100%",
                spacing="1",
            ),
            rx.cond(S.company_searched, rx.text("No matching companies.", size="1", color=rx.color("gray", 10))),
        ),
        heading_id="companies-heading",
    )


def _dnc_card() -> rx.Component:
    return section(
        "Do not contact",
        rx.foreach(
            S.dnc,
            lambda d: rx.hstack(
                rx.vstack(
                    rx.text(d["label"], size="2", weight="medium"),
                    rx.cond(
                        d["active"] == "1",
                        rx.vstack(
                            rx.badge("Do not contact: " + d["reason"].to(str), color_scheme="red"),
                            rx.cond(d["comments"] != "", rx.text(d["comments"], size="1", color=rx.color("gray", 11))),
                            spacing="1",
                        ),
                        rx.badge("Contactable", color_scheme="green", variant="soft"),
                    ),
                    spacing="1",
                ),
                rx.spacer(),
                rx.cond(
                    d["active"] == "1",
                    rx.button("Allow", size="1", variant="soft", on_click=S.remove_dnc(d["channel"]),
                              aria_label="Allow " + d["label"].to(str)),
                    rx.button("Block", size="1", variant="soft", color_scheme="red", on_click=S.open_dnc(d["channel"]),
                              aria_label="Do not contact by " + d["label"].to(str)),
                ),
                width="100%",
                align="center",
            ),
        ),
        heading_id="dnc-heading",
    )


def _ips_card() -> rx.Component:
    return section(
        "IP addresses",
        rx.cond(
            S.ips.length() > 0,
            rx.flex(rx.foreach(S.ips, lambda ip: rx.code(ip, variant="soft")), wrap="wrap", gap="2"),
            rx.text("None recorded.", color=rx.color("gray", 10), size="2"),
        ),
        heading_id="ips-heading",
    )


def _visits_card() -> rx.Component:
    """Titles, addresses and referrers are the visitor's text: shown as text, never as links."""
    cell = {"max_width": "22rem", "word_break": "break-all"}
    return section(
        "Page visits",
        rx.cond(
            S.visits.length() > 0,
            rx.box(
                rx.table.root(
                    rx.el.caption("Page visits", style=VISUALLY_HIDDEN),
                    rx.table.header(rx.table.row(plain_header("Time (UTC)"), plain_header("Page"), plain_header("Referrer"),
                                                 plain_header("Device"))),
                    rx.table.body(rx.foreach(S.visits, lambda v: rx.table.row(
                        rx.table.cell(v["date"], white_space="nowrap"),
                        rx.table.cell(
                            rx.text(v["title"], size="2", weight="medium", word_break="break-word"),
                            rx.text(v["url"], size="1", color=rx.color("gray", 11)),
                            **cell,
                        ),
                        rx.table.cell(rx.text(v["referrer"], size="1", color=rx.color("gray", 11)), **cell),
                        rx.table.cell(v["device"], white_space="nowrap"),
                    ))),
                    variant="ghost",
                    size="1",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.text("No page visits recorded.", color=rx.color("gray", 10), size="2"),
        ),
        rx.cond(
            S.visits_total > VISITS_PAGE,
            rx.hstack(
                rx.text(S.visits_range, size="2", color=rx.color("gray", 11), aria_live="polite"),
                rx.spacer(),
                rx.icon_button(rx.icon("chevron-left", size=16), variant="soft", on_click=S.page_visits("newer"),
                               disabled=S.visits_start == 0, aria_label="Newer page visits"),
                rx.icon_button(rx.icon("chevron-right", size=16), variant="soft", on_click=S.page_visits("older"),
                               disabled=S.visits_start + VISITS_PAGE >= S.visits_total, aria_label="Older page visits"),
                align="center",
                width="100%",
            ),
        ),
        heading_id="visits-heading",
    )


def _devices_card() -> rx.Component:
    return section(
        "Devices",
        rx.cond(
            S.devices.length() > 0,
            rx.el.ul(
                rx.foreach(S.devices, lambda d: rx.el.li(
                    rx.vstack(
                        rx.hstack(
                            rx.text(d["device"], size="2", weight="medium"),
                            rx.cond(d["model"] != "", rx.text(d["model"], size="2")),
                            spacing="2",
                            wrap="wrap",
                        ),
                        rx.text(
                            rx.cond(d["os"] != "", d["os"], "Unknown system"), " · ",
                            rx.cond(d["browser"] != "", d["browser"], "unknown browser"),
                            size="1", color=rx.color("gray", 11),
                        ),
                        rx.text("Last seen ", d["last_seen"], size="1", color=rx.color("gray", 10)),
                        spacing="0",
                    ),
                    style={"padding": "0.4rem 0", "border_bottom": "1px solid var(--gray-a4)"},
                )),
                aria_label="Devices",
                style={"list_style": "none", "padding": "0", "margin": "0", "width": "100%"},
            ),
            rx.text("No devices recorded.", color=rx.color("gray", 10), size="2"),
        ),
        heading_id="devices-heading",
    )


def _utm_card() -> rx.Component:
    return section(
        "UTM tags",
        rx.cond(
            S.utm_tags.length() > 0,
            rx.el.ul(
                rx.foreach(S.utm_tags, lambda u: rx.el.li(
                    rx.text(u["text"], size="2", word_break="break-word"),
                    rx.text(u["date"], size="1", color=rx.color("gray", 10)),
                    style={"padding": "0.3rem 0"},
                )),
                aria_label="UTM tags",
                style={"list_style": "none", "padding": "0", "margin": "0", "width": "100%"},
            ),
            rx.text("No UTM tags.", color=rx.color("gray", 10), size="2"),
        ),
        heading_id="utm-heading",
    )


def _dnc_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Do not contact by " + S.dnc_channel_label.to(str)),
            rx.dialog.description("Reason: manual. The contact will not receive messages on this channel.", size="2"),
            rx.form(
                rx.vstack(
                    labelled("Comment", rx.text_area(id="dnc-comments", name="comments", rows="3", width="100%"), "dnc-comments"),
                    rx.hstack(
                        rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=S.close_dnc(False)),
                        rx.button("Save", type="submit", color_scheme="red"),
                        justify="end",
                        width="100%",
                        spacing="3",
                    ),
                    spacing="3",
                    margin_top="1rem",
                ),
                on_submit=S.add_dnc,
            ),
            max_width="28rem",
        ),
        open=S.dnc_channel != "",
        on_open_change=S.close_dnc,
    )


def _merge_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Merge a contact into ", S.name),
            rx.dialog.description(
                "The chosen contact's fields fill this contact's gaps, its points, tags, notes and history move here, "
                "and it is then deleted.",
                size="2",
            ),
            rx.form(
                rx.hstack(
                    rx.input(name="q", placeholder="Name or e-mail", aria_label="Find a contact to merge", width="100%", auto_focus=True),
                    rx.button("Find", type="submit", variant="soft"),
                    width="100%",
                    spacing="2",
                ),
                on_submit=S.find_merge,
                margin_top="1rem",
            ),
            rx.cond(
                S.merge_results.length() > 0,
                rx.vstack(
                    rx.foreach(
                        S.merge_results,
                        lambda c: rx.hstack(
                            rx.vstack(
                                rx.text(c["name"], size="2", weight="medium"),
                                rx.text(c["email"], size="1", color=rx.color("gray", 10)),
                                spacing="0",
                                min_width="0",
                            ),
                            rx.spacer(),
                            rx.button(
                                rx.cond(S.merge_pick["id"] == c["id"], "Chosen", "Choose"),
                                size="1",
                                variant=rx.cond(S.merge_pick["id"] == c["id"], "solid", "soft"),
                                on_click=S.pick_merge(c),
                                aria_label="Choose " + c["name"].to(str) + " " + c["email"].to(str),
                                aria_pressed=S.merge_pick["id"] == c["id"],
                            ),
                            width="100%",
                            align="center",
                        ),
                    ),
                    width="100%",
                    spacing="2",
                    margin_top="0.75rem",
                    max_height="16rem",
                    overflow_y="auto",
                ),
                rx.cond(S.merge_searched, rx.text("No other contact matches.", size="2", color=rx.color("gray", 10), margin_top="0.75rem")),
            ),
            rx.cond(
                S.merge_pick.contains("id"),
                rx.text(S.merge_pick["name"], " will be merged into ", S.name, ".", size="2", weight="medium", margin_top="0.75rem"),
            ),
            rx.cond(S.merge_error != "", rx.callout(S.merge_error, color_scheme="red", role="alert", size="1", margin_top="0.75rem")),
            rx.hstack(
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=S.close_merge(False)),
                rx.button("Merge contacts", on_click=S.do_merge, disabled=~S.merge_pick.contains("id"), loading=S.busy),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
            max_width="32rem",
        ),
        open=S.merge_open,
        on_open_change=S.close_merge,
    )


def _body() -> rx.Component:
    return rx.vstack(
        _header(),
        rx.grid(
            rx.vstack(
                _details_card(),
                rx.card(
                    rx.tabs.root(
                        rx.tabs.list(
                            rx.tabs.trigger("Timeline", value="timeline"),
                            rx.tabs.trigger("Notes (", S.notes.length(), ")", value="notes"),
                        ),
                        rx.tabs.content(_timeline(), value="timeline", padding_top="1rem"),
                        rx.tabs.content(_notes(), value="notes", padding_top="1rem"),
                        default_value="timeline",
                        width="100%",
                    ),
                    width="100%",
                ),
                _visits_card(),
                spacing="4",
                width="100%",
                min_width="0",
            ),
            rx.vstack(
                _points_stage_card(),
                _tags_card(),
                _segments_card(),
                _companies_card(),
                _dnc_card(),
                _ips_card(),
                _devices_card(),
                _utm_card(),
                spacing="4",
                width="100%",
                min_width="0",
            ),
            columns=rx.breakpoints(initial="1", lg="2fr 1fr"),
            spacing="4",
            width="100%",
            align_items="start",
        ),
        _merge_dialog(),
        _dnc_dialog(),
        confirm_dialog(
            open=S.delete_open,
            title="Delete contact",
            description="Delete " + S.name.to(str) + " and all of its history? This cannot be undone.",
            confirm_label="Delete contact",
            on_confirm=S.do_delete,
            on_cancel=S.close_delete,
            busy=S.busy,
        ),
        width="100%",
        spacing="0",
    )


@template(route="/contacts/[contact_id]", title="Contact", on_load=ContactDetailState.load)
def contact_detail() -> rx.Component:
    return rx.cond(
        S.loaded,
        rx.cond(
            S.missing,
            rx.vstack(
                rx.heading("Contact not found", size="6", as_="h1"),
                rx.cond(
                    S.merged_into > 0,
                    rx.callout("This contact was merged into another one.", icon="merge"),
                    rx.callout("This contact does not exist; it may have been deleted.", icon="info"),
                ),
                rx.cond(
                    S.merged_into > 0,
                    rx.link("Open the contact it was merged into", href="/contacts/" + S.merged_into.to(str)),
                    rx.link("Back to contacts", href="/contacts"),
                ),
                spacing="3",
            ),
            _body(),
        ),
        rx.center(rx.spinner(size="3"), width="100%", padding="4rem"),
    )
