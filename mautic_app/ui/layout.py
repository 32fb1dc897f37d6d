"""The app shell: sidebar, top bar (search, theme, signed-in user) and the ``template`` decorator.

Only areas that exist are listed in the navigation; add an entry when an area lands.
"""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from mautic_app import routes
from mautic_app.ui import guard
from mautic_app.ui.components.widgets import post_form
from mautic_app.ui.session import SessionState

NAV: list[tuple[str, str, str]] = [
    ("Dashboard", routes.DASHBOARD, "layout-dashboard"),
    ("Contacts", routes.CONTACTS, "users"),
    ("Visitors", routes.VISITORS, "eye"),
    ("Segments", routes.SEGMENTS, "filter"),
    ("Forms", routes.FORMS, "clipboard-list"),
    ("Campaigns", routes.CAMPAIGNS, "workflow"),
    ("E-mails", routes.EMAILS, "mail"),
    ("Focus items", routes.FOCUS_ITEMS, "target"),
    ("Companies", routes.COMPANIES, "building-2"),
    ("Stages", routes.STAGES, "milestone"),
    ("Points", routes.POINT_ACTIONS, "trophy"),
    ("Imports", routes.IMPORTS, "upload"),
]
ADMIN_NAV: list[tuple[str, str, str]] = [
    ("Custom fields", routes.CUSTOM_FIELDS, "list-plus"),
    ("Users", routes.USERS, "user-cog"),
    ("Tracking", routes.TRACKING_SETTINGS, "radar"),
    ("E-mail", routes.EMAIL_SETTINGS, "mail"),
]


class RecordPage(rx.State, mixin=True):
    """The state of a page that shows one record at a time (``/forms/3``, ``/contacts/7/edit``).

    Reflex keeps one state per page for a tab: when a marketer opens record B after record A, the
    page's vars still hold A until B's load replaces them. A page whose on_load belongs to a
    ``RecordPage`` is shown by :func:`template` only once its load has finished for the address in
    the browser's bar (the load calls ``_loaded_here()`` when its vars hold that record, or know it is
    missing); a spinner until then. So the previous record's values never show, and nothing can be
    typed into fields that a running load is about to replace.
    """

    # The path (as the browser sent it) whose record the page's vars hold; "" before the first load.
    loaded_path: str = ""
    # The address names no record (never made, deleted or merged away): the page shows :func:`missing_record`.
    missing: bool = False

    def _loaded_here(self) -> None:
        self.loaded_path = self.router.url.path


# The path in the browser's address bar, read in the browser (React Router's location): it changes the
# moment a link is followed, before any event reaches the server.
_LOCATION = rx.vars.use_hook_var("react-router", "useLocation", dict[str, str])


def _record_ready(states: list[type[RecordPage]]) -> rx.Var[bool]:
    """True once every record state's load has finished for the path the browser shows.

    ``is_hydrated`` turns false in the browser as soon as a link is followed and true again once the
    page's on_load handlers have all run; ``loaded_path`` tells a finished load of another record
    apart (the first frame after a click, before the browser has flipped ``is_hydrated``).
    """
    ready: rx.Var[bool] = rx.State.is_hydrated
    for state in states:
        ready = ready & (state.loaded_path == _LOCATION["pathname"])
    return ready


def missing_record(message: str | rx.Var[str], back_label: str | rx.Var[str], back_href: str | rx.Var[str]) -> rx.Component:
    """What a record page shows when its record does not exist, the same on every page: why, and the way back."""
    return rx.vstack(
        rx.callout(message, icon="info", role="alert", width="100%"),
        rx.link(back_label, href=back_href),
        spacing="3",
        width="100%",
    )


def loading(label: str = "Loading") -> rx.Component:
    return rx.center(rx.spinner(size="3"), role="status", aria_label=label, width="100%", padding="4rem")


class ShellState(rx.State):
    """The top bar's search box; it searches contacts."""

    query: str = ""

    @rx.event
    def set_query(self, value: str):
        self.query = value

    @rx.event
    def search(self, form: dict):
        """Open the contacts list on this search; the box empties, as the list's own box now holds the query."""
        text = str(form.get("q", "")).strip()
        self.query = ""
        return rx.redirect(routes.contacts_search(text) if text else routes.CONTACTS)


def _deeper_links(href: str) -> list[str]:
    return [h for _, h, _ in NAV + ADMIN_NAV if h.startswith(href + "/")]


def _nav_link(label: str, href: str, icon: str) -> rx.Component:
    current = rx.State.router.page.path
    if href == routes.DASHBOARD:
        active = current == href
    else:
        # The most specific entry wins: /contacts/import lights "Imports", not "Contacts".
        active = current.startswith(href)
        for other in _deeper_links(href):
            active = active & ~current.startswith(other)
    return rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(label, size="3"), align="center", spacing="3"),
        href=href,
        aria_current=rx.cond(active, "page", "false"),
        underline="none",
        padding_x="0.75rem",
        padding_y="0.5rem",
        border_radius="var(--radius-3)",
        width="100%",
        color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 12)),
        background=rx.cond(active, rx.color("accent", 3), "transparent"),
        _hover={"background": rx.color("gray", 4)},
    )


def _nav_items() -> rx.Component:
    return rx.vstack(
        *[_nav_link(*item) for item in NAV],
        rx.cond(
            SessionState.is_admin,
            rx.vstack(
                rx.text("Settings", size="1", weight="bold", color=rx.color("gray", 10), padding_x="0.75rem", padding_top="1rem"),
                *[_nav_link(*item) for item in ADMIN_NAV],
                spacing="1",
                width="100%",
            ),
        ),
        spacing="1",
        width="100%",
    )


