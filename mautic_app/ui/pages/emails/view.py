"""``/emails/<id>`` (``/emails/new`` writes one): the content with its preview, the settings, and for a saved
e-mail its sending and statistics."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.domain.email_tokens import TOKENS
from mautic_app.ui.components.email_builder import email_builder
from mautic_app.ui.components.widgets import PLOT_CONFIG, VISUALLY_HIDDEN, WHEN_TEXT, labelled, native_select, section
from mautic_app.ui.layout import missing_record, page_header, template
from mautic_app.ui.pages.emails.state import ERROR_KEYS, TEMPLATE_CHOICES, EmailState

S = EmailState


def _id(key: str) -> str:
    return f"email-{key.replace('_', '-')}"


def _text(label: str, key: str, *, area: bool = False, hint: str | None = None, error: str | None = None, **props) -> rx.Component:
    error_var = S.errors[error or key] if (error or key) in ERROR_KEYS else None
    aria = {"aria_invalid": error_var != ""} if error_var is not None else {}
    make = rx.text_area if area else rx.input
    props.setdefault("width", "100%")
    control = make(id=_id(key), value=S.draft[key], on_change=lambda v: S.set_value(key, v), **aria, **props)
    return labelled(label, control, _id(key), error=error_var, hint=hint, required=key in ("name", "subject"))


def _check(label: str, key: str) -> rx.Component:
    return rx.el.label(rx.hstack(rx.checkbox(checked=S.draft[key] == "1", on_change=lambda on: S.set_flag(key, on)),
                                 rx.text(label, size="2"), align="center", spacing="2"))


def _builder() -> rx.Component:
    return rx.cond(
        S.draft["content_format"] == "mjml",
        rx.box(email_builder(value=S.draft["content"], token=S.builder_token, on_change=S.set_from_builder, height="680px",
                             key=S.builder_key), width="100%", border="1px solid var(--gray-a6)", border_radius="6px", overflow="hidden",
               isolation="isolate"),  # GrapesJS's panels stay below the page's sticky top bar
        rx.callout("The builder edits MJML, and this e-mail is written in HTML: edit it in the code view, or start from a template.",
                   icon="info", width="100%"),
    )


def _content() -> rx.Component:
    editor = rx.vstack(
        rx.hstack(
            rx.segmented_control.root(rx.segmented_control.item("Builder", value="builder"), rx.segmented_control.item("Code", value="code"),
                                      value=S.editor, on_change=S.set_editor, aria_label="Editor"),
            rx.box(labelled("Start from", native_select(rx.el.option("Choose a starter template…", value=""),
                                                        *[rx.el.option(t["label"], value=t["value"]) for t in TEMPLATE_CHOICES],
                                                        id="email-template", value="", on_change=S.use_template), "email-template"), width="16rem"),
            rx.cond(S.editor == "code", rx.box(labelled("Written in", native_select(
                rx.el.option("MJML", value="mjml"), rx.el.option("HTML", value="html"), id=_id("content_format"),
                value=S.draft["content_format"], on_change=lambda v: S.set_value("content_format", v)), _id("content_format")), width="8rem")),
            rx.box(labelled("Insert a token", native_select(rx.el.option("Choose…", value=""),
                                                            *[rx.el.option(label, value=token) for token, label in TOKENS],
                                                            id="email-token", value="", on_change=S.insert_token), "email-token"), width="16rem"),
            spacing="3", width="100%", wrap="wrap", align="end",
        ),
        rx.cond(S.editor == "builder", rx.text("Drag blocks from the right onto the e-mail; double-click a text to write in it. "
                                               "A token goes in where you are typing.", size="1", color=rx.color("gray", 10))),
        rx.cond(
            S.editor == "builder",
            _builder(),
            _text("Code", "content", area=True, rows="22", font_family="monospace", font_size="12px",
                  hint="MJML (compiled on the server) or HTML; tokens like {contactfield=firstname} are filled for each contact."),
        ),
        rx.button("Refresh preview", variant="soft", on_click=S.refresh_preview),
        flex="3", min_width=rx.cond(S.editor == "builder", "100%", "22rem"), spacing="2",  # the builder needs the width
    )
    preview = rx.vstack(
        rx.hstack(
            rx.segmented_control.root(rx.segmented_control.item("Desktop", value="desktop"), rx.segmented_control.item("Phone", value="phone"),
                                      value=rx.cond(S.preview_width == "375px", "phone", "desktop"), on_change=S.set_preview_width,
                                      aria_label="Preview width"),
            rx.input(id="email-preview-as", value=S.preview_as, on_change=S.set_preview_as, placeholder="Preview as (a contact's e-mail)",
                     aria_label="Preview as contact", width="16rem"),
            rx.button("Preview", variant="soft", on_click=S.refresh_preview),
            spacing="2", wrap="wrap", align="center",
        ),
        rx.cond(S.preview_error != "", rx.callout(S.preview_error, icon="triangle-alert", color_scheme="amber", role="alert", width="100%")),
        rx.text("Subject: ", rx.text.strong(S.preview_subject), size="2"),
        rx.el.iframe(src_doc=S.preview_html, sandbox="allow-same-origin", title="E-mail preview", key=S.preview_version,
                     style={"width": S.preview_width, "max_width": "100%", "height": "36rem", "border": "1px solid var(--gray-a6)",
                            "border_radius": "6px", "background": "white"}),
        flex="2", min_width="20rem", spacing="2",
    )
    return rx.flex(editor, preview, gap="5", wrap="wrap", width="100%", align="start")


def _segments(which: str, label: str) -> rx.Component:
    chosen = S.included if which == "included" else S.excluded
    return rx.el.fieldset(
        rx.el.legend(label, style={"font_weight": "500", "font_size": "14px"}),
        rx.cond(S.segments.length() == 0, rx.text("No segments yet.", size="2", color=rx.color("gray", 10))),
        rx.foreach(S.segments, lambda seg: rx.el.label(rx.hstack(
            rx.checkbox(checked=chosen.contains(seg["value"]), on_change=lambda on: S.toggle_segment(seg["value"], which, on)),
            rx.text(seg["label"], size="2"), align="center", spacing="2"))),
        style={"border": "none", "padding": "0", "display": "flex", "flex_direction": "column", "gap": "4px"},
    )


def _settings() -> rx.Component:
    return rx.grid(
        rx.vstack(
            _text("Name", "name", hint="For you; recipients never see it."),
            _text("Subject", "subject"),
            _text("Preheader", "preheader", hint="The line inboxes show after the subject."),
            rx.cond(~S.is_version, labelled("Type", native_select(rx.el.option("Template e-mail (sent by forms, point triggers, the API)", value="template"),
                                           rx.el.option("Segment e-mail (broadcast to segments)", value="list"), id=_id("email_type"),
                                           value=S.draft["email_type"], on_change=lambda v: S.set_value("email_type", v)),
                     _id("email_type"), error=S.errors["email_type"])),
            rx.cond(S.is_segment_email & ~S.is_version, rx.vstack(
                _segments("included", "Send to these segments"),
                _segments("excluded", "But not to members of"),
                rx.cond(S.errors["segments"] != "", rx.text(S.errors["segments"], color=rx.color("red", 11), size="2", role="alert")),
                spacing="3")),
            _text("Category", "category"),
            _text("Language", "language"),
            spacing="3", width="100%",
        ),
        rx.vstack(
            _text("From address", "from_address", hint="Blank: the sender of Settings → E-mail."),
            _text("From name", "from_name"),
            _check("Send as the contact's owner when it has one", "use_owner_as_sender"),
            _text("Reply-to address", "reply_to"),
            _text("Bcc address", "bcc"),
            _text("Custom headers", "headers", area=True, rows="3", hint="One per line: Name: value"),
            rx.grid(_text("UTM source", "utm_source"), _text("UTM medium", "utm_medium"), _text("UTM campaign", "utm_campaign"),
                    _text("UTM content", "utm_content"), columns="2", spacing="2", width="100%"),
            _text("Plain text", "plain_text", area=True, rows="4", hint="Blank: made from the HTML."),
            _check("Published", "is_published"),
            rx.grid(_text("Publish from", "publish_up", **WHEN_TEXT), _text("Publish until", "publish_down", **WHEN_TEXT),
                    columns="2", spacing="2", width="100%"),
            spacing="3", width="100%",
        ),
        columns=rx.breakpoints(initial="1", md="2"), spacing="5", width="100%",
    )


def _stat(label: str, key: str) -> rx.Component:
    return rx.card(rx.vstack(rx.text(label, size="1", color=rx.color("gray", 10)), rx.text(S.totals[key], size="5", weight="bold"),
                             spacing="0"), aria_label=label)


def _broadcast() -> rx.Component:
    status = S.send_status
    running = (status == "running") | (status == "scheduled") | (status == "waiting")
    return section(
        "Broadcast",
        rx.cond(S.broadcast_error != "", rx.callout(S.broadcast_error, icon="triangle-alert", color_scheme="red", role="alert", width="100%")),
        rx.cond(
            (status != ""),
            rx.vstack(
                rx.text("Status: ", rx.text.strong(status), rx.cond(S.send["scheduled_at"] != "", " (at " + S.send["scheduled_at"] + " UTC)", ""),
                        size="2", role="status"),
                rx.progress(value=S.progress_percent, max=100, aria_label="Sending progress", width="100%"),
                rx.text(S.progress_label, size="2", role="status", aria_live="polite"),
                spacing="2", width="100%",
            ),
        ),
        rx.hstack(
            rx.cond((status == "running") | (status == "waiting"), rx.button("Pause", variant="soft", on_click=S.pause)),
            rx.cond(status == "paused", rx.button("Resume", on_click=S.resume)),
            rx.cond(running | (status == "paused"), rx.button("Cancel sending", color_scheme="red", variant="soft", on_click=S.cancel)),
            rx.cond(~(running | (status == "paused")), rx.hstack(
                rx.button("Send now", on_click=S.send_now, disabled=S.pending == 0),
                rx.input(value=S.schedule_at, on_change=S.set_schedule_at, aria_label="Send at (UTC)", **WHEN_TEXT),
                rx.button("Schedule", variant="soft", on_click=S.schedule),
                rx.text(S.pending.to_string() + " contacts have not had it yet.", size="2", color=rx.color("gray", 11)),
                spacing="2", align="center", wrap="wrap")),
            spacing="2", wrap="wrap", align="center",
        ),
    )


def _version_row(v: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.hstack(rx.link(v["name"], href="/emails/" + v["id"]),
                                rx.cond(S.winner == v["id"], rx.badge("Winner", color_scheme="green")), spacing="2", align="center")),
        rx.table.cell(v["subject"]),
        rx.table.cell(rx.input(value=S.weights[v["id"]], on_change=lambda val: S.set_weight(v["id"], val), type="number", min="0", max="100",
                               aria_label="Weight of " + v["name"], width="5rem")),
        rx.table.cell(v["sent"]), rx.table.cell(v["read_rate"]), rx.table.cell(v["click_rate"]),
    )


def _ab_test() -> rx.Component:
    """The main segment e-mail's A/B test: its versions with weights and rates, and how the winner is chosen."""
    return section(
        "A/B test",
        rx.cond(
            S.versions.length() == 0,
            rx.text("Try another subject or content on part of the audience first; the version that does better goes to the rest.",
                    size="2", color=rx.color("gray", 11)),
            rx.vstack(
                rx.table.root(
                    rx.el.caption("Versions of this e-mail", style=VISUALLY_HIDDEN),
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                   ("Version", "Subject", "Weight", "Sent", "Read rate", "Click rate")])),
                    rx.table.body(rx.foreach(S.versions, _version_row)),
                    variant="surface", width="100%"),
                rx.hstack(
                    labelled("Test on (% of the audience)", rx.input(id="ab-test-percent", value=S.ab["test_percent"], type="number", min="1",
                                                                    max="100", on_change=lambda v: S.set_ab("test_percent", v)), "ab-test-percent"),
                    labelled("Winner by", native_select(rx.el.option("Open rate", value="open_rate"), rx.el.option("Click rate", value="click_rate"),
                                                        id="ab-criterion", value=S.ab["criterion"], on_change=lambda v: S.set_ab("criterion", v),
                                                        width="10rem"), "ab-criterion"),
                    labelled("Choose the winner after (hours)", rx.input(id="ab-hours", value=S.ab["winner_after_hours"], type="number", min="0",
                                                                        step="0.5", on_change=lambda v: S.set_ab("winner_after_hours", v)), "ab-hours"),
                    rx.button("Save the test", variant="soft", on_click=S.save_test),
                    spacing="3", align="end", wrap="wrap",
                ),
                rx.text("A broadcast sends the test's share first, split by weight (0 leaves a version out), then waits; the winner goes "
                        "to everyone else.", size="1", color=rx.color("gray", 10)),
                spacing="3", width="100%",
            ),
        ),
        actions=rx.button("Add a variant", variant="soft", on_click=S.add_variant),
    )


