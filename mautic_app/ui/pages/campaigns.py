"""Campaigns: every campaign with its status, category and members (live as contacts join and leave); clone,
publish or unpublish and delete from the list."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import campaign_transfer, campaigns
from mautic_app.ui.components.paged_list import DeleteConfirm, all_rows_body, delete_confirmation, linked_name, row_actions
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState

STATUS_COLOURS = {"draft": "gray", "published": "green", "scheduled": "blue", "expired": "orange"}
STATUS_LABELS = {"draft": "Draft", "published": "Published", "scheduled": "Scheduled", "expired": "Expired"}


def _load(category: str) -> list[dict[str, str]]:
    with session_scope() as session:
        _total, rows = campaigns.list_campaigns(session=session, category=category, limit=1000)
    return [{"id": str(r["id"]), "name": r["name"], "description": r["description"][:140], "category": r["category"] or "",
             "status": r["status"], "status_label": STATUS_LABELS[r["status"]], "members": f"{r['members']:,}",
             "published": "1" if r["is_published"] else ""} for r in rows]


def _categories() -> list[str]:
    with session_scope() as session:
        return campaigns.categories(session=session)


def _delete(campaign_id: int) -> None:
    with session_scope() as session:
        campaigns.delete(session=session, campaign_ids=[campaign_id])


def _clone(campaign_id: int, user_id: int | None) -> int:
    with session_scope() as session:
        return int(campaigns.clone(session=session, campaign_id=campaign_id, user_id=user_id).id or 0)


def _import(data: bytes, user_id: int | None) -> int:
    with session_scope() as session:
        return int(campaign_transfer.import_campaign(session=session, data=data, user_id=user_id).id or 0)


def _publish(campaign_id: int, on: bool) -> None:
    with session_scope() as session:
        campaigns.set_published(session=session, campaign_id=campaign_id, published=on)


class CampaignsState(DeleteConfirm, rx.State):
    noun: ClassVar[str] = "campaign"
    nouns: ClassVar[str] = "campaigns"
    follow_topics: ClassVar[tuple[str, ...]] = ("campaigns",)

    category: str = ""
    categories: list[str] = []

    async def _reload(self) -> None:
        category = self.category
        self.categories = await rx.run_in_thread(_categories)
        await self._fetch_all(lambda: _load(category))

    async def _remove(self, row_id: int) -> None:
        await rx.run_in_thread(lambda: _delete(row_id))

    @rx.event
    async def filter_category(self, value: str):
        self.category = "" if value == "all" else value
        await self._reload()

    @rx.event
    async def clone(self, row_id: str):
        user_id = (await self.get_state(SessionState)).user_id
        new_id = await rx.run_in_thread(lambda: _clone(int(row_id), user_id))
        yield rx.toast.success("Campaign cloned: it is a draft until you publish it.")
        yield rx.redirect(routes.campaign(new_id))

    @rx.event
    async def import_file(self, files: list[rx.UploadFile]):
        """A campaign exported from this product (here or another instance) arrives as a new, unpublished campaign."""
        if not files:
            return
        data = await files[0].read(campaign_transfer.MAX_BYTES + 1)
        user_id = (await self.get_state(SessionState)).user_id
        try:
            new_id = await rx.run_in_thread(lambda: _import(data, user_id))
        except campaigns.CampaignError as exc:
            yield rx.toast.error(f"Not imported: {' '.join(exc.errors.values())}"[:300])
            return
        yield rx.toast.success("Campaign imported: it is a draft until you publish it.")
        yield rx.redirect(routes.campaign(new_id))

    @rx.event
    async def toggle_published(self, row_id: str):
        row = next((r for r in self.rows if r["id"] == row_id), None)
        if row is None:
            return
        on = not row["published"]
        try:
            await rx.run_in_thread(lambda: _publish(int(row_id), on))
        except campaigns.CampaignError as exc:
            yield rx.toast.error(f"“{row['name']}” cannot be published: open it to see what to fix. {exc}"[:400])
            return
        await self._reload()
        yield rx.toast.success(f"“{row['name']}” {'published' if on else 'unpublished'}.")


def _row(row: rx.Var) -> rx.Component:
    S = CampaignsState
    href = routes.campaign(row["id"].to(str))
    name = row["name"].to(str)
    return rx.table.row(
        rx.table.row_header_cell(linked_name(row, href)),
        rx.table.cell(row["category"]),
        rx.table.cell(rx.match(row["status"], *[(k, rx.badge(v, color_scheme=STATUS_COLOURS[k])) for k, v in STATUS_LABELS.items()],
                               rx.badge(row["status_label"]))),
        rx.table.cell(row["members"]),
        rx.table.cell(rx.hstack(
            rx.icon_button(rx.cond(row["published"] == "1", rx.icon("pause", size=14), rx.icon("play", size=14)), size="1", variant="soft",
                           aria_label=rx.cond(row["published"] == "1", "Unpublish ", "Publish ") + name,
                           on_click=S.toggle_published(row["id"])),
            rx.link(rx.icon_button(rx.icon("chart-line", size=14), size="1", variant="soft", aria_label="Statistics of " + name, tab_index=-1),
                    href=routes.campaign_stats(row["id"].to(str))),
            rx.icon_button(rx.icon("copy", size=14), size="1", variant="soft", aria_label="Clone " + name, on_click=S.clone(row["id"])),
            rx.icon_button(rx.icon("download", size=14), size="1", variant="soft", aria_label="Export " + name,
                           on_click=rx.download(url="/campaigns/" + row["id"].to(str) + "/export.json")),
            row_actions(S, row, edit_href=href),
            spacing="2", justify="end",
        )),
        _hover={"background": rx.color("gray", 2)},
    )


@template(route=routes.CAMPAIGNS, title="Campaigns", on_load=CampaignsState.load)
def campaigns_page() -> rx.Component:
    S = CampaignsState
    return rx.vstack(
        page_header("Campaigns",
                    rx.select.root(rx.select.trigger(placeholder="All categories", aria_label="Category"),
                                   rx.select.content(rx.select.item("All categories", value="all"),
                                                     rx.foreach(S.categories, lambda c: rx.select.item(c, value=c))),
                                   value=rx.cond(S.category == "", "all", S.category), on_change=S.filter_category),
                    rx.upload.root(rx.button(rx.icon("upload", size=16), "Import", variant="soft", type="button"), id="campaign-import",
                                   accept={"application/json": [".json"]}, max_files=1, multiple=False,
                                   max_size=campaign_transfer.MAX_BYTES, on_drop=S.import_file(rx.upload_files(upload_id="campaign-import"))),
                    rx.link(rx.button(rx.icon("plus", size=16), "New campaign", tab_index=-1), href=routes.CAMPAIGN_NEW)),
        all_rows_body(S, "Campaigns", ("Name", "Category", "Status", "Members"), _row, empty_icon="workflow",
                      empty_text="No campaigns yet. Build one on the canvas: contacts from a segment or a form, then e-mails, "
                                 "waits, decisions and actions."),
        delete_confirmation(S, "Its events and their history go with it; its contacts stay."),
        spacing="3", width="100%",
    )