def sidebar() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.heading("Mautic", size="5", padding_x="0.75rem", padding_y="0.5rem"),
            rx.el.nav(_nav_items(), aria_label="Main", style={"width": "100%"}),
            spacing="4",
            width="100%",
        ),
        display=["none", "none", "block"],
        width="15rem",
        min_width="15rem",
        height="100vh",
        overflow_y="auto",
        position="sticky",
        top="0",
        padding="1rem 0.5rem",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
    )


def mobile_menu() -> rx.Component:
    return rx.box(
        rx.drawer.root(
            rx.drawer.trigger(rx.icon_button(rx.icon("menu"), variant="ghost", aria_label="Open menu")),
            rx.drawer.overlay(z_index="5"),
            rx.drawer.portal(
                rx.drawer.content(
                    rx.vstack(
                        rx.drawer.close(rx.icon_button(rx.icon("x"), variant="ghost", aria_label="Close menu")),
                        rx.el.nav(_nav_items(), aria_label="Main", style={"width": "100%"}),
                        padding="1rem",
                        width="100%",
                    ),
                    width="16rem",
                    height="100%",
                    background=rx.color("gray", 2),
                ),
            ),
            direction="left",
        ),
        display=["block", "block", "none"],
    )


def _search_box() -> rx.Component:
    return rx.form(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            name="q",
            placeholder="Search contacts…",
            aria_label="Search contacts",
            value=ShellState.query,
            on_change=ShellState.set_query,
            width="100%",
            max_width="28rem",
        ),
        on_submit=ShellState.search,
        width="100%",
    )


def top_bar() -> rx.Component:
    return rx.hstack(
        mobile_menu(),
        rx.cond(
            rx.State.router.page.path == routes.CONTACTS,
            rx.box(width="100%"),  # the contacts list has a search box of its own: one is enough
            _search_box(),
        ),
        rx.spacer(),
        rx.color_mode.button(aria_label="Toggle dark mode", variant="ghost"),
        rx.menu.root(
            rx.menu.trigger(
                rx.button(rx.icon("circle-user", size=18), rx.text(SessionState.user_name), variant="ghost", aria_label="Account menu"),
            ),
            rx.menu.content(
                rx.box(rx.text(SessionState.username, size="1", color=rx.color("gray", 10)), padding_x="0.75rem", padding_y="0.25rem"),
                rx.menu.separator(),
                rx.menu.item("My account", on_select=rx.redirect(routes.ACCOUNT)),
                rx.menu.item("Log out", on_select=rx.call_script("document.getElementById('log-out').requestSubmit()")),
            ),
        ),
        # Signing out is a form post: the server ends the session and clears its HttpOnly cookie.
        post_form(id="log-out", action=routes.AUTH_LOGOUT, hidden=True),
        align="center",
        spacing="3",
        padding="0.75rem 1rem",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        position="sticky",
        top="0",
        z_index="2",
        background=rx.color("gray", 1),
    )


MAIN_ID = "main-content"


def skip_link() -> rx.Component:
    """The first Tab stop of every page: straight to the page's content, past the sidebar's links.

    The click is handled here (focus moves to the content) instead of following ``#main-content``,
    which the client router would treat as a navigation and leave focus where it was.
    """
    return rx.el.a(
        "Skip to content",
        href=f"#{MAIN_ID}",
        class_name="skip-link",
        on_click=rx.call_script(f"document.getElementById('{MAIN_ID}').focus()").prevent_default,
    )


def template(
    route: str,
    title: str,
    on_load: rx.EventHandler | list,
    admin_only: bool = False,
) -> Callable[[Callable[[], rx.Component]], rx.Component]:
    """Register a signed-in page wrapped in the shell.

    Every handler of every page is already refused to visitors who are not signed in (``ui/guard.py``);
    ``admin_only`` also refuses the handlers of the page's states (those of its ``on_load``) to non-admins.
    A page loaded by a :class:`RecordPage` shows a spinner until its own record is loaded.
    """
    loads = on_load if isinstance(on_load, list) else [on_load]
    if admin_only:
        for handler in loads:
            guard.admin_only(handler.state_full_name)
    records = [h.state for h in loads if isinstance(h.state, type) and issubclass(h.state, RecordPage)]

    def decorator(page: Callable[[], rx.Component]) -> rx.Component:
        def wrapped() -> rx.Component:
            body = rx.cond(_record_ready(records), page(), loading()) if records else page()
            return rx.hstack(
                skip_link(),
                sidebar(),
                rx.vstack(
                    top_bar(),
                    rx.cond(
                        SessionState.signed_in,
                        rx.box(body, padding=["1rem", "1rem", "1.5rem"], width="100%", max_width="90rem", role="main",
                               id=MAIN_ID, tab_index=-1, outline="none"),
                        loading(),
                    ),
                    spacing="0",
                    width="100%",
                    min_width="0",
                ),
                spacing="0",
                width="100%",
                align="start",
                min_height="100vh",
            )

        wrapped.__name__ = page.__name__
        return rx.page(route=route, title=f"{title} | Mautic", on_load=loads)(wrapped)

    return decorator


def page_header(title: str | rx.Var, *actions: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.heading(title, size="6"),
        rx.spacer(),
        *actions,
        align="center",
        width="100%",
        margin_bottom="1rem",
        wrap="wrap",
        spacing="3",
    )


def field_error(message: rx.Var) -> rx.Component:
    return rx.cond(message != "", rx.text(message, color=rx.color("red", 11), size="1", role="alert"))
