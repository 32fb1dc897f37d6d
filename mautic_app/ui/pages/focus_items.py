"""Focus items: every item with its type, style, views, clicks and conversions, live."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.domain import focus as rules
from mautic_app.services import focus
from mautic_app.ui.components.paged_list import DeleteConfirm, all_rows_body, delete_confirmation, linked_name, row_actions
from mautic_app.ui.layout import page_header, template


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
    nouns: ClassVar[str] = "focus items"
    follow_topics: ClassVar[tuple[str, ...]] = ("focus",)

    async def _reload(self) -> None:
        await self._fetch_all(_load)

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))


def _row(row: rx.Var) -> rx.Component:
    S = FocusItemsState
    href = routes.focus_item(row["id"].to(str))
    return rx.table.row(
        rx.table.row_header_cell(linked_name(row, href)),
        rx.table.cell(row["type"]),
        rx.table.cell(row["style"]),
        rx.table.cell(row["views"]),
        rx.table.cell(row["clicks"]),
        rx.table.cell(row["conversions"]),
        rx.table.cell(row_actions(S, row, edit_href=href)),
        _hover={"background": rx.color("gray", 2)},
    )


@template(route=routes.FOCUS_ITEMS, title="Focus items", on_load=FocusItemsState.load)
def focus_items_page() -> rx.Component:
    S = FocusItemsState
    return rx.vstack(
        page_header("Focus items", rx.link(rx.button(rx.icon("plus", size=16), "New focus item", tab_index=-1),
                                           href=routes.FOCUS_ITEM_NEW)),
        all_rows_body(S, "Focus items", ("Name", "Type", "Style", "Views", "Clicks", "Conversions"), _row,
                      empty_icon="target",
                      empty_text="No focus items yet. Create a bar, modal, notification or full page to show on your sites."),
        delete_confirmation(S, "Its statistics go with it; sites that embed it stop showing it."),
        spacing="3", width="100%",
    )
