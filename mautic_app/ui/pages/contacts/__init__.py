"""The contacts list: search with Mautic's syntax, sortable chosen columns, paging, bulk actions, live."""

from mautic_app.ui.pages.contacts.view import contacts_page

__all__ = ["contacts_page"]
