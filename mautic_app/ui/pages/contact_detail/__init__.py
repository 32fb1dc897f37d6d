"""One contact: its fields and everything around it, the changes a marketer makes to it, merge and delete."""

from mautic_app.ui.pages.contact_detail.view import contact_detail

__all__ = ["contact_detail"]
