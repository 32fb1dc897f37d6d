"""The contact page's State: the contact and everything around it (points, stage, owner, tags, segments, notes,
companies, do-not-contact, visits, devices, timeline), the changes a marketer makes to it, merge and delete;
followed live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from mautic_app import routes
from mautic_app.domain.search import SearchError
from mautic_app.services import companies, contacts, segments, timeline
from mautic_app.services import points as point_service
from mautic_app.ui import live
from mautic_app.ui.components.contact_data import parse_id
from mautic_app.ui.layout import RecordPage
from mautic_app.ui.pages.contact_detail.data import (
    DNC_CHANNELS,
    TIMELINE_PAGE,
    VISITS_PAGE,
    DetailGroup,
    companies_matching,
    contacts_matching,
    load_contact,
    load_tag_names,
    load_timeline,
    load_visits,
    write,
)
from mautic_app.ui.session import SessionState

# What the services raise when they refuse a change; its ``errors`` say why.
REFUSED = (contacts.ContactError, companies.CompanyError, point_service.PointError)


def _reason(exc: contacts.ContactError | companies.CompanyError | point_service.PointError) -> str:
    return " ".join(exc.errors.values())


class ContactDetailState(RecordPage, rx.State):
    cid: int = 0
    loaded: bool = False
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
    known_tags: list[str] = []  # what the tag box suggests
    segments: list[dict[str, str]] = []
    campaigns: list[dict[str, str]] = []
    segment_choices: list[dict[str, str]] = []
    emails: list[dict[str, str]] = []
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
        return routes.contact_edit(self.cid)

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
        data = await rx.run_in_thread(lambda: load_contact(cid))
        if not data or "redirect" in data:
            self.missing = True
            self.merged_into = int(data.get("redirect") or 0) if data else 0
            return False
        self.missing, self.merged_into = False, 0
        for key in ("name", "email", "subtitle", "initials", "anonymous", "points", "group_scores", "date_added", "last_active", "groups",
                    "stage_id", "owner_id", "tags", "notes", "companies", "ips", "dnc", "owners", "stages", "utm_tags",
                    "segments", "segment_choices", "emails", "campaigns"):
            setattr(self, key, data[key])
        return True

    async def _reload_events(self, keep: bool = True) -> None:
        cid, kind = self.cid, self.event_filter
        limit = max(TIMELINE_PAGE, len(self.events)) if keep else TIMELINE_PAGE
        self.events, self.more_events = await rx.run_in_thread(lambda: load_timeline(cid, kind, None, limit))

    async def _reload_visits(self) -> None:
        """The current page of visits (a new hit shifts it by one, as the newest comes first) and the devices."""
        cid, start = self.cid, self.visits_start
        data = await rx.run_in_thread(lambda: load_visits(cid, start))
        if not data["visits"] and start:
            self.visits_start = 0
            data = await rx.run_in_thread(lambda: load_visits(cid, 0))
        self.visits, self.visits_total, self.devices = data["visits"], data["visits_total"], data["devices"]

    @rx.event
    async def load(self):
        cid = routes.id_in_path(self.router.url.path, routes.CONTACT) or 0
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
                return rx.redirect(routes.contact(self.merged_into), replace=True)
            return
        await self._reload_events(keep=False)
        await self._reload_visits()
        self.known_tags = await rx.run_in_thread(load_tag_names)
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

        await live.follow(self, ["contacts", "segment_members", "contact_activity"], refresh)

    async def _after_write(self) -> None:
        if await self._refresh():
            await self._reload_events()
            await self._reload_visits()  # a merge brings the other contact's visits and devices

    async def _apply(self, fn: Callable[..., Any], **kwargs: Any) -> None:
        """The service write ``fn(**kwargs)`` in a thread, then everything shown is read again; a refusal propagates."""
        await rx.run_in_thread(lambda: write(fn, **kwargs))
        await self._after_write()

    async def _try(self, fn: Callable[..., Any], *, refused_in: str = "action_error", **kwargs: Any) -> bool:
        """:meth:`_apply`; when the service refuses, its reason goes to the var ``refused_in`` (cleared otherwise)."""
        try:
            await self._apply(fn, **kwargs)
        except REFUSED as exc:
            setattr(self, refused_in, _reason(exc))
            return False
        setattr(self, refused_in, "")
        return True

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
        cid, kind, before = self.cid, self.event_filter, self.events[-1]["cursor"]
        rows, more = await rx.run_in_thread(lambda: load_timeline(cid, kind, before, TIMELINE_PAGE))
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
        # Through the points service, so point triggers run for a score reached by hand too.
        await self._try(point_service.adjust, contact_id=self.cid, reason="manual",
                        delta=amount if operation == "plus" else -amount, user_id=await self._user_id())

    @rx.event
    async def set_stage(self, value: str):
        if await self._try(contacts.set_stage, contact_ids=[self.cid], stage_id=parse_id(value), user_id=await self._user_id()):
            return rx.toast.success("Stage changed.")

    @rx.event
    async def set_owner(self, value: str):
        if await self._try(contacts.set_owner, contact_ids=[self.cid], owner_id=parse_id(value), user_id=await self._user_id()):
            return rx.toast.success("Owner changed.")

    # ------------------------------------------------------------ tags and segments

    @rx.event
    async def add_tags(self, form: dict):
        names = [t.strip() for t in str(form.get("tags", "")).replace("|", ",").split(",") if t.strip().lstrip("-")]
        names = [t.lstrip("-").strip() for t in names]
        if not names:
            self.tag_error = "Enter a tag."
            return
        self.tag_error = ""
        await self._apply(contacts.modify_tags, contact_ids=[self.cid], tags=names, user_id=await self._user_id())

    @rx.event
    async def remove_tag(self, tag: str):
        await self._apply(contacts.modify_tags, contact_ids=[self.cid], tags=["-" + tag], user_id=await self._user_id())

    @rx.event
    async def add_to_segment(self, form: dict):
        segment_id = parse_id(form.get("segment"))
        if segment_id:
            await self._apply(segments.add_contacts, segment_id=segment_id, contact_ids=[self.cid], user_id=await self._user_id())

    @rx.event
    async def remove_from_segment(self, segment_id: str):
        sid = parse_id(segment_id)
        if sid:
            await self._apply(segments.remove_contacts, segment_id=sid, contact_ids=[self.cid], user_id=await self._user_id())

    # ------------------------------------------------------------ notes

    @rx.event
    async def add_note(self, form: dict):
        text, kind = str(form.get("text", "")), str(form.get("type", "general"))
        if await self._try(contacts.add_note, refused_in="note_error", contact_id=self.cid, text=text, type=kind,
                           user_id=await self._user_id()):
            self.note_key += 1
            return rx.toast.success("Note added.")

    @rx.event
    async def delete_note(self, note_id: str):
        nid = parse_id(note_id)
        if nid is not None and note_id in {n["id"] for n in self.notes}:
            await self._apply(contacts.delete_note, note_id=nid)

    # ------------------------------------------------------------ companies

    @rx.event
    async def find_companies(self, form: dict):
        query = str(form.get("q", "")).strip()
        exclude = [c["id"] for c in self.companies]
        self.company_results = await rx.run_in_thread(lambda: companies_matching(query, exclude))
        self.company_searched = True

    @rx.event
    async def link_company(self, company_id: str):
        cid, user_id, comp = self.cid, await self._user_id(), parse_id(company_id)
        if comp is None:
            return
        try:
            await rx.run_in_thread(lambda: write(companies.link_contact, company_id=comp, contact_id=cid, user_id=user_id))
        except companies.CompanyError as exc:
            self.action_error = _reason(exc)
            return
        self.company_results = [c for c in self.company_results if c["id"] != company_id]
        await self._after_write()

    @rx.event
    async def unlink_company(self, company_id: str):
        comp = parse_id(company_id)
        if comp is not None:
            await self._apply(companies.unlink_contact, company_id=comp, contact_id=self.cid, user_id=await self._user_id())

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
        await rx.run_in_thread(lambda: write(contacts.add_dnc, contact_id=cid, channel=channel, reason=3, comments=comments,
                                             force=True, user_id=user_id))
        self.dnc_channel = ""
        await self._after_write()
        return rx.toast.success("Marked do not contact.")

    @rx.event
    async def remove_dnc(self, channel: str):
        await self._apply(contacts.remove_dnc, contact_id=self.cid, channel=channel, user_id=await self._user_id())

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
            self.merge_results = await rx.run_in_thread(lambda: contacts_matching(query, cid))
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
            await rx.run_in_thread(lambda: write(contacts.merge, winner_id=cid, loser_id=loser, user_id=user_id))
        except contacts.ContactError as exc:
            self.busy = False
            self.merge_error = _reason(exc)
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
        await rx.run_in_thread(lambda: write(contacts.delete, contact_ids=[cid]))
        self.busy, self.delete_open = False, False
        yield rx.toast.success("Contact deleted.")
        yield rx.redirect(routes.CONTACTS)
