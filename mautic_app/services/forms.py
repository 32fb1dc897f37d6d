"""Forms: saving them, taking submissions (the contact they belong to, the actions they run), results.

A submission finds its contact as spec/components.md says: start from the tracked visitor,
look the submitted unique identifiers up, merge the visitor into a contact found without a
conflict, use the found one when they conflict, and start a new contact when the submitted
identifiers contradict the visitor's own. Kiosk mode ignores the visitor and the IP.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, BinaryIO, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import cache, changefeed, db, outgoing
from mautic_app.domain import forms as rules
from mautic_app.domain import search as search_syntax
from mautic_app.domain import tracking as tracking_rules
from mautic_app.models import Company, ContactDevice, Form, FormAction, FormField, FormSubmission, User
from mautic_app.models.base import utcnow
from mautic_app.services import campaign_engine, companies, contacts, email_sends, points, segments, timeline, tracking
from mautic_app.services import fields as field_service
from mautic_app.settings import get_settings

log = logging.getLogger(__name__)
REPOST_TASK = "mautic.forms.repost"
EMAIL_RESULTS_TASK = "mautic.forms.email_results"


class FormNotFound(LookupError):
    pass


# ------------------------------------------------------------------ forms


def mappable_fields(*, session: Session) -> dict[str, list[tuple[str, str]]]:
    """Contact and company fields a form field may fill: {"contact": [(alias, label)], "company": [...]}."""
    out: dict[str, list[tuple[str, str]]] = {}
    for obj in ("contact", "company"):
        out[obj] = [(s.alias, s.label) for s in field_service.specs(session=session, obj=obj)
                    if s.alias not in ("points", "last_active", "id") and s.is_visible]
    return out


def get_form(*, session: Session, form_id: int) -> Form | None:
    return session.get(Form, form_id)


def fields_of(*, session: Session, form_id: int) -> list[rules.Field]:
    rows = session.exec(select(FormField).where(FormField.form_id == form_id).order_by(col(FormField.order), col(FormField.id))).all()
    return [rules.Field(
        id=r.id, alias=r.alias, label=r.label, type=r.type, order=r.order, show_label=r.show_label, default_value=r.default_value,
        help_message=r.help_message, is_required=r.is_required, validation_message=r.validation_message,
        properties=dict(r.properties or {}), mapped_object=r.mapped_object, mapped_field=r.mapped_field,
        is_auto_fill=r.is_auto_fill, show_when_value_exists=r.show_when_value_exists,
        show_after_x_submissions=r.show_after_x_submissions, always_display=r.always_display, parent_alias=r.parent_alias,
        conditions=dict(r.conditions or {}), save_result=r.save_result,
    ) for r in rows if r.type in rules.FIELD_TYPES]


def actions_of(*, session: Session, form_id: int) -> list[FormAction]:
    return list(session.exec(select(FormAction).where(FormAction.form_id == form_id).order_by(col(FormAction.order), col(FormAction.id))).all())


def save_form(
    *, session: Session, form_id: int | None, values: dict[str, Any], fields: list[dict[str, Any]],
    actions: list[dict[str, Any]], user_id: int | None = None,
) -> Form:
    """Create or replace a form with its fields and actions; raises :class:`rules.FormError`."""
    errors: dict[str, str] = {}
    form = session.get(Form, form_id) if form_id else Form(name="", alias="", created_by=user_id)
    if form is None:
        raise FormNotFound(form_id)
    name = str(values.get("name") or "").strip()[:191]
    if not name:
        errors["name"] = "Give the form a name."
    alias = str(values.get("alias") or "").strip().lower()[:191] or rules.alias_from_label(name or "form")[:40]
    if not rules.ALIAS_RE.match(alias):
        errors["alias"] = "Use lower-case letters, digits and underscores, starting with a letter."
    elif session.execute(sa.select(col(Form.id)).where(col(Form.alias) == alias, col(Form.id) != (form.id or 0))).first():
        errors["alias"] = "Another form already uses this alias."
    post_action = str(values.get("post_action") or "message")
    if post_action not in rules.POST_ACTIONS:
        errors["post_action"] = "Choose what happens after submitting."
    post_property = str(values.get("post_action_property") or "").strip()[:2000]
    if post_action == "redirect" and not rules.web_url(post_property):
        errors["post_action_property"] = "Enter the http(s) address to redirect to."
    form_type = str(values.get("form_type") or "standalone")
    if form_type not in rules.FORM_TYPES:
        errors["form_type"] = "Choose standalone or campaign form."
    limit = values.get("progressive_profiling_limit")
    try:
        limit = int(limit) if limit not in (None, "", 0, "0") else None
        if limit is not None and not 1 <= limit <= 100:
            raise ValueError
    except (TypeError, ValueError):
        errors["progressive_profiling_limit"] = "Enter a whole number from 1 to 100, or leave it empty."
        limit = None
    mappable = mappable_fields(session=session)
    try:
        checked_fields = rules.check_fields(fields, contact_fields={a for a, _ in mappable["contact"]},
                                            company_fields={a for a, _ in mappable["company"]})
    except rules.FormError as exc:
        errors |= exc.errors
        checked_fields = []
    try:
        checked_actions = rules.check_actions(actions, url_refusal=outgoing.url_refusal)
    except rules.FormError as exc:
        errors |= exc.errors
        checked_actions = []
    if errors:
        raise rules.FormError(errors)
    form.name, form.alias = name, alias
    form.description = str(values.get("description") or "")[:5000]
    form.is_published = bool(values.get("is_published", True))
    form.post_action, form.post_action_property = post_action, post_property
    form.form_type, form.in_kiosk_mode = form_type, bool(values.get("in_kiosk_mode"))
    form.progressive_profiling_limit, form.no_index = limit, bool(values.get("no_index"))
    form.language = str(values.get("language") or "")[:16]
    form.date_modified = utcnow() if form.id else None
    session.add(form)
    session.flush()
    form_id = cast(int, form.id)  # flushed, so it has its id
    _replace_fields(session, form_id, checked_fields)
    kept = {a["id"] for a in checked_actions if a.get("id")}
    existing = {a.id: a for a in actions_of(session=session, form_id=form_id)}
    for stale in set(existing) - kept:
        session.delete(existing[stale])
    for i, a in enumerate(checked_actions):
        row = existing.get(a.get("id")) or FormAction(form_id=form_id, type=a["type"])
        row.order, row.type, row.name, row.properties = i, a["type"], a["name"], a["properties"]
        session.add(row)
    session.flush()
    changefeed.publish_after_commit(session, "forms", {"ids": [form.id], "action": "saved"})
    return form


_FIELD_COLUMNS = ("order", "label", "alias", "type", "show_label", "default_value", "help_message", "is_required",
                  "validation_message", "properties", "mapped_object", "mapped_field", "is_auto_fill", "show_when_value_exists",
                  "show_after_x_submissions", "always_display", "parent_alias", "conditions", "save_result")


def _replace_fields(session: Session, form_id: int, fields: list[rules.Field]) -> None:
    """Fields sent with the id of one of this form's fields keep it (API clients edit by id); the
    others are added, and fields not sent go. Kept fields first take placeholder aliases, so two
    fields may swap aliases without tripping the one-alias-per-form rule."""
    existing = {r.id: r for r in session.exec(select(FormField).where(FormField.form_id == form_id)).all()}
    kept = {f.id for f in fields if f.id in existing}
    for stale in set(existing) - kept:
        session.delete(existing[stale])
    for row_id in kept:
        existing[row_id].alias = f"__saving_{row_id}"
        session.add(existing[row_id])
    session.flush()
    for f in fields:
        row = existing[f.id] if f.id in kept else FormField(form_id=form_id, label="", alias="", type="")
        for column in _FIELD_COLUMNS:
            setattr(row, column, getattr(f, column))
        session.add(row)
    session.flush()


def delete_forms(*, session: Session, form_ids: list[int]) -> int:
    ids = [i for i in form_ids if isinstance(i, int)]
    n = db.rows_changed(session.execute(sa.delete(Form).where(col(Form.id).in_(ids)))) if ids else 0
    if n:
        changefeed.publish_after_commit(session, "forms", {"ids": ids, "action": "deleted"})
    return n


def is_live(form: Form | FormSnapshot | None, now: datetime | None = None) -> bool:
    """Published and inside its publishing window: only such forms are shown and accept posts."""
    if form is None or not form.is_published:
        return False
    now = now or utcnow()
    up, down = (_aware(d) for d in (form.publish_up, form.publish_down))
    return not ((up and now < up) or (down and now > down))


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass
class FormSnapshot:
    """What the submit route needs of a form, read once and kept until a form changes (no database per post)."""

    id: int
    name: str
    alias: str
    is_published: bool
    publish_up: datetime | None
    publish_down: datetime | None
    post_action: str
    post_action_property: str
    in_kiosk_mode: bool
    progressive_profiling_limit: int | None
    fields: list[rules.Field]


def snapshot(*, session: Session, form_id: int) -> FormSnapshot | None:
    form = session.get(Form, form_id)
    if form is None:
        return None
    return FormSnapshot(
        id=form_id, name=form.name, alias=form.alias, is_published=form.is_published, publish_up=form.publish_up,
        publish_down=form.publish_down, post_action=form.post_action, post_action_property=form.post_action_property,
        in_kiosk_mode=form.in_kiosk_mode, progressive_profiling_limit=form.progressive_profiling_limit,
        fields=fields_of(session=session, form_id=form_id))


# Form ids come from the posts' URLs, so the cache is bounded (a missing form is kept too, as None).
SNAPSHOTS: cache.Cache[int, FormSnapshot | None] = cache.named("form_snapshots", topics=["forms"], max_size=1000)


def cached_form(form_id: int) -> FormSnapshot | None:
    """The form as :func:`snapshot` reads it, kept until a form is saved or deleted anywhere."""

    def load() -> FormSnapshot | None:
        with db.session_scope() as session:
            return snapshot(session=session, form_id=form_id)

    return SNAPSHOTS.get_or_load(form_id, load)


def cached_form_if_fresh(form_id: int) -> FormSnapshot | None | bool:
    """The cached form without blocking; ``False`` when it must be read."""
    return SNAPSHOTS.peek(form_id, False)


def maybe_hidden(form: FormSnapshot) -> set[str]:
    """Fields progressive profiling could hide from some visitor: not required when checked without the visitor."""
    if form.in_kiosk_mode:
        return set()
    return {f.alias for f in form.fields if f.kind.stores_value and not f.always_display and (
        f.show_after_x_submissions or form.progressive_profiling_limit
        or (f.mapped_field and not f.show_when_value_exists and not f.is_auto_fill))}


# ------------------------------------------------------------------ the visitor


def contact_of_device(*, session: Session, device_id: str | None) -> int | None:
    if not device_id:
        return None
    return session.execute(sa.select(col(ContactDevice.contact_id)).where(col(ContactDevice.tracking_id) == device_id)).scalar()


def submissions_by(*, session: Session, form_id: int, contact_id: int | None) -> int:
    if not contact_id:
        return 0
    return session.execute(sa.select(sa.func.count()).where(
        col(FormSubmission.form_id) == form_id, col(FormSubmission.contact_id) == contact_id)).scalar() or 0


@dataclass
class VisitorView:
    """What one visitor is shown: the fields after progressive profiling, and auto-filled values."""

    fields: list[rules.Field]
    prefill: dict[str, Any]


def visitor_view(
    *, session: Session, form: Form | FormSnapshot, fields: list[rules.Field], contact_id: int | None, query: dict[str, str],
    autofill: bool,
) -> VisitorView:
    """Progressive profiling and pre-population for a visitor.

    Query parameters named like a field alias pre-fill it. Auto-fill fields take the tracked
    contact's values only when ``autofill`` (the caller knows the page is the contact's own:
    our own origin, or a site in the allowed hosts asking with the visitor's cookie).
    """
    known: dict[str, Any] = {}
    if contact_id and not form.in_kiosk_mode:
        known = contacts.read(session=session, contact_id=contact_id) or {}
    count = submissions_by(session=session, form_id=cast(int, form.id), contact_id=contact_id) if not form.in_kiosk_mode else 0
    shown = rules.visible_fields(fields, known=known, submissions=count, kiosk=form.in_kiosk_mode,
                                 limit=form.progressive_profiling_limit)
    prefill: dict[str, Any] = {}
    for f in shown:
        if f.alias in query and f.kind.stores_value and f.type not in ("password", "captcha", "file"):
            prefill[f.alias] = str(query[f.alias])[:rules.MAX_VALUE]
        elif autofill and f.is_auto_fill and f.mapped_object == "contact" and known.get(f.mapped_field) not in (None, ""):
            prefill[f.alias] = known[f.mapped_field]
    return VisitorView(shown, prefill)


# ------------------------------------------------------------------ submissions


@dataclass
class Submitted:
    """What a submission did (or why it was refused: ``errors`` by field alias)."""

    errors: dict[str, str] = field(default_factory=dict)
    submission_id: int | None = None
    contact_id: int | None = None
    public_id: str | None = None  # the device's contact now, for the tracking cache
    repost: dict[str, Any] | None = None  # re-post actions to queue after commit


@dataclass
class Posted:
    """A post as the route read it."""

    values: dict[str, Any]
    ip: str | None = None
    device_id: str | None = None
    referer: str | None = None
    page_url: str | None = None
    user_agent: str | None = None


def submit(*, session: Session, form: Form | FormSnapshot, posted: Posted, checked_already: bool = False) -> Submitted:
    """Check a post, find or create its contact, store the submission and run the form's actions.

    ``checked_already``: the route checked the post and told the visitor it was received (the
    queued path), so nothing may refuse it now: required fields are not asked again, and a value a
    contact field cannot hold is kept in the results but not put on the contact.
    """
    form_id = cast(int, form.id)  # a stored form's
    fields = form.fields if isinstance(form, FormSnapshot) else fields_of(session=session, form_id=form_id)
    visitor = None if form.in_kiosk_mode else contact_of_device(session=session, device_id=posted.device_id)
    if checked_already:
        hidden = {f.alias for f in fields}
    else:
        view = visitor_view(session=session, form=form, fields=fields, contact_id=visitor, query={}, autofill=False)
        hidden = {f.alias for f in fields} - {f.alias for f in view.fields}
    checked = rules.check_post(fields, posted.values, hidden=hidden)
    if checked.errors and not checked_already:
        return Submitted(errors=checked.errors)
    try:
        clean = contacts.clean_values(session=session, values=checked.contact, creating=True)
    except contacts.ContactError as exc:
        if checked_already:
            clean = contacts.clean_values(session=session, creating=True,
                                          values={k: v for k, v in checked.contact.items() if k not in exc.errors})
        else:
            by_target = {f.mapped_field: f.alias for f in fields if f.mapped_object == "contact"}
            return Submitted(errors={by_target.get(k, k): v for k, v in exc.errors.items()})
    contact_id, moved_device = _contact_for(session, form, visitor, clean)
    if checked.company.get("companyname"):
        _company(session, contact_id, checked.company)
    if posted.ip and not form.in_kiosk_mode:
        contacts.add_ip(session=session, contact_id=contact_id, ip=posted.ip)
    public_id = None
    if posted.device_id and moved_device:
        session.execute(sa.update(ContactDevice).where(col(ContactDevice.tracking_id) == posted.device_id).values(contact_id=contact_id))
        public_id = tracking.ensure_public_id(session=session, contact_id=contact_id)
    row = FormSubmission(
        form_id=form_id, contact_id=contact_id, ip_address=None if form.in_kiosk_mode else posted.ip,
        tracking_id=None if form.in_kiosk_mode else posted.device_id, referer=_cap(posted.referer), page_url=_cap(posted.page_url),
        values=checked.values,
    )
    session.add(row)
    session.flush()
    discard_uploads(form_id, posted.values, keep=checked.values)
    timeline.log(session=session, contact_id=contact_id, event_type="form_submitted",
                 details={"name": form.name, "form_id": form_id, "submission_id": row.id})
    points.score(session=session, contact_id=contact_id, action_type="form.submit", context={"form_id": form_id})
    campaign_engine.forms_submitted(session=session, submissions=[(form_id, contact_id, row.id)])
    outcome = Submitted(submission_id=row.id, contact_id=contact_id, public_id=public_id)
    for action in actions_of(session=session, form_id=form_id):
        handler = ACTION_HANDLERS.get(action.type)
        if handler is None:
            continue  # a kind whose area has not landed yet
        try:
            with session.begin_nested():
                handler(session, _ActionContext(form, row, contact_id, posted, outcome), dict(action.properties or {}))
        except Exception:  # noqa: BLE001  (one broken action must not lose the submission)
            log.exception("form %s action %s failed", form_id, action.type)
    changefeed.publish_after_commit(session, "form_submissions", {"form_id": form_id, "ids": [row.id], "contact_id": contact_id})
    return outcome


def _cap(value: str | None) -> str | None:
    return rules.web_url(value) if value else None


def _identifiers(session: Session) -> list[str]:
    return [s.alias for s in field_service.specs(session=session, obj="contact") if s.is_unique_identifier]


def _conflicts(session: Session, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two sets of values name different people: a unique identifier both have, with different values."""
    for alias in _identifiers(session):
        x, y = a.get(alias), b.get(alias)
        if x not in (None, "") and y not in (None, "") and str(x).strip().lower() != str(y).strip().lower():
            return True
    return False


