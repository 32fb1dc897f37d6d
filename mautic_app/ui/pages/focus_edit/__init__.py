"""One focus item: the builder with a live preview, the code to embed it, and its statistics, live."""

from mautic_app.ui.pages.focus_edit.view import focus_page

__all__ = ["focus_page"]
