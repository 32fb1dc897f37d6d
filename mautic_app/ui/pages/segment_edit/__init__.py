"""One segment: its filter builder with a live count and sample, and its members, live."""

from mautic_app.ui.pages.segment_edit.view import segment_page

__all__ = ["segment_page"]
