"""Settings → Users (administrators only): the marketers who can sign in."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from mautic_app import routes
from mautic_app.db import session_scope
from mautic_app.services import users
from mautic_app.ui.components.list_dialog import ListDialog, dialog_input, new_button, record_dialog
from mautic_app.ui.components.paged_list import delete_button, delete_confirmation, list_table, row_actions
from mautic_app.ui.components.widgets import form_flag
from mautic_app.ui.guard import session_token
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState


def _load() -> list[dict[str, str]]:
    with session_scope() as session:
        return [
            {
                "id": str(u.id),
                "username": u.username,
                "first_name": u.first_name or "",
                "last_name": u.last_name or "",
                "name": f"{u.first_name} {u.last_name}".strip(),
                "email": u.email or "",
                "admin": "1" if u.is_admin else "",
                "active": "1" if u.is_active else "",
                "last_login": u.last_login.strftime("%Y-%m-%d %H:%M") if u.last_login else "Never",
            }
            for u in users.list_users(session=session)
        ]


def _save(user_id: int | None, values: dict[str, Any], keep_session: str) -> str:
    with session_scope() as session:
        return users.save_user(session=session, user_id=user_id, keep_session=keep_session, **values).username


def _delete(user_id: int, acting_user_id: int) -> None:
    with session_scope() as session:
        users.delete_user(session=session, user_id=user_id, acting_user_id=acting_user_id)


class UsersState(ListDialog, rx.State):
    noun: ClassVar[str] = "user"
    name_key: ClassVar[str] = "username"
    refusal: ClassVar[tuple[type[Exception], ...]] = (users.UserError,)
    saved_message: ClassVar[str] = "User {name} saved."
    deleted_message: ClassVar[str] = "User {name} deleted."
    blank: ClassVar[dict[str, str]] = {"username": "", "first_name": "", "last_name": "", "email": "", "admin": "",
                                       "active": "1"}
    form_keys: ClassVar[tuple[str, ...]] = ("username", "first_name", "last_name", "email", "password", "id")

    me: str = ""

    @rx.var
    def editing_self(self) -> bool:
        return bool(self.edit_id) and str(self.edit_id) == self.me

    async def _on_load(self) -> None:
        self.me = str((await self.get_state(SessionState)).user_id)

    async def _reload(self) -> None:
        await self._fetch_all(_load)

    def _deletable(self, row: dict[str, str]) -> bool:
        return row["id"] != self.me

    async def _remove(self, row_id: int) -> None:
        me = (await self.get_state(SessionState)).user_id
        await rx.run_in_thread(lambda: _delete(row_id, me))

    @rx.event
    async def save(self, form: dict):
        if self.saving:
            return
        session = await self.get_state(SessionState)
        user_id = self.edit_id or None
        values = {
            "username": str(form.get("username", "")),
            "first_name": str(form.get("first_name", "")),
            "last_name": str(form.get("last_name", "")),
            "email": str(form.get("email", "")),
            "password": str(form.get("password", "")),
            "is_admin": form_flag(form, "is_admin"),
            "is_active": form_flag(form, "is_active"),
        }
        if user_id == session.user_id:
            # Nobody locks themselves out: your own admin and active switches stay on.
            values["is_admin"], values["is_active"] = True, True
        self.draft = {k: values[k] for k in ("username", "first_name", "last_name", "email")} | {
            "admin": "1" if values["is_admin"] else "", "active": "1" if values["is_active"] else ""}
        # Your own new password keeps you signed in here and signs you out everywhere else.
        mine = session_token(self.router_data.get("headers")) if user_id == session.user_id else ""
        async for update in self._submit(lambda: _save(user_id, values, mine)):
            yield update


# ---------------------------------------------------------------- view


def _row(row: rx.Var) -> rx.Component:
    S = UsersState
    username = row["username"].to(str)
    is_me = row["id"] == S.me
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.text(row["username"], weight="medium"),
                rx.cond(is_me, rx.badge("You", variant="soft")),
                align="center",
                spacing="2",
            ),
        ),
        rx.table.cell(row["name"]),
        rx.table.cell(row["email"]),
        rx.table.cell(rx.cond(row["admin"] == "1", rx.badge("Administrator", color_scheme="purple"), rx.text("Marketer"))),
        rx.table.cell(rx.cond(row["active"] == "1", rx.badge("Active", color_scheme="green"),
                              rx.badge("Inactive", color_scheme="gray"))),
        rx.table.cell(row["last_login"], white_space="nowrap"),
        rx.table.cell(
            row_actions(S, row, name=username, delete=delete_button(
                S, row, username, disabled=is_me, title=rx.cond(is_me, "You cannot delete yourself", ""))),
        ),
        _hover={"background": rx.color("gray", 2)},
    )


def _switch(label: str, name: str, checked: rx.Var, disabled: rx.Var) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.switch(name=name, value="1", default_checked=checked, disabled=disabled),
            rx.text(label, size="2"),
            align="center",
            spacing="2",
        ),
    )


def _password(required: bool, hint: str) -> rx.Component:
    return dialog_input(UsersState, "Password", "password", "user-password", required=required, type="password",
                        auto_complete="new-password", hint=hint, default_value="")


def _dialog() -> rx.Component:
    S = UsersState
    return record_dialog(
        S,
        "Users sign in to work with contacts, companies and campaigns.",
        dialog_input(S, "Username", "username", "user-username", required=True, auto_complete="off"),
        rx.grid(
            dialog_input(S, "First name", "first_name", "user-first_name", auto_complete="off"),
            dialog_input(S, "Last name", "last_name", "user-last_name", auto_complete="off"),
            columns="2",
            spacing="3",
            width="100%",
        ),
        dialog_input(S, "E-mail", "email", "user-email", type="email", auto_complete="off"),
        rx.cond(
            S.edit_id > 0,
            _password(False, "Leave blank to keep the current password."),
            _password(True, f"At least {users.MIN_PASSWORD} characters."),
        ),
        rx.hstack(
            _switch("Administrator", "is_admin", S.draft["admin"] == "1", S.editing_self),
            _switch("Active", "is_active", S.draft["active"] == "1", S.editing_self),
            spacing="5",
        ),
        rx.cond(S.editing_self, rx.text("You cannot remove your own administrator rights or deactivate yourself.",
                                        size="1", color=rx.color("gray", 10))),
        max_width="34rem",
        auto_complete="off",
    )


@template(route=routes.USERS, title="Users", on_load=UsersState.load, admin_only=True)
def users_page() -> rx.Component:
    S = UsersState
    return rx.vstack(
        page_header("Users", new_button(S, "New user", icon="user-plus")),
        rx.cond(
            S.loaded,
            list_table(S, "Users", ("Username", "Name", "E-mail", "Role", "Status", "Last login"), _row),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        _dialog(),
        delete_confirmation(
            S, "", question="Delete the user " + S.delete_name + "? Contacts and companies they own will have no owner."),
        spacing="3",
        width="100%",
    )
