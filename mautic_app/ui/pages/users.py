"""Settings → Users (administrators only): the marketers who can sign in."""

from __future__ import annotations

from typing import Any

import reflex as rx

from mautic_app.db import session_scope
from mautic_app.services import users
from mautic_app.ui.components.widgets import VISUALLY_HIDDEN, confirm_dialog, labelled, plain_header
from mautic_app.ui.guard import session_token
from mautic_app.ui.layout import page_header, template
from mautic_app.ui.session import SessionState

ROUTE = "/settings/users"
FORM_KEYS = ("username", "first_name", "last_name", "email", "password", "id")


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


def _flag(form: dict, name: str) -> bool:
    return str(form.get(name, "")).lower() in {"1", "on", "true"}


class UsersState(rx.State):
    rows: list[dict[str, str]] = []
    loaded: bool = False
    me: str = ""
    editing: bool = False
    edit_id: int = 0
    draft: dict[str, str] = {}
    errors: dict[str, str] = {k: "" for k in FORM_KEYS}
    saving: bool = False
    form_key: int = 0
    delete_id: int = 0
    delete_name: str = ""
    delete_error: str = ""
    deleting: bool = False

    @rx.var
    def dialog_title(self) -> str:
        return "Edit user" if self.edit_id else "New user"

    @rx.var
    def delete_open(self) -> bool:
        return self.delete_id > 0

    @rx.var
    def editing_self(self) -> bool:
        return bool(self.edit_id) and str(self.edit_id) == self.me

    async def _reload(self) -> None:
        self.rows = await rx.run_in_thread(_load)
        self.loaded = True

    @rx.event
    async def load(self):
        self.editing, self.delete_id = False, 0
        self.me = str((await self.get_state(SessionState)).user_id)
        await self._reload()

    @rx.event
    def open_new(self):
        self.edit_id = 0
        self.draft = {"username": "", "first_name": "", "last_name": "", "email": "", "admin": "", "active": "1"}
        self.errors = {k: "" for k in FORM_KEYS}
        self.form_key += 1
        self.editing = True

    @rx.event
    def open_edit(self, user_id: str):
        row = next((r for r in self.rows if r["id"] == user_id), None)
        if row is None:
            return
        self.edit_id = int(user_id)
        self.draft = {k: row[k] for k in ("username", "first_name", "last_name", "email", "admin", "active")}
        self.errors = {k: "" for k in FORM_KEYS}
        self.form_key += 1
        self.editing = True

    @rx.event
    def close_dialog(self, _open: bool = False):
        if not self.saving:
            self.editing = False

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
            "is_admin": _flag(form, "is_admin"),
            "is_active": _flag(form, "is_active"),
        }
        if user_id == session.user_id:
            # Nobody locks themselves out: your own admin and active switches stay on.
            values["is_admin"], values["is_active"] = True, True
        self.draft = {k: values[k] for k in ("username", "first_name", "last_name", "email")} | {
            "admin": "1" if values["is_admin"] else "", "active": "1" if values["is_active"] else ""}
        self.saving = True
        yield
        try:
            # Your own new password keeps you signed in here and signs you out everywhere else.
            mine = session_token(self.router_data.get("headers")) if user_id == session.user_id else ""
            username = await rx.run_in_thread(lambda: _save(user_id, values, mine))
        except users.UserError as exc:
            self.saving = False
            self.errors = {k: "" for k in FORM_KEYS} | {k: str(v) for k, v in exc.errors.items()}
            return
        self.saving = False
        self.editing = False
        await self._reload()
        yield rx.toast.success(f"User {username} saved.")

    @rx.event
    def ask_delete(self, user_id: str):
        row = next((r for r in self.rows if r["id"] == user_id), None)
        if row is not None and user_id != self.me:
            self.delete_id, self.delete_name, self.delete_error = int(user_id), row["username"], ""

    @rx.event
    def cancel_delete(self, _open: bool = False):
        if not self.deleting:
            self.delete_id = 0

    @rx.event
    async def confirm_delete(self):
        session = await self.get_state(SessionState)
        user_id, name, me = self.delete_id, self.delete_name, session.user_id
        if not user_id:
            return
        self.deleting = True
        yield
        try:
            await rx.run_in_thread(lambda: _delete(user_id, me))
        except users.UserError as exc:
            self.deleting = False
            self.delete_error = " ".join(exc.errors.values())
            return
        self.deleting = False
        self.delete_id = 0
        await self._reload()
        yield rx.toast.success(f"User {name} deleted.")


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
            rx.hstack(
                rx.icon_button(rx.icon("pencil", size=14), size="1", variant="soft", aria_label="Edit " + username,
                               on_click=S.open_edit(row["id"])),
                rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                               aria_label="Delete " + username, on_click=S.ask_delete(row["id"]), disabled=is_me,
                               title=rx.cond(is_me, "You cannot delete yourself", "")),
                spacing="2",
                justify="end",
            ),
        ),
        _hover={"background": rx.color("gray", 2)},
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.el.caption("Users", style=VISUALLY_HIDDEN),
            rx.table.header(
                rx.table.row(
                    plain_header("Username"),
                    plain_header("Name"),
                    plain_header("E-mail"),
                    plain_header("Role"),
                    plain_header("Status"),
                    plain_header("Last login"),
                    rx.table.column_header_cell(rx.el.span("Actions", style=VISUALLY_HIDDEN), width="6rem"),
                ),
            ),
            rx.table.body(rx.foreach(UsersState.rows, _row)),
            variant="surface",
            size="2",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def _text(label: str, key: str, *, required: bool = False, input_type: str = "text", autocomplete: str = "off",
          hint: str | None = None) -> rx.Component:
    S = UsersState
    control_id = f"user-{key}"
    error = S.errors[key]
    return labelled(
        label,
        rx.input(
            id=control_id,
            name=key,
            type=input_type,
            default_value=S.draft[key] if key != "password" else "",
            auto_complete=autocomplete,
            width="100%",
            aria_invalid=error != "",
            aria_required=required,
            aria_describedby=rx.cond(error != "", f"{control_id}-error", ""),
        ),
        control_id,
        required=required,
        error=error,
        hint=hint,
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


def _dialog() -> rx.Component:
    S = UsersState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.dialog_title),
            rx.dialog.description("Users sign in to work with contacts, companies and campaigns.", size="2",
                                  color=rx.color("gray", 11), margin_bottom="1rem"),
            rx.form(
                rx.vstack(
                    _text("Username", "username", required=True, autocomplete="off"),
                    rx.grid(
                        _text("First name", "first_name"),
                        _text("Last name", "last_name"),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    _text("E-mail", "email", input_type="email"),
                    rx.cond(
                        S.edit_id > 0,
                        _text("Password", "password", input_type="password", autocomplete="new-password",
                              hint="Leave blank to keep the current password."),
                        _text("Password", "password", required=True, input_type="password", autocomplete="new-password",
                              hint=f"At least {users.MIN_PASSWORD} characters."),
                    ),
                    rx.hstack(
                        _switch("Administrator", "is_admin", S.draft["admin"] == "1", S.editing_self),
                        _switch("Active", "is_active", S.draft["active"] == "1", S.editing_self),
                        spacing="5",
                    ),
                    rx.cond(S.editing_self, rx.text("You cannot remove your own administrator rights or deactivate yourself.",
                                                    size="1", color=rx.color("gray", 10))),
                    rx.cond(S.errors["id"] != "", rx.callout(S.errors["id"], color_scheme="red", role="alert", width="100%")),
                    rx.hstack(
                        rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=S.close_dialog(False)),
                        rx.button("Save", type="submit", loading=S.saving),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=S.save,
                no_validate=True,
                key=S.form_key,
                aria_label=S.dialog_title,
                auto_complete="off",
            ),
            max_width="34rem",
        ),
        open=S.editing,
        on_open_change=S.close_dialog,
    )


@template(route=ROUTE, title="Users", on_load=UsersState.load, admin_only=True)
def users_page() -> rx.Component:
    S = UsersState
    return rx.vstack(
        page_header("Users", rx.button(rx.icon("user-plus", size=16), "New user", on_click=S.open_new)),
        rx.cond(
            S.loaded,
            _table(),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
        _dialog(),
        confirm_dialog(
            open=S.delete_open,
            title="Delete user",
            description=rx.cond(
                S.delete_error != "",
                S.delete_error,
                "Delete the user " + S.delete_name + "? Contacts and companies they own will have no owner.",
            ),
            confirm_label="Delete",
            on_confirm=S.confirm_delete,
            on_cancel=S.cancel_delete,
            busy=S.deleting,
        ),
        spacing="3",
        width="100%",
    )