def _translations() -> rx.Component:
    return section(
        "Translations",
        rx.cond(S.translations.length() == 0,
                rx.text("Contacts whose preferred language has a translation get the translation instead.", size="2",
                        color=rx.color("gray", 11)),
                rx.el.ul(rx.foreach(S.translations, lambda t: rx.el.li(rx.link(t["name"], href="/emails/" + t["id"]), " (", t["language"], ")")),
                         style={"margin": "0", "padding_left": "1.2rem"})),
        rx.hstack(
            rx.input(value=S.new_language, on_change=S.set_new_language, placeholder="fr, de, pt_br…", aria_label="Language of the translation",
                     width="10rem"),
            rx.button("Add a translation", variant="soft", on_click=S.add_translation),
            spacing="2", align="center",
        ),
    )


def _sending() -> rx.Component:
    return rx.vstack(
        rx.cond(S.versions_error != "", rx.callout(S.versions_error, icon="triangle-alert", color_scheme="red", role="alert", width="100%")),
        rx.cond(S.is_segment_email & ~S.is_version, _broadcast()),
        rx.cond(S.is_segment_email & (S.version_kind != "translation"), _ab_test()),
        rx.cond(~S.is_version, _translations()),
        section(
            "Send a test",
            rx.hstack(
                rx.input(value=S.test_address, on_change=S.set_test_address, placeholder="someone@example.com", aria_label="Test address",
                         type="email", width="18rem"),
                rx.button("Send a test", on_click=S.send_test, loading=S.testing),
                spacing="2", align="center",
            ),
            rx.text("Sent as the contact in “Preview as”, or a sample contact; the subject starts with [Test].", size="1",
                    color=rx.color("gray", 10)),
            rx.cond(S.test_answer != "", rx.callout(S.test_answer, icon=rx.cond(S.test_failed, "triangle-alert", "check"),
                                                    color_scheme=rx.cond(S.test_failed, "red", "green"), role="status", width="100%")),
        ),
        section(
            "Statistics",
            rx.grid(_stat("Sent", "sent"), _stat("Read", "read"), _stat("Read rate", "read_rate"), _stat("Clicked", "clicked"),
                    _stat("Click rate", "click_rate"), _stat("Unsubscribed", "unsubscribed"), _stat("Bounced", "bounced"),
                    _stat("Failed", "failed"), columns=rx.breakpoints(initial="2", md="4"), spacing="2", width="100%"),
            rx.plotly(data=S.figure, width="100%", config=PLOT_CONFIG),
            rx.cond(S.links.length() > 0, rx.table.root(
                rx.el.caption("Clicks per link", style=VISUALLY_HIDDEN),
                rx.table.header(rx.table.row(rx.table.column_header_cell("Link"), rx.table.column_header_cell("Clicks"),
                                             rx.table.column_header_cell("Unique clicks"))),
                rx.table.body(rx.foreach(S.links, lambda link: rx.table.row(rx.table.cell(rx.text(link["url"], size="2")),
                                                                           rx.table.cell(link["hits"]), rx.table.cell(link["unique"])))),
                variant="surface", width="100%")),
        ),
        spacing="3", width="100%",
    )


