"""One form: its settings, fields and submit actions, with a live preview and the embed code."""

from mautic_app.ui.pages.form_edit.view import form_edit_page

__all__ = ["form_edit_page"]
