"""``/forms/<id>`` (``/forms/new`` creates one): settings, fields and actions on the left; the live
preview (the very HTML sites get) and the embed code on the right."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.domain import forms as rules
from mautic_app.ui.components.widgets import code_to_copy, labelled, native_select, option_list
from mautic_app.ui.layout import missing_record, page_header, template
from mautic_app.ui.pages.form_edit.actions import actions_card
from mautic_app.ui.pages.form_edit.fields import check, field_editor, field_row
from mautic_app.ui.pages.form_edit.state import FormEditState


def _setting_input(label: str | rx.Var, key: str, hint: str = "") -> rx.Component:
    S = FormEditState
    return labelled(label, rx.input(id=f"form-{key}", value=S.settings[key], on_change=lambda v: S.set_setting(key, v), width="100%"),
                    f"form-{key}", error=S.errors.get(key, ""), hint=hint or None)


def _setting_choice(label: str, key: str, choices: dict[str, str], *, shows_error: bool = False) -> rx.Component:
    S = FormEditState
    control_id = f"form-{key}"
    return labelled(label, native_select(*option_list([{"value": k, "label": v} for k, v in choices.items()]), id=control_id,
                                         value=S.settings[key], on_change=lambda v: S.set_setting(key, v)),
                    control_id, error=S.errors.get(key, "") if shows_error else None)


def _setting_check(label: str, key: str) -> rx.Component:
    S = FormEditState
    return check(label, S.settings[key], lambda v: S.set_setting(key, v))


def _card(title: str, *children: rx.Component) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="4", as_="h2"), *children, spacing="2", width="100%"))


def _settings_card() -> rx.Component:
    S = FormEditState
    return rx.card(rx.vstack(
        rx.heading("Settings", size="4", as_="h2"),
        _setting_input("Name", "name"),
        _setting_input("Alias", "alias", "Leave empty to make one from the name."),
        _setting_input("Description", "description"),
        _setting_choice("After submitting", "post_action", rules.POST_ACTIONS, shows_error=True),
        _setting_input(rx.cond(S.settings["post_action"] == "redirect", "Redirect to", "Message"), "post_action_property",
                       "Redirects only go to the submitting site or the allowed sites of Settings → Tracking."),
        _setting_choice("Form type", "form_type", rules.FORM_TYPES),
        _setting_input("Progressive profiling: at most this many fields", "progressive_profiling_limit"),
        _setting_check("Kiosk mode (shared screens: never tracks or merges the visitor)", "in_kiosk_mode"),
        _setting_check("Ask search engines not to index its page", "no_index"),
        _setting_check("Published", "is_published"),
        spacing="3", width="100%"))


def _fields_card() -> rx.Component:
    S = FormEditState
    return _card(
        "Fields",
        rx.vstack(rx.foreach(S.fields, field_row), role="list", aria_label="Form fields", spacing="2", width="100%"),
        rx.hstack(
            rx.el.label("Add a field", html_for="add-field", style={"font_size": "var(--font-size-2)"}),
            native_select(rx.el.option("Choose a kind…", value=""),
                          *[rx.el.option(t.label, value=t.key) for t in rules.FIELD_TYPES.values()],
                          id="add-field", value="", on_change=S.add_form_field, width="14rem"),
            align="center"),
    )


def _preview_and_embed() -> rx.Component:
    S = FormEditState
    return rx.vstack(
        _card("Preview", rx.box(rx.html(S.preview_html), role="region", aria_label="Form preview", width="100%")),
        _card(
            "Embed",
            rx.cond(
                S.form_id > 0,
                rx.vstack(
                    code_to_copy("Embed code", S.embed_code, "Paste it where the form should appear on any site: it keeps "
                                                             "progressive profiling, auto-fill and conditional fields."),
                    code_to_copy("Iframe", S.iframe_code, "For a site that takes no scripts: the form's own page, framed."),
                    code_to_copy("Manual HTML", S.manual_html, "The saved form's HTML to restyle by hand; it posts to this "
                                                               "server without JavaScript. Copy it again after changing fields."),
                    rx.link("Open the form's own page", href=routes.form_public(S.form_id), is_external=True),
                    spacing="3", width="100%"),
                rx.text("Save the form to get the code to embed it.", size="2"),
            ),
        ),
        spacing="3", width="100%", position="sticky", top="1rem",
    )


@template(route=routes.FORM, title="Form", on_load=FormEditState.load)
def form_edit_page() -> rx.Component:
    S = FormEditState
    return rx.cond(
        S.missing,
        missing_record("This form does not exist (it may have been deleted).", "All forms", routes.FORMS),
        rx.vstack(
            page_header(rx.cond(S.form_id > 0, "Edit form", "New form"),
                        rx.cond(S.form_id > 0, rx.link(rx.button("Results", variant="soft", tab_index=-1),
                                                       href=routes.form_results(S.form_id))),
                        rx.button("Save form", on_click=S.save, loading=S.saving)),
            rx.cond(S.errors.length() > 0, rx.callout(rx.vstack(rx.text("The form was not saved:"),
                                                                rx.foreach(S.error_list, lambda m: rx.text(m, size="2"))),
                                                      color_scheme="red", role="alert", width="100%")),
            rx.grid(
                rx.vstack(
                    _settings_card(),
                    _fields_card(),
                    rx.cond(S.selected >= 0, field_editor()),
                    actions_card(),
                    spacing="3", width="100%",
                ),
                _preview_and_embed(),
                columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%",
            ),
            spacing="3", width="100%",
        ),
    )
