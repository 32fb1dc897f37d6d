"""E-mails as marketers keep them: list, save (checked), clone, delete, and each e-mail's statistics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from mautic_app import changefeed
from mautic_app.domain import email_content
from mautic_app.domain.email_message import RESERVED, HeaderError, check_header
from mautic_app.models import DoNotContact, Email, EmailBounce, EmailClick, EmailLink, EmailSegment, EmailStat, Segment
from mautic_app.models.base import table_of, utcnow

TYPES = {"template": "Template e-mail", "list": "Segment e-mail"}
UTM = ("utmSource", "utmMedium", "utmCampaign", "utmContent")


class EmailError(ValueError):
    def __init__(self, errors: dict[str, str], status: int = 400) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors, self.status = errors, status


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0%"


def list_emails(*, session: Session, search: str = "", start: int = 0, limit: int = 30) -> tuple[int, list[dict[str, Any]]]:
    """A page of e-mails, newest first, with sent / read / clicked counts; ``search`` matches the name,
    subject or category."""
    query = select(Email).where(col(Email.variant_parent_id).is_(None), col(Email.translation_parent_id).is_(None))
    if search.strip():
        like = f"%{search.strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(col(Email.name)).like(like), sa.func.lower(col(Email.subject)).like(like),
                                   sa.func.lower(col(Email.category)).like(like)))
    total = session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = session.exec(query.order_by(col(Email.id).desc()).offset(start).limit(limit)).all()
    return int(total), [{
        "id": e.id, "name": e.name, "subject": e.subject, "type": TYPES.get(e.email_type, e.email_type), "category": e.category,
        "published": e.is_published, "sent": e.sent_count, "read": e.read_count, "clicked": e.click_count,
        "read_rate": _rate(e.read_count, e.sent_count), "click_rate": _rate(e.click_count, e.sent_count),
    } for e in rows]


def get_email(*, session: Session, email_id: int) -> Email:
    email = session.get(Email, email_id)
    if email is None:
        raise EmailError({"id": "This e-mail does not exist (it may have been deleted)."}, status=404)
    return email


def segments_of(*, session: Session, email_id: int) -> tuple[list[int], list[int]]:
    rows = session.exec(select(EmailSegment).where(col(EmailSegment.email_id) == email_id)).all()
    return [r.segment_id for r in rows if not r.excluded], [r.segment_id for r in rows if r.excluded]


def segment_options(*, session: Session) -> list[dict[str, str]]:
    return [{"value": str(s.id), "label": s.name} for s in session.exec(select(Segment).order_by(col(Segment.name)))]


def _address(value: str, label: str, errors: dict[str, str], key: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        check_header(label, value)
        return validate_email(value, check_deliverability=False).normalized
    except (EmailNotValidError, HeaderError) as exc:
        errors[key] = f"{label} is not a valid e-mail address: {exc}"
        return value


def save_email(*, session: Session, email_id: int | None = None, values: dict[str, Any], segment_ids: list[int] | None = None,
               excluded_ids: list[int] | None = None, user_id: int | None = None) -> Email:
    """Create or change an e-mail. Its MJML is compiled (and CSS inlined) into the HTML that is sent; a
    compile error, an address that is not one, or a line break in a header value is a field error."""
    email = get_email(session=session, email_id=email_id) if email_id else Email(name="", created_by=user_id)
    errors: dict[str, str] = {}
    text = {k: str(values.get(k, getattr(email, k)) or "") for k in (
        "name", "subject", "preheader", "from_name", "plain_text", "category", "language", "content_mjml", "custom_html", "email_type")}
    text["name"] = text["name"].strip()
    if not text["name"]:
        errors["name"] = "A name is required."
    for key, label in (("name", "The name"), ("subject", "The subject"), ("from_name", "The sender's name"), ("preheader", "The preheader")):
        try:
            check_header(label, text[key])
        except HeaderError as exc:
            errors[key] = str(exc)
        if len(text[key]) > 191:
            errors[key] = "Keep it under 191 characters."
    if text["email_type"] not in TYPES:
        errors["email_type"] = "Choose a template or a segment e-mail."
    addresses = {key: _address(str(values.get(key, getattr(email, key)) or ""), label, errors, key) for key, label in (
        ("from_address", "The sender's address"), ("reply_to", "The reply-to address"), ("bcc", "The bcc address"))}
    headers: dict[str, str] = {}
    for name, value in dict(values.get("headers", email.headers) or {}).items():
        name = str(name).strip()
        if not name:
            continue
        try:
            check_header("A header name", name)
            check_header(f"The header {name}", str(value))
        except HeaderError as exc:
            errors["headers"] = str(exc)
            continue
        if ":" in name or " " in name or not name.isascii():
            errors["headers"] = f"{name!r} is not a header name."
        elif name.lower() in RESERVED:
            errors["headers"] = f"{name} is set by the e-mail itself."
        headers[name] = str(value)
    utm = {k: str(v).strip() for k, v in dict(values.get("utm_tags", email.utm_tags) or {}).items() if k in UTM and str(v).strip()}
    html = text["custom_html"]
    if text["content_mjml"].strip():
        try:
            html = email_content.finish_html(email_content.compile_mjml(text["content_mjml"]))
        except email_content.ContentError as exc:
            errors["content"] = f"The MJML does not compile: {exc}"
    elif html.strip():
        try:
            html = email_content.finish_html(html)
        except email_content.ContentError as exc:
            errors["content"] = str(exc)
    publish_up, publish_down = values.get("publish_up", email.publish_up), values.get("publish_down", email.publish_down)
    if isinstance(publish_up, datetime) and isinstance(publish_down, datetime) and publish_down <= publish_up:
        errors["publish_down"] = "Unpublishing comes after publishing."
    included = list(segment_ids) if segment_ids is not None else segments_of(session=session, email_id=email.id or 0)[0]
    excluded = list(excluded_ids) if excluded_ids is not None else segments_of(session=session, email_id=email.id or 0)[1]
    version = bool(email.variant_parent_id or email.translation_parent_id)  # goes to its main e-mail's segments
    if text["email_type"] == "list" and not included and not version:
        errors["segments"] = "A segment e-mail goes to at least one segment."
    if set(included) & set(excluded):
        errors["segments"] = "A segment cannot be both chosen and excluded."
    known = set(session.exec(select(Segment.id).where(col(Segment.id).in_(included + excluded))).all())
    if (set(included) | set(excluded)) - known:
        errors["segments"] = "Some of these segments no longer exist."
    if errors:
        raise EmailError(errors)
    for key in ("name", "subject", "preheader", "from_name", "plain_text", "category", "content_mjml", "email_type"):
        setattr(email, key, text[key])
    email.language = text["language"] or "en"
    email.custom_html = html
    for key, value in addresses.items():
        setattr(email, key, value)
    email.headers, email.utm_tags = headers, utm
    email.use_owner_as_sender = bool(values.get("use_owner_as_sender", email.use_owner_as_sender))
    email.is_published = bool(values.get("is_published", email.is_published))
    email.publish_up, email.publish_down = publish_up, publish_down
    email.template = str(values.get("template", email.template) or "")[:64]
    if email_id:
        email.date_modified = utcnow()
    session.add(email)
    session.flush()
    assert email.id is not None
    for row in session.exec(select(EmailSegment).where(col(EmailSegment.email_id) == email.id)).all():
        session.delete(row)
    session.flush()
    if email.email_type == "list":
        session.add_all([EmailSegment(email_id=email.id, segment_id=s) for s in included]
                        + [EmailSegment(email_id=email.id, segment_id=s, excluded=True) for s in excluded])
    changefeed.publish_after_commit(session, "emails", {"id": email.id})
    return email


def clone_email(*, session: Session, email_id: int, user_id: int | None = None) -> Email:
    """A copy, named "Copy of ...", unpublished, with its segments and none of its statistics."""
    original = get_email(session=session, email_id=email_id)
    keep = {k: v for k, v in original.model_dump().items() if k not in (
        "id", "sent_count", "read_count", "click_count", "date_added", "date_modified", "variant_start_date", "created_by")}
    copy = Email(**keep | {"name": f"Copy of {original.name}"[:191], "is_published": False, "created_by": user_id})
    session.add(copy)
    session.flush()
    assert copy.id is not None
    for row in session.exec(select(EmailSegment).where(col(EmailSegment.email_id) == email_id)).all():
        session.add(EmailSegment(email_id=copy.id, segment_id=row.segment_id, excluded=row.excluded))
    changefeed.publish_after_commit(session, "emails", {"id": copy.id})
    return copy


def delete_email(*, session: Session, email_id: int) -> None:
    email = get_email(session=session, email_id=email_id)
    session.delete(email)
    changefeed.publish_after_commit(session, "emails", {"id": email_id, "deleted": True})


def stats(*, session: Session, email_id: int, days: int = 30) -> dict[str, Any]:
    """Totals (sent, read, clicked, unsubscribed, bounced, failed), each link's clicks, and sent / opened /
    clicked per day over the last ``days``."""
    email = get_email(session=session, email_id=email_id)
    s = table_of(EmailStat)
    by_status = dict(session.execute(sa.select(s.c.status, sa.func.count()).where(s.c.email_id == email_id).group_by(s.c.status)).all())
    unsubscribed = session.execute(sa.select(sa.func.count()).select_from(DoNotContact).where(
        col(DoNotContact.channel_id) == email_id, col(DoNotContact.channel) == "email", col(DoNotContact.reason) == 1)).scalar_one()
    bounced = session.execute(sa.select(sa.func.count()).select_from(EmailBounce).join(EmailStat, col(EmailStat.id) == col(EmailBounce.stat_id))
                              .where(col(EmailStat.email_id) == email_id)).scalar_one()
    links = [{"url": link.url, "hits": link.hits, "unique": link.unique_hits}
             for link in session.exec(select(EmailLink).where(col(EmailLink.email_id) == email_id).order_by(col(EmailLink.hits).desc()))]
    since = utcnow() - timedelta(days=days)

    def per_day(column: Any, *where: Any) -> dict[str, int]:
        day = sa.func.date(column)
        rows = session.execute(sa.select(day, sa.func.count()).where(column >= since, *where).group_by(day)).all()
        return {str(d): int(n) for d, n in rows}

    clicks = table_of(EmailClick)
    link_ids = sa.select(table_of(EmailLink).c.id).where(table_of(EmailLink).c.email_id == email_id)
    return {
        "sent": email.sent_count, "read": email.read_count, "clicked": email.click_count,
        "read_rate": _rate(email.read_count, email.sent_count), "click_rate": _rate(email.click_count, email.sent_count),
        "failed": int(by_status.get("failed", 0)), "unknown": int(by_status.get("unknown", 0)), "skipped": int(by_status.get("skipped", 0)),
        "unsubscribed": int(unsubscribed), "bounced": int(bounced), "links": links,
        "series": {"sent": per_day(s.c.date_sent, s.c.email_id == email_id, s.c.status == "sent"),
                   "opened": per_day(s.c.date_read, s.c.email_id == email_id),
                   "clicked": per_day(clicks.c.date_added, clicks.c.link_id.in_(link_ids))},
    }


STATUS_LABELS = {"queued": "Queued", "reserved": "Queued", "sending": "Sending", "sent": "Sent", "failed": "Failed", "unknown": "Delivery unknown",
                 "skipped": "Not sent"}


def sent_to_contact(*, session: Session, contact_id: int, limit: int = 10) -> list[dict[str, Any]]:
    """The newest messages to a contact, with whether each was opened and clicked."""
    clicks = table_of(EmailClick)
    rows = session.execute(
        sa.select(EmailStat, col(Email.name), sa.select(sa.func.count()).where(clicks.c.stat_id == col(EmailStat.id)).scalar_subquery())
        .join(Email, col(Email.id) == col(EmailStat.email_id)).where(col(EmailStat.contact_id) == contact_id)
        .order_by(col(EmailStat.id).desc()).limit(limit)
    ).all()
    return [{"email_id": stat.email_id, "name": name, "status": STATUS_LABELS.get(stat.status, stat.status), "error": stat.error,
             "date": stat.date_sent or stat.date_added, "opened": stat.open_count, "clicked": int(clicked or 0)}
            for stat, name, clicked in rows]
