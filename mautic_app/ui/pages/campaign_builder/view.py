"""``/campaigns/<id>`` (``/campaigns/new`` starts one): the canvas, with the selected node's settings and timing
beside it, the palette that adds events under a node's handle, and the checks, dry run and publishing above."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.components.campaign_canvas import campaign_canvas
from mautic_app.ui.components.widgets import WHEN_TEXT, native_select, option_list
from mautic_app.ui.layout import missing_record, page_header, template
from mautic_app.ui.pages.campaign_builder.data import SOURCE_NODE, WEEKDAYS
from mautic_app.ui.pages.campaign_builder.state import CampaignBuilderState

S = CampaignBuilderState
UNITS = (("i", "minutes"), ("h", "hours"), ("d", "days"), ("m", "months"), ("y", "years"))


def _labelled(label: str | rx.Var, control: rx.Component, html_id: str | rx.Var, required: rx.Var | bool = False) -> rx.Component:
    """A control under its label; a required one is marked beside the label (outside it, so its name stays the label)."""
    return rx.vstack(rx.hstack(rx.el.label(label, html_for=html_id, style={"font_size": "var(--font-size-2)", "font_weight": "500"}),
                               rx.cond(required, rx.el.span("*", title="Required", style={"color": "var(--red-11)"})), spacing="1"),
                     control, spacing="1", width="100%")


def _setting(s: rx.Var) -> rx.Component:
    key = s["key"].to(str)
    html_id = "setting-" + key
    text_input = rx.input(id=html_id, default_value=s["value"].to(str), on_blur=lambda v: S.set_setting(key, v), width="100%")
    return rx.box(rx.match(
        s["kind"],
        ("multi", rx.el.fieldset(
            rx.el.legend(s["label"], style={"font_size": "var(--font-size-2)", "font_weight": "500"}),
            rx.vstack(rx.foreach(s["options"].to(list[dict[str, str]]), lambda o: rx.checkbox(
                o["label"], checked=s["chosen"].to(list[str]).contains(o["value"]),
                on_change=lambda on: S.toggle_choice(key, o["value"], on))), spacing="1", max_height="10rem", overflow_y="auto"),
            style={"border": "none", "padding": "0", "margin": "0"})),
        ("pick", _labelled(s["label"], native_select(*option_list(s["options"].to(list[dict[str, str]]), blank="Choose…"), id=html_id,
                                                     value=s["value"].to(str), on_change=lambda v: S.set_setting(key, v)), html_id,
                           s["required"].to(bool))),
        ("json", _labelled(s["label"], rx.text_area(id=html_id, default_value=s["value"].to(str), on_blur=lambda v: S.set_setting(key, v),
                                                    placeholder='{"key": "value"}', rows="3", width="100%"), html_id)),
        ("bool", rx.checkbox(s["label"], checked=s["value"] == "1", on_change=lambda on: S.set_setting(key, rx.cond(on, "1", "")))),
        ("channels", rx.el.fieldset(
            rx.el.legend(s["label"], style={"font_size": "var(--font-size-2)", "font_weight": "500"}),
            rx.hstack(rx.foreach(s["options"].to(list[dict[str, str]]), lambda o: rx.checkbox(
                o["label"], checked=s["chosen"].to(list[str]).contains(o["value"]),
                on_change=lambda on: S.toggle_choice(key, o["value"], on)))),
            style={"border": "none", "padding": "0", "margin": "0"})),
        _labelled(s["label"], text_input, html_id, s["required"].to(bool)),
    ), rx.cond(s["help"] != "", rx.text(s["help"], size="1", color=rx.color("gray", 10))), width="100%",
        key=S.selected + "-" + key)  # a new event's boxes start from its own values


def _timing() -> rx.Component:
    t = S.selected_timing
    return rx.cond(
        S.selected_is_decision,
        rx.text("A decision waits for the contact to act. Its no path runs when the wait set on the no path's events is over.",
                size="1", color=rx.color("gray", 10)),
        rx.el.fieldset(
            rx.el.legend("When it runs", style={"font_weight": "600", "font_size": "var(--font-size-2)"}),
            rx.vstack(
                rx.radio_group.root(
                    rx.hstack(*[rx.text(rx.hstack(rx.radio_group.item(value=v), label, spacing="1", align="center"), as_="label", size="2")
                                for v, label in (("immediate", "Immediately"), ("interval", "After a wait"), ("date", "At a date"))],
                              spacing="3", wrap="wrap"),
                    value=t["mode"].to(str), on_change=lambda v: S.set_timing("mode", v), aria_label="When it runs"),
                rx.cond(t["mode"] == "interval", rx.hstack(
                    rx.input(type="number", min="0", value=t["interval"].to(str), aria_label="Wait", width="6rem",
                             on_change=lambda v: S.set_timing("interval", v)),
                    native_select(*[rx.el.option(label, value=v) for v, label in UNITS], value=t["unit"].to(str), aria_label="Wait unit",
                                  on_change=lambda v: S.set_timing("unit", v), width="8rem"),
                    spacing="2")),
                rx.cond(t["mode"] == "date", rx.input(value=t["date"].to(str), aria_label="Date and time (UTC)", **WHEN_TEXT,
                                                      on_change=lambda v: S.set_timing("date", v))),
                rx.cond(t["mode"] != "date", rx.vstack(
                    rx.hstack(rx.text("At", size="2"), rx.input(type="time", value=t["hour"].to(str), aria_label="At this time of day",
                                                                on_change=lambda v: S.set_timing("hour", v), width="8rem"),
                              align="center", spacing="2"),
                    rx.hstack(rx.text("Between", size="2"),
                              rx.input(type="time", value=t["start"].to(str), aria_label="Not before", width="7rem",
                                       on_change=lambda v: S.set_timing("start", v)),
                              rx.text("and", size="2"),
                              rx.input(type="time", value=t["stop"].to(str), aria_label="Not after", width="7rem",
                                       on_change=lambda v: S.set_timing("stop", v)), align="center", spacing="2", wrap="wrap"),
                    rx.hstack(*[rx.checkbox(label, checked=t["weekdays"].to(list[str]).contains(v),
                                            on_change=lambda on, v=v: S.toggle_weekday(v, on)) for v, label in WEEKDAYS],
                              wrap="wrap", spacing="2"),
                    rx.text("Times are in the contact's time zone (UTC when it has none).", size="1", color=rx.color("gray", 10)),
                    spacing="2")),
                spacing="2", width="100%"),
            style={"border": "none", "padding": "0", "margin": "0"}),
    )


def _event_panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading(S.selected_type, size="3", as_="h2"), rx.spacer(),
                  rx.icon_button(rx.icon("x", size=14), variant="ghost", size="1", aria_label="Close settings", on_click=S.select("")),
                  width="100%", align="center"),
        rx.foreach(S.selected_problems, lambda p: rx.callout(p, icon="triangle-alert", color_scheme="red", size="1", width="100%")),
        _labelled("Name", rx.input(id="event-name", value=S.selected_event["name"].to(str), on_change=S.set_name, width="100%"), "event-name"),
        rx.foreach(S.settings, _setting),
        _timing(),
        rx.cond(S.dry_selected.length() > 0, rx.vstack(
            rx.text("Would reach, for example", weight="medium", size="2"),
            rx.foreach(S.dry_selected, lambda n: rx.text(n, size="1")), spacing="1")),
        rx.button(rx.icon("trash-2", size=14), "Delete this event", color_scheme="red", variant="soft", on_click=S.remove_selected),
        spacing="3", width="100%",
    )


def _sources_panel() -> rx.Component:
    def group(title: str, kind: str, options: rx.Var, chosen: rx.Var) -> rx.Component:
        return rx.el.fieldset(
            rx.el.legend(title, style={"font_weight": "600", "font_size": "var(--font-size-2)"}),
            rx.vstack(rx.foreach(options, lambda o: rx.checkbox(o["label"], checked=chosen.contains(o["value"]),
                                                                on_change=lambda on: S.toggle_source(kind, o["value"], on))),
                      spacing="1", max_height="14rem", overflow_y="auto"),
            style={"border": "none", "padding": "0", "margin": "0"})

    return rx.vstack(
        rx.hstack(rx.heading("Contact sources", size="3", as_="h2"), rx.spacer(),
                  rx.icon_button(rx.icon("x", size=14), variant="ghost", size="1", aria_label="Close settings", on_click=S.select("")),
                  width="100%"),
        rx.text("Members of these segments join (and leave when they leave them all); whoever submits these forms joins.",
                size="1", color=rx.color("gray", 10)),
        group("Segments", "segments", S.choices["segments"].to(list[dict[str, str]]), S.segments),
        group("Forms", "forms", S.choices["forms"].to(list[dict[str, str]]), S.forms),
        spacing="3", width="100%",
    )


def _details_panel() -> rx.Component:
    d = S.draft
    return rx.vstack(
        rx.heading("Campaign", size="3", as_="h2"),
        _labelled("Campaign name", rx.input(id="campaign-name", value=d["name"].to(str), on_change=lambda v: S.set_detail("name", v),
                                            width="100%"), "campaign-name"),
        _labelled("Description", rx.text_area(id="campaign-description", value=d["description"].to(str), rows="2", width="100%",
                                              on_change=lambda v: S.set_detail("description", v)), "campaign-description"),
        _labelled("Category", rx.input(id="campaign-category", value=d["category"].to(str), width="100%",
                                       on_change=lambda v: S.set_detail("category", v)), "campaign-category"),
        rx.vstack(
            _labelled("Publish from", rx.input(id="publish-up", value=d["publish_up"].to(str), **WHEN_TEXT,
                                               on_change=lambda v: S.set_detail("publish_up", v)), "publish-up"),
            _labelled("Publish until", rx.input(id="publish-down", value=d["publish_down"].to(str), **WHEN_TEXT,
                                                on_change=lambda v: S.set_detail("publish_down", v)), "publish-down"),
            width="100%", spacing="2"),
        rx.checkbox("Contacts may restart the campaign", checked=d["allow_restart"].to(bool), on_change=S.set_restart),
        rx.text("Select a node to edit it; add events with the + buttons under each node.", size="1", color=rx.color("gray", 10)),
        rx.cond(S.dry_note != "", rx.callout(S.dry_note, icon="flask-conical", size="1", width="100%")),
        spacing="3", width="100%",
    )


def _palette() -> rx.Component:
    def item(t: rx.Var) -> rx.Component:
        return rx.button(t["label"], variant="soft", size="2", on_click=S.add_event(t["key"]), justify="start", width="100%")

    def kind(title: str, key: str) -> rx.Component:
        chosen = S.palette.to(list[dict[str, str]])
        return rx.vstack(rx.heading(title, size="2", as_="h3"),
                         rx.grid(rx.foreach(chosen, lambda t: rx.cond(t["kind"] == key, item(t))), columns="2", spacing="2", width="100%"),
                         width="100%", spacing="2")

    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Add an event"),
            rx.dialog.description("Actions do something, decisions wait for the contact to act, conditions check something now.",
                                  size="2"),
            rx.scroll_area(rx.vstack(kind("Actions", "action"), kind("Decisions", "decision"), kind("Conditions", "condition"),
                                     spacing="4", width="100%"), max_height="60vh", type="auto"),
            rx.hstack(rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")), justify="end", margin_top="1rem"),
            max_width="40rem",
        ),
        open=S.palette_open, on_open_change=S.close_palette,
    )


def _toolbar() -> rx.Component:
    published = S.draft["is_published"].to(bool)
    return rx.hstack(
        rx.icon_button(rx.icon("undo-2", size=16), variant="soft", aria_label="Undo", on_click=S.undo, disabled=~S.can_undo),
        rx.icon_button(rx.icon("redo-2", size=16), variant="soft", aria_label="Redo", on_click=S.redo, disabled=~S.can_redo),
        rx.button(rx.icon("network", size=16), "Tidy up", variant="soft", on_click=S.tidy),
        rx.button(rx.icon("list-checks", size=16), "Check", variant="soft", on_click=S.check),
        rx.button(rx.icon("flask-conical", size=16), "Dry run", variant="soft", on_click=S.dry_run, loading=S.dry_running),
        rx.cond(S.dry.length() > 0, rx.button("Clear dry run", variant="ghost", on_click=S.clear_dry_run)),
        rx.spacer(),
        rx.cond(S.campaign_id > 0, rx.link("Statistics", href=routes.campaign_stats(S.campaign_id.to(str)), size="2")),
        rx.link("All campaigns", href=routes.CAMPAIGNS, size="2"),
        rx.button("Save", on_click=S.save, loading=S.saving, variant="soft"),
        rx.cond(published, rx.button("Unpublish", color_scheme="orange", on_click=S.publish(False), loading=S.saving),
                rx.button("Publish", on_click=S.publish(True), loading=S.saving)),
        width="100%", wrap="wrap", spacing="2", align="center",
    )


@template(route=routes.CAMPAIGN, title="Campaign", on_load=S.load)
def campaign_builder_page() -> rx.Component:
    return rx.cond(
        S.missing,
        missing_record("This campaign does not exist (it may have been deleted).", "All campaigns", routes.CAMPAIGNS),
        rx.vstack(
            page_header(S.title, rx.cond(S.dirty, rx.badge("Unsaved changes", color_scheme="orange"))),
            _toolbar(),
            rx.cond(S.save_error != "", rx.callout(S.save_error, icon="triangle-alert", color_scheme="red", width="100%", role="alert")),
            rx.flex(
                rx.box(campaign_canvas(nodes=S.nodes, edges=S.edges, fit_key=S.fit_key, height="calc(100vh - 14rem)",
                                       on_select=S.select, on_add=S.open_palette, on_move=S.move, on_connect=S.connect),
                       flex="3", min_width="24rem", border=f"1px solid {rx.color('gray', 5)}", border_radius="8px", overflow="hidden",
                       aria_label="Campaign canvas", role="region"),
                rx.card(rx.box(rx.cond(S.selected == "", _details_panel(),
                                       rx.cond(S.selected == SOURCE_NODE, _sources_panel(), _event_panel())),
                               max_height="calc(100vh - 15rem)", overflow_y="auto", overflow_x="hidden", padding_right="4px"),
                        flex="1", min_width="20rem", max_width="26rem", role="region", aria_label="Settings"),
                gap="3", width="100%", align="start", wrap="wrap",
            ),
            _palette(),
            spacing="3", width="100%",
        ),
    )
