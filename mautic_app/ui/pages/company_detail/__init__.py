"""One company: its fields, score and owner, and its contacts (paged, link by search, unlink), live."""

from mautic_app.ui.pages.company_detail.view import company_page

__all__ = ["company_page"]