def _contact_for(session: Session, form: Form | FormSnapshot, visitor: int | None, clean: dict[str, Any]) -> tuple[int, bool]:
    """(the submission's contact, whether the visitor's device now belongs to it)."""
    found = contacts.find_existing(session=session, values=clean) if clean else None
    if form.in_kiosk_mode or visitor is None:
        if found:
            contacts.update(session=session, contact_id=found, values=clean, source="form", already_clean=True)
            return found, visitor is not None
        new_id, _ = contacts.create(session=session, values=clean, source="form", check_required=False)
        return new_id, visitor is not None
    mine = contacts.read(session=session, contact_id=visitor) or {}
    if found and found != visitor:
        theirs = contacts.read(session=session, contact_id=found) or {}
        if not _conflicts(session, mine, theirs):
            contacts.merge(session=session, winner_id=found, loser_id=visitor)  # devices and hits move with it
        contacts.update(session=session, contact_id=found, values=clean, source="form", already_clean=True)
        return found, True
    if found is None and _conflicts(session, mine, clean):
        new_id, _ = contacts.create(session=session, values=clean, source="form", check_required=False)
        return new_id, True
    if clean:
        contacts.update(session=session, contact_id=visitor, values=clean, source="form", already_clean=True)
    return visitor, False


def _company(session: Session, contact_id: int, values: dict[str, Any]) -> None:
    company_id = companies.find_or_create(session=session, name=str(values["companyname"])[:191])
    rest = {k: v for k, v in values.items() if k != "companyname"}
    if rest:
        try:
            companies.update(session=session, company_id=company_id, values=rest)
        except Exception:  # noqa: BLE001  (a bad company value must not lose the submission)
            log.info("form company values not applied", exc_info=True)
    companies.link_contact(session=session, company_id=company_id, contact_id=contact_id)


