"""``/emails``: every e-mail with its type, sent count and read and click rates (live), search, clone, delete."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import emails
from mautic_app.ui.components.paged_list import (
    PagedList,
    delete_confirmation,
    empty_message,
    linked_name,
    list_body,
    list_status,
    list_table,
    row_actions,
    search_form,
)
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState

COLUMNS = ("Name", "Type", "Sent", "Read", "Clicked")


def _load(search: str, start: int, limit: int) -> dict[str, Any]:
    with session_scope() as session:
        total, rows = emails.list_emails(session=session, search=search, start=start, limit=limit)
    return {"total": total, "rows": [{
        "id": str(r["id"]), "name": r["name"], "description": r["subject"] + (f" · {r['category']}" if r["category"] else ""),
        "published": "1" if r["published"] else "", "type": r["type"], "sent": f"{r['sent']:,}",
        "read": r["read_rate"], "clicked": r["click_rate"],
    } for r in rows]}


def _delete(email_id: int) -> None:
    with session_scope() as session:
        emails.delete_email(session=session, email_id=email_id)


def _clone(email_id: int, user_id: int | None) -> int:
    with session_scope() as session:
        copy = emails.clone_email(session=session, email_id=email_id, user_id=user_id)
        assert copy.id is not None
        return copy.id


class EmailsState(PagedList, rx.State):
    noun: ClassVar[str] = "e-mail"
    nouns: ClassVar[str] = "e-mails"
    follow_topics: ClassVar[tuple[str, ...]] = ("emails",)

    async def _reload(self) -> None:
        await self._fetch_page(_load)

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def clone(self, row_id: str):
        user_id = (await self.get_state(SessionState)).user_id
        try:
            new_id = await rx.run_in_thread(lambda: _clone(int(row_id), user_id))
        except emails.EmailError as exc:
            return rx.toast.error(str(exc))
        return rx.redirect(routes.email(new_id))


def _row(row: rx.Var) -> rx.Component:
    S = EmailsState
    href = routes.email(row["id"].to(str))
    clone = rx.icon_button(rx.icon("copy", size=14), size="1", variant="soft", aria_label="Clone " + row["name"].to(str),
                           on_click=S.clone(row["id"]))
    return rx.table.row(
        rx.table.row_header_cell(linked_name(row, href)),
        rx.table.cell(row["type"]),
        rx.table.cell(row["sent"]),
        rx.table.cell(row["read"]),
        rx.table.cell(row["clicked"]),
        rx.table.cell(rx.hstack(clone, row_actions(S, row, edit_href=href), spacing="2", justify="end")),
        _hover={"background": rx.color("gray", 2)},
    )


@template(route=routes.EMAILS, title="E-mails", on_load=EmailsState.load)
def emails_page() -> rx.Component:
    S = EmailsState
    return rx.vstack(
        page_header("E-mails", rx.link("Outbox", href=routes.OUTBOX, size="2"),
                    rx.link(rx.button(rx.icon("plus", size=16), "New e-mail", tab_index=-1), href=routes.EMAIL_NEW)),
        search_form(S, "E-mails", placeholder="Search by name, subject or category…"),
        list_status(S),
        list_body(S, list_table(S, "E-mails", COLUMNS, _row),
                  empty_message(S, "No e-mails match.", "No e-mails yet. Write one to send to a segment, or for forms and campaigns to send.",
                                icon="mail")),
        delete_confirmation(S, "Its statistics go with it; links in e-mails already sent stop working."),
        spacing="3", width="100%",
    )
