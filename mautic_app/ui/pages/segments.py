"""Segments: every segment with its member count, last build and build time; rebuild now, live."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import segments
from mautic_app.ui import live
from mautic_app.ui.components.paged_list import DeleteConfirm, all_rows_body, delete_confirmation, linked_name, row_actions
from mautic_app.ui.layout import page_header, template


def when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _load() -> list[dict[str, str]]:
    with session_scope() as session:
        _total, rows = segments.list_segments(session=session, limit=500)
        return [
            {
                "id": str(s.id), "name": s.name, "alias": s.alias, "description": s.description or "",
                "published": "1" if s.is_published else "", "members": f"{s.member_count:,}",
                "members_href": routes.contacts_search(f"segment:{s.alias}"),
                "built": when(s.last_built) or "Not built yet",
                "took": f"{s.build_seconds:.2f} s" if s.build_seconds is not None else "",
                "filters": str(len(s.filters or [])),
            }
            for s in rows
        ]


def _delete(segment_id: int) -> None:
    with session_scope() as session:
        segments.delete_segment(session=session, segment_id=segment_id)


def _users_of(segment_id: int) -> list[str]:
    with session_scope() as session:
        return segments.segments_using(session=session, segment_id=segment_id)


class SegmentsState(DeleteConfirm, rx.State):
    noun: ClassVar[str] = "segment"
    nouns: ClassVar[str] = "segments"
    follow_topics: ClassVar[tuple[str, ...]] = ("segments",)

    blocked: str = ""  # why the last delete could not happen
    rebuilding: list[str] = []  # segment ids a rebuild is running or queued for

    async def _reload(self) -> None:
        await self._fetch_all(_load)

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def ask_delete(self, row_id: str):
        """Segments other segments filter on cannot go: say which, instead of asking."""
        users = await rx.run_in_thread(lambda: _users_of(int(row_id)))
        row = next((r for r in self.rows if r["id"] == row_id), None)
        if row is None:
            return
        if users:
            self.blocked = f"“{row['name']}” cannot be deleted: " + ", ".join(users[:5]) + " filter on it."
            return
        self.blocked = ""
        self.delete_id, self.delete_name = int(row_id), row["name"]

    @rx.event(background=True)
    async def follow_changes(self):
        """Besides reloading, keep track of the rebuilds that run, to show them as they go."""

        async def refresh(batch):
            for payload in batch:
                ids = {str(i) for i in payload.get("ids", [])}
                if "rebuilding" in payload.get("actions", []):
                    self.rebuilding = sorted(set(self.rebuilding) | ids)
                elif "rebuilt" in payload.get("actions", []):
                    self.rebuilding = [i for i in self.rebuilding if i not in ids]
            await self._reload()

        await live.follow(self, self.follow_topics, refresh)

    @rx.event
    async def rebuild_now(self, segment_id: str):
        if segment_id in self.rebuilding:
            return
        self.rebuilding = [*self.rebuilding, segment_id]
        await rx.run_in_thread(lambda: segments.queue_rebuild(int(segment_id)))
        name = next((r["name"] for r in self.rows if r["id"] == segment_id), "")
        return rx.toast.info(f"Rebuilding “{name}”…")


def _row(row: rx.Var) -> rx.Component:
    S = SegmentsState
    name = row["name"].to(str)
    busy = S.rebuilding.contains(row["id"])
    href = routes.segment(row["id"].to(str))
    return rx.table.row(
        rx.table.row_header_cell(linked_name(row, href)),
        rx.table.cell(rx.link(row["members"], href=row["members_href"], aria_label="Contacts in " + name + ": " + row["members"].to(str))),
        rx.table.cell(
            rx.cond(busy, rx.hstack(rx.spinner(size="1"), rx.text("Rebuilding…", size="2"), role="status", align="center"),
                    rx.vstack(rx.text(row["built"], size="2"), rx.text(row["took"], size="1", color=rx.color("gray", 10)), spacing="0")),
        ),
        rx.table.cell(
            rx.hstack(
                rx.icon_button(rx.icon("refresh-cw", size=14), size="1", variant="soft", aria_label="Rebuild " + name,
                               on_click=S.rebuild_now(row["id"]), disabled=busy),
                row_actions(S, row, edit_href=href),
                spacing="2", justify="end",
            ),
        ),
        _hover={"background": rx.color("gray", 2)},
    )


@template(route=routes.SEGMENTS, title="Segments", on_load=SegmentsState.load)
def segments_page() -> rx.Component:
    S = SegmentsState
    return rx.vstack(
        page_header("Segments", rx.link(rx.button(rx.icon("plus", size=16), "New segment", tab_index=-1),
                                        href=routes.SEGMENT_NEW)),
        rx.cond(S.blocked != "", rx.callout(S.blocked, color_scheme="red", role="alert", width="100%")),
        all_rows_body(S, "Segments", ("Name", "Contacts", "Last built"), _row, empty_icon="filter",
                      empty_text="No segments yet. Create one to group contacts by who they are and what they do."),
        delete_confirmation(S, "Its contacts stay; only the grouping goes."),
        spacing="3", width="100%",
    )
