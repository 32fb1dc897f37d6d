"""``/contacts/import/<id>``: the mapping form while the import waits for it, its progress afterwards."""

from __future__ import annotations

import reflex as rx

from mautic_app import routes
from mautic_app.ui.layout import missing_record, page_header, template
from mautic_app.ui.pages.imports.detail_state import ImportState
from mautic_app.ui.pages.imports.mapping_view import mapping_view
from mautic_app.ui.pages.imports.parts import spinner
from mautic_app.ui.pages.imports.progress_view import progress_view


@template(route=routes.IMPORT, title="Import", on_load=ImportState.load)
def import_page() -> rx.Component:
    S = ImportState
    return rx.cond(
        S.missing,
        missing_record("This import does not exist (it may have been deleted).", "All imports", routes.IMPORTS),
        rx.vstack(
            rx.link(rx.hstack(rx.icon("arrow-left", size=14, aria_hidden="true"), rx.text("All imports", size="2"), spacing="1",
                              align="center"),
                    href=routes.IMPORTS, color_scheme="gray"),
            page_header(rx.cond(S.name != "", S.name, "Import")),
            rx.cond(S.loaded, rx.cond(S.is_new, mapping_view(), progress_view()), spinner("3rem")),
            spacing="3",
            width="100%",
        ),
    )
