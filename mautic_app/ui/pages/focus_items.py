"""Focus items: every item with its type, style, views, clicks and conversions, live."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.domain import focus as rules
from mautic_app.services import focus
from mautic_app.ui import live
from mautic_app.ui.components.paged_list import DeleteConfirm, delete_confirmation, list_table, row_actions
from mautic_app.ui.layout import page_header, template

ROUTE = "/focus"


def _load() -> list[dict[str, str]]:
    with session_scope() as session:
        _total, rows = focus.list_focus(session=session, limit=500)
        totals = focus.stat_totals(session=session, focus_ids=[r.id for r in rows])
    out = []
    for r in rows:
        t = totals.get(r.id, dict.fromkeys(rules.STAT_TYPES, 0))
        placement = rules.PLACEMENTS.get(r.style, {}).get((r.properties or {}).get("placement", ""), "")
        out.append({
            "id": str(r.id), "name": r.name, "description": r.description or "", "published": "1" if r.is_published else "",
            "type": rules.TYPES.get(r.type, r.type),
            "style": rules.STYLES.get(r.style, r.style) + (f" ({placement.lower()})" if placement and r.style != "page" else ""),
            "views": f"{t['view']:,}", "clicks": f"{t['click']:,}", "conversions": f"{t['conversion']:,}",
        })
    return out


def _delete(focus_id: int) -> None:
    with session_scope() as session:
        focus.delete_focus(session=session, focus_id=focus_id)


class FocusItemsState(DeleteConfirm, rx.State):
    noun: ClassVar[str] = "focus item"

    loaded: bool = False
    _following: bool = False

    @rx.var
    def count_label(self) -> str:
        return "1 focus item" if len(self.rows) == 1 else f"{len(self.rows)} focus items"

    async def _reload(self) -> None:
        self.rows = await rx.run_in_thread(_load)
        self.loaded = True

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def load(self):
        self.delete_id = 0
        await self._reload()
        return FocusItemsState.follow_changes

    @rx.event(background=True)
    async def follow_changes(self):
        async def refresh(_batch):
            await self._reload()

        await live.follow(self, ["focus"], refresh)


def _row(row: rx.Var) -> rx.Component:
    S = FocusItemsState
    name = row["name"].to(str)
    href = "/focus/" + row["id"].to(str)
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.hstack(
                    rx.link(row["name"], href=href, weight="medium"),
                    rx.cond(row["published"] == "", rx.badge("Unpublished", color_scheme="gray", variant="soft")),
                    align="center", spacing="2",
                ),
                rx.text(row["description"], size="1", color=rx.color("gray", 10)),
                spacing="0",
            ),
        ),
        rx.table.cell(row["type"]),
        rx.table.cell(row["style"]),
        rx.table.cell(row["views"]),
        rx.table.cell(row["clicks"]),
        rx.table.cell(row["conversions"]),
        rx.table.cell(row_actions(S, row, edit=rx.link(
            rx.icon_button(rx.icon("pencil", size=14), size="1", variant="soft", aria_label="Edit " + name, tab_index=-1),
            href=href))),
        _hover={"background": rx.color("gray", 2)},
    )


@template(route=ROUTE, title="Focus items", on_load=FocusItemsState.load)
def focus_items_page() -> rx.Component:
    S = FocusItemsState
    return rx.vstack(
        page_header("Focus items", rx.link(rx.button(rx.icon("plus", size=16), "New focus item", tab_index=-1), href="/focus/new")),
        rx.cond(
            S.loaded,
            rx.cond(
                S.rows.length() > 0,
                rx.vstack(
                    rx.text(S.count_label, size="2", color=rx.color("gray", 11), role="status"),
                    list_table(S, "Focus items", ("Name", "Type", "Style", "Views", "Clicks", "Conversions"), _row),
                    width="100%", spacing="2",
                ),
                rx.center(
                    rx.vstack(
                        rx.icon("target", size=32, color=rx.color("gray", 8)),
                        rx.text("No focus items yet. Create a bar, modal, notification or full page to show on your sites.",
                                color=rx.color("gray", 10)),
                        align="center",
                    ),
                    width="100%", padding="3rem",
                ),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        delete_confirmation(S, "Its statistics go with it; sites that embed it stop showing it."),
        spacing="3", width="100%",
    )
