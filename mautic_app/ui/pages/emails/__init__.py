"""E-mails: the list, and one e-mail's content, settings, sending and statistics, live."""

from mautic_app.ui.pages.emails.list import emails_page
from mautic_app.ui.pages.emails.view import email_page

__all__ = ["email_page", "emails_page"]
