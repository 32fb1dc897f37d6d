"""Every address a marketer's page lives at, and the builders links, redirects and the navigation use.

A page registers its pattern (``CONTACT = "/contacts/[contact_id]"``); a link to one record is built
with its function (``contact(7)``), and a page reads its record's id back with :func:`id_in_path`.
In a component, where the id is a Reflex var, pass it to the same function: the f-string builds a
var, so one builder serves both sides.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

DASHBOARD = "/"
LOGIN = "/login"
# Signing in and out are form posts to HTTP routes (web/auth.py): only a response sets an HttpOnly cookie.
AUTH_LOGIN = "/auth/login"
AUTH_LOGOUT = "/auth/logout"

CONTACTS = "/contacts"
CONTACT_NEW = "/contacts/new"
CONTACT = "/contacts/[contact_id]"
CONTACT_EDIT = "/contacts/[contact_id]/edit"
CONTACTS_EXPORT = "/contacts/export.csv"
IMPORTS = "/contacts/import"
IMPORT = "/contacts/import/[import_id]"
VISITORS = "/visitors"

COMPANIES = "/companies"
COMPANY_NEW = "/companies/new"
COMPANY = "/companies/[company_id]"
COMPANY_EDIT = "/companies/[company_id]/edit"

SEGMENTS = "/segments"
SEGMENT = "/segments/[segment_id]"  # "new" stands for a segment not saved yet
SEGMENT_NEW = "/segments/new"

FORMS = "/forms"
FORM = "/forms/[form_id]"
FORM_NEW = "/forms/new"
FORM_RESULTS = "/forms/[form_id]/results"

FOCUS_ITEMS = "/focus"
FOCUS_ITEM = "/focus/[focus_id]"
FOCUS_ITEM_NEW = "/focus/new"

CAMPAIGNS = "/campaigns"
CAMPAIGN = "/campaigns/[campaign_id]"  # "new" stands for a campaign not saved yet
CAMPAIGN_NEW = "/campaigns/new"
CAMPAIGN_STATS = "/campaigns/[campaign_id]/stats"
EMAILS = "/emails"
EMAIL = "/emails/[email_id]"  # "new" stands for an e-mail not saved yet
EMAIL_NEW = "/emails/new"
OUTBOX = "/outbox"

STAGES = "/stages"
POINT_ACTIONS = "/points"
POINT_TRIGGERS = "/points/triggers"
POINT_GROUPS = "/points/groups"

CUSTOM_FIELDS = "/settings/fields"
USERS = "/settings/users"
ACCOUNT = "/account"
TRACKING_SETTINGS = "/settings/tracking"
EMAIL_SETTINGS = "/settings/email"


def _fill(pattern: str, value: Any) -> str:
    head, _, rest = pattern.partition("[")
    return f"{head}{value}{rest.partition(']')[2]}"


def campaign(campaign_id: Any) -> str:
    return _fill(CAMPAIGN, campaign_id)


def campaign_stats(campaign_id: Any) -> str:
    return _fill(CAMPAIGN_STATS, campaign_id)


def contact(contact_id: Any) -> str:
    return _fill(CONTACT, contact_id)


def contact_edit(contact_id: Any) -> str:
    return _fill(CONTACT_EDIT, contact_id)


def contacts_search(text: str) -> str:
    return f"{CONTACTS}?search={quote(text)}"


def import_(import_id: Any) -> str:
    return _fill(IMPORT, import_id)


def company(company_id: Any) -> str:
    return _fill(COMPANY, company_id)


def company_edit(company_id: Any) -> str:
    return _fill(COMPANY_EDIT, company_id)


def segment(segment_id: Any) -> str:
    return _fill(SEGMENT, segment_id)


def form(form_id: Any) -> str:
    return _fill(FORM, form_id)


def form_results(form_id: Any) -> str:
    return _fill(FORM_RESULTS, form_id)


def form_results_csv(form_id: Any) -> str:
    return f"{form(form_id)}/results.csv"


def form_result_file(form_id: Any, submission_id: Any, alias: Any) -> str:
    return f"{form_results(form_id)}/{submission_id}/files/{alias}"


def form_public(form_id: Any) -> str:
    """The form's own public page, the one visitors fill in."""
    return f"/form/{form_id}"


def focus_item(focus_id: Any) -> str:
    return _fill(FOCUS_ITEM, focus_id)


def email(email_id: Any) -> str:
    return _fill(EMAIL, email_id)


def custom_fields(obj: str) -> str:
    """Settings → Custom fields on the tab of ``obj`` ("contact" or "company")."""
    return f"{CUSTOM_FIELDS}?object={obj}"


def login(next_path: str = "") -> str:
    return f"{LOGIN}?next={quote(next_path, safe='')}" if next_path else LOGIN


def id_in_path(path: str | None, pattern: str) -> int | None:
    """The number at ``pattern``'s ``[placeholder]`` in ``path`` (``"/forms/3"`` against ``FORM`` is 3);
    None when the path is another page's, or holds no number there (``/forms/new``)."""
    parts = [p for p in (path or "").split("?")[0].split("/") if p]
    wanted = [p for p in pattern.split("/") if p]
    if len(parts) != len(wanted):
        return None
    found: int | None = None
    for part, want in zip(parts, wanted, strict=True):
        if want.startswith("["):
            if not part.isdigit() or len(part) > 18:
                return None
            found = int(part)
        elif part != want:
            return None
    return found