@template(route=routes.EMAIL, title="E-mail", on_load=EmailState.load)
def email_page() -> rx.Component:
    return rx.cond(
        S.missing,
        missing_record("This e-mail does not exist (it may have been deleted).", "All e-mails", routes.EMAILS),
        rx.cond(
            S.loaded,
            rx.vstack(
                page_header(S.title, rx.link("All e-mails", href=routes.EMAILS, size="2"),
                            rx.button("Save", on_click=S.save, loading=S.saving)),
                rx.cond(S.is_version, rx.callout(
                    rx.text(rx.cond(S.version_kind == "variant", "A variant in the A/B test of ", "A translation of "),
                            rx.link(S.parent_name, href="/emails/" + S.parent_id.to_string()),
                            rx.cond(S.version_kind == "variant", ": it goes out with that e-mail's broadcast, to its segments.",
                                    ": contacts who prefer its language get it instead.")),
                    icon="git-branch", width="100%")),
                rx.cond(S.errors["content"] != "", rx.callout(S.errors["content"], icon="triangle-alert", color_scheme="red", role="alert")),
                rx.tabs.root(
                    rx.tabs.list(rx.tabs.trigger("Content", value="content"), rx.tabs.trigger("Settings", value="settings"),
                                 rx.cond(S.email_id > 0, rx.tabs.trigger("Sending and statistics", value="sending"))),
                    rx.tabs.content(rx.box(_content(), padding_top="1rem"), value="content"),
                    rx.tabs.content(rx.box(_settings(), padding_top="1rem"), value="settings"),
                    rx.tabs.content(rx.box(_sending(), padding_top="1rem"), value="sending"),
                    value=S.tab, on_change=S.set_tab, width="100%",
                ),
                spacing="3", width="100%",
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        ),
    )