# ------------------------------------------------------------------ submit actions


@dataclass
class _ActionContext:
    form: Form | FormSnapshot
    submission: FormSubmission
    contact_id: int
    posted: Posted
    outcome: Submitted


def _points(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    delta = int(props.get("points") or 0)
    if delta:
        contacts.change_points(session=session, contact_id=ctx.contact_id, operation="plus" if delta > 0 else "minus",
                               amount=abs(delta), reason=f"form: {ctx.form.name}")


def _tags(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    changes = list(props.get("add_tags") or []) + [f"-{t}" for t in props.get("remove_tags") or []]
    if changes:
        contacts.modify_tags(session=session, contact_ids=[ctx.contact_id], tags=changes)


def _segments(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    segments.change_by_hand(session=session, contact_ids=[ctx.contact_id], add=props.get("addToLists") or [],
                            remove=props.get("removeFromLists") or [])


def _utm(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    url = ctx.posted.page_url or ""
    utm = tracking_rules.utm_values(url) if url else {}
    if utm:
        contacts.add_utm(session=session, contact_id=ctx.contact_id, data=utm | {
            "url": url, "referer": ctx.posted.referer, "user_agent": ctx.posted.user_agent, "query": tracking_rules.query_of(url)})


def _remove_dnc(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    contacts.remove_dnc(session=session, contact_id=ctx.contact_id, channel="email")


def _company_score(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    delta = int(props.get("score") or 0)
    primary = next((c for c in companies.companies_of(session=session, contact_id=ctx.contact_id) if c.get("is_primary")), None)
    if delta and primary:
        session.execute(sa.update(Company).where(Company.id == primary["id"]).values(score=Company.score + delta))
        changefeed.publish_after_commit(session, "companies", {"ids": [primary["id"]], "action": "score"})


def _repost(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    """Queued after commit (the other site may be slow or down); see ``tasks.forms.repost``."""
    ctx.outcome.repost = {"url": props.get("post_url"), "submission_id": ctx.submission.id}


def _send_email(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    """Queued: the message goes out after the submission commits (see ``services.email_sends``)."""
    email_sends.send_to_contact(session=session, email_id=int(props.get("email") or 0), contact_id=ctx.contact_id,
                                source="form", source_id=ctx.form.id)


def _send_to_users(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    """The chosen users get the template e-mail filled in for the contact, after the commit (no tracking)."""
    ids = [int(i) for i in props.get("user_id") or []]
    for address in session.exec(select(User.email).where(col(User.id).in_(ids), col(User.is_active).is_(True))).all():
        if address:
            db.enqueue(session, email_sends.SEND_COPY_TASK, int(props.get("email") or 0), address, ctx.contact_id)


def _email_results(session: Session, ctx: _ActionContext, props: dict[str, Any]) -> None:
    db.enqueue(session, EMAIL_RESULTS_TASK, ctx.submission.id)


def results_notice(*, session: Session, submission_id: int) -> list[tuple[list[str], str, str, str]]:
    """For each "E-mail the results" action of the submission's form: (addresses, subject, HTML, text), the
    values escaped in the HTML."""
    row = session.get(FormSubmission, submission_id)
    if row is None:
        return []
    form = get_form(session=session, form_id=row.form_id)
    labels = [(f.alias, f.label) for f in fields_of(session=session, form_id=row.form_id) if f.alias in (row.values or {})]
    lines = [(label, value_text(row.values[alias])) for alias, label in labels]
    name = form.name if form else "a form"
    html = (f"<p>New results of {escape(name)}:</p><table>"
            + "".join(f"<tr><th align='left'>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in lines) + "</table>")
    text = f"New results of {name}:\n\n" + "\n".join(f"{label}: {value}" for label, value in lines)
    return [(list(a.properties.get("to") or []), str(a.properties.get("subject") or f"New results of {name}")[:191].replace("\n", " "),
             html, text) for a in actions_of(session=session, form_id=row.form_id) if a.type == "form.email"]


ACTION_HANDLERS: dict[str, Callable[[Session, _ActionContext, dict[str, Any]], None]] = {
    "lead.pointschange": _points,
    "lead.changetags": _tags,
    "lead.changelist": _segments,
    "lead.addutmtags": _utm,
    "lead.removednc": _remove_dnc,
    "lead.scorecontactscompanies": _company_score,
    "form.repost": _repost,
    "email.send.lead": _send_email,
    "email.send.user": _send_to_users,
    "form.email": _email_results,
}


def repost_payload(*, session: Session, submission_id: int) -> tuple[str, dict[str, Any]] | None:
    """(URL, form fields) for a re-post action of a stored submission, or None if gone."""
    row = session.get(FormSubmission, submission_id)
    if row is None:
        return None
    for action in actions_of(session=session, form_id=row.form_id):
        if action.type == "form.repost" and rules.web_url((action.properties or {}).get("post_url")):
            data = {f"mauticform[{k}]": (", ".join(v) if isinstance(v, list) else v.get("filename") if isinstance(v, dict) else v)
                    for k, v in (row.values or {}).items()}
            return action.properties["post_url"], data
    return None


# ------------------------------------------------------------------ results


def _results_query(session: Session, form_id: int, search: str) -> sa.Select[FormSubmission]:
    q = sa.select(FormSubmission).where(col(FormSubmission.form_id) == form_id)
    term = search.strip().lower()
    if term:
        t = field_service.table(session=session)
        like = f"%{term.replace('%', '').replace('_', '')}%"
        q = q.outerjoin(t, t.c.id == FormSubmission.contact_id).where(sa.or_(
            sa.func.lower(sa.cast(FormSubmission.values, sa.String)).like(like),
            sa.func.lower(sa.func.coalesce(FormSubmission.ip_address, "")).like(like),
            sa.func.lower(sa.func.coalesce(t.c.email, "")).like(like),
        ))
    return q


def results(*, session: Session, form_id: int, search: str = "", start: int = 0, limit: int = 30) -> tuple[int, list[FormSubmission]]:
    q = _results_query(session, form_id, search)
    total = session.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar() or 0
    rows = session.execute(q.order_by(col(FormSubmission.date_submitted).desc(), col(FormSubmission.id).desc())
                           .offset(start).limit(limit)).scalars().all()
    return total, list(rows)


def submission(*, session: Session, form_id: int, submission_id: int) -> FormSubmission | None:
    row = session.get(FormSubmission, submission_id)
    return row if row is not None and row.form_id == form_id else None


def upload_folder(form_id: int) -> Path:
    """Where a form's uploaded files are kept, each under a random name (never one a visitor chose)."""
    return uploads_root() / str(int(form_id))


def uploads_root() -> Path:
    """Every file visitors uploaded: what ``MAUTIC_UPLOAD_QUOTA_MB`` counts."""
    return get_settings().data_dir / "form_uploads"


class UploadsFull(RuntimeError):
    """The installation's upload quota (``MAUTIC_UPLOAD_QUOTA_MB``) is reached."""


USAGE_SECONDS = 10.0  # files other servers keep count here within this; this process's own at once
_usage: dict[Path, tuple[float, int]] = {}  # uploads root → (when read from disk, bytes)
_usage_lock = threading.Lock()


def keep_upload(form_id: int, source: BinaryIO, filename: str, size: int) -> dict[str, Any]:
    """Copy a received file (already checked against its field) into the form's folder under a random
    name, whole or not at all; raises :class:`UploadsFull` when it would pass the installation's quota."""
    _count_upload(size)
    name = Path(filename or "file").name[:200]
    stored = f"{secrets.token_hex(12)}_{''.join(c for c in name if c.isascii() and (c.isalnum() or c in '._-'))[:100]}"
    path = upload_folder(form_id) / stored
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        source.seek(0)
        with open(path, "xb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
    except BaseException:
        path.unlink(missing_ok=True)
        _count_upload(-size)
        raise
    return {"filename": name, "size": size, "stored": stored}


def _count_upload(size: int) -> None:
    """Add a file to the uploads' total (a negative size takes one off), refusing one past the quota."""
    root = uploads_root()
    with _usage_lock:
        read_at, used = _usage.get(root, (0.0, 0))
        if time.monotonic() - read_at > USAGE_SECONDS:
            read_at, used = time.monotonic(), _size_on_disk(root)
        if size > 0 and used + size > get_settings().upload_quota_mb * 1024 * 1024:
            raise UploadsFull
        _usage[root] = (read_at, max(0, used + size))


def _size_on_disk(folder: Path) -> int:
    total = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.stat(os.path.join(parent, name)).st_size
            except FileNotFoundError:  # deleted while counting
                continue
    return total


def uploaded_file(*, session: Session, form_id: int, submission_id: int, alias: str) -> tuple[Path, str] | None:
    """(file on disk, the visitor's file name) of a submission's upload, or None."""
    row = submission(session=session, form_id=form_id, submission_id=submission_id)
    value = (row.values or {}).get(alias) if row is not None else None
    stored = _stored(value)
    if stored is None or not isinstance(value, dict):
        return None
    path = upload_folder(form_id) / stored
    return (path, str(value.get("filename") or stored)) if path.is_file() else None


def discard_uploads(form_id: int, values: dict[str, Any], *, keep: dict[str, Any] | None = None) -> None:
    """Delete the files of a post that was not kept (refused, caught by the honeypot, lost), or only
    those its stored values ``keep`` do not name (a field that keeps no result, or was removed since)."""
    kept = {_stored(v) for v in (keep or {}).values()}
    for value in values.values():
        stored = _stored(value)
        if stored is not None and stored not in kept:
            path = upload_folder(form_id) / stored
            try:
                size = path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue
            _count_upload(-size)


def _stored(value: Any) -> str | None:
    """The stored name of an upload's value, if it is one of ours."""
    stored = value.get("stored") if isinstance(value, dict) else None
    return stored if isinstance(stored, str) and _STORED_NAME.fullmatch(stored) else None


_STORED_NAME = re.compile(r"[0-9a-f]{24}_[\w.-]{0,100}")  # no separators: always a file of the form's own folder


def value_text(value: Any) -> str:
    """A stored value as plain text for lists and CSV (never HTML)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("filename") or "")
    return "" if value is None else str(value)


def export_csv(*, session: Session, form_id: int, search: str = "") -> Iterator[str]:
    """The results as CSV, in pages; cells a spreadsheet would run as formulas are quoted with an apostrophe."""
    fields = [f for f in fields_of(session=session, form_id=form_id) if f.kind.stores_value and f.save_result and f.type != "password"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Submission id", "Date submitted", "Contact id", "IP address", "Page", *[f.label for f in fields]])
    last_id = None
    while True:
        q = _results_query(session, form_id, search)
        if last_id is not None:
            q = q.where(FormSubmission.id < last_id)
        rows = session.execute(q.order_by(col(FormSubmission.id).desc()).limit(1000)).scalars().all()
        for r in rows:
            writer.writerow([_cell(v) for v in (r.id, r.date_submitted.isoformat(), r.contact_id or "", r.ip_address or "",
                                                r.page_url or "", *[value_text((r.values or {}).get(f.alias)) for f in fields])])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < 1000:
            return
        last_id = rows[-1].id


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# ------------------------------------------------------------------ reads for the REST API

FORM_SORTS = frozenset({"id", "name", "alias", "description", "date_added", "date_modified", "is_published", "form_type",
                        "publish_up", "publish_down"})
MAX_PAGE = 500


def search_forms(
    *, session: Session, search: str = "", start: int = 0, limit: int = 30, order_by: str = "name", direction: str = "asc",
    published_only: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """A page of forms with their submission counts, for the forms page and API lists.

    ``search`` is Mautic's list syntax: free text or ``name:`` (in the name or alias), ``ids:1,2``,
    ``!`` to negate; other commands raise :class:`SearchError`. ``order_by`` is one of FORM_SORTS;
    ``published_only`` keeps the forms live now (published, inside their publishing window).
    """
    conds: list[Any] = []
    for term in search_syntax.parse(search):
        cond: sa.ColumnElement[bool]
        if term.command == "ids":
            cond = col(Form.id).in_([int(i) for i in term.value.split(",")][:1000])
        elif term.command in (None, "name"):
            like = "%" + search_syntax.like_escape(term.value.lower()) + "%"
            cond = sa.or_(sa.func.lower(col(Form.name)).like(like, escape="\\"), sa.func.lower(col(Form.alias)).like(like, escape="\\"))
        else:
            raise search_syntax.SearchError(f"{term.command}: does not apply to forms; search text, name: or ids:.")
        conds.append(sa.not_(cond) if term.negate else cond)
    if published_only:
        now = utcnow()
        conds += [col(Form.is_published).is_(True), sa.or_(col(Form.publish_up).is_(None), col(Form.publish_up) <= now),
                  sa.or_(col(Form.publish_down).is_(None), col(Form.publish_down) > now)]
    column = getattr(Form, order_by if order_by in FORM_SORTS else "name")
    desc = str(direction).lower() == "desc"
    order = [column.desc(), col(Form.id).desc()] if desc else [column.asc(), col(Form.id).asc()]
    total = session.execute(sa.select(sa.func.count()).select_from(Form).where(*conds)).scalar() or 0
    rows = list(session.exec(select(Form).where(*conds).order_by(*order)
                             .offset(max(0, int(start))).limit(max(1, min(int(limit), MAX_PAGE)))).all())
    counts = dict(session.execute(
        sa.select(col(FormSubmission.form_id), sa.func.count()).where(col(FormSubmission.form_id).in_([f.id for f in rows]))
        .group_by(col(FormSubmission.form_id))).all()) if rows else {}
    return total, [{"form": f, "submissions": counts.get(f.id, 0)} for f in rows]


def submission_count(*, session: Session, form_id: int) -> int:
    return session.execute(sa.select(sa.func.count()).where(col(FormSubmission.form_id) == form_id)).scalar() or 0


def contact_results(
    *, session: Session, form_id: int, contact_id: int, start: int = 0, limit: int = 30,
) -> tuple[int, list[FormSubmission]]:
    """A page of one contact's submissions of one form, newest first, and how many there are."""
    where = (col(FormSubmission.form_id) == form_id, col(FormSubmission.contact_id) == contact_id)
    total = session.execute(sa.select(sa.func.count()).where(*where)).scalar() or 0
    rows = session.execute(sa.select(FormSubmission).where(*where)
                           .order_by(col(FormSubmission.date_submitted).desc(), col(FormSubmission.id).desc())
                           .offset(max(0, start)).limit(max(1, min(limit, MAX_PAGE)))).scalars().all()
    return total, list(rows)
