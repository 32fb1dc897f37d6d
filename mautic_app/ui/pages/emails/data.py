"""Between the e-mail page and the services: the draft as the form holds it (strings), and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import plotly.graph_objects as go
from sqlmodel import func, select

from mautic_app.db import session_scope
from mautic_app.domain import email_templates
from mautic_app.models import Contact
from mautic_app.services import email_sends, email_variants, emails
from mautic_app.ui.components.widgets import when_input

UTM = {"utm_source": "utmSource", "utm_medium": "utmMedium", "utm_campaign": "utmCampaign", "utm_content": "utmContent"}
TEXT_KEYS = ("name", "subject", "preheader", "from_address", "from_name", "reply_to", "bcc", "email_type", "plain_text", "category",
             "language", "content_format", "content", "headers", "publish_up", "publish_down", *UTM)
FLAG_KEYS = ("use_owner_as_sender", "is_published")


def blank(template: str = "newsletter") -> dict[str, str]:
    draft = dict.fromkeys(TEXT_KEYS, "") | dict.fromkeys(FLAG_KEYS, "")
    return draft | {"email_type": "template", "language": "en", "content_format": "mjml", "is_published": "1",
                    "content": email_templates.source(template)}


def read(email_id: int) -> tuple[dict[str, str], list[str], list[str]] | None:
    with session_scope() as session:
        try:
            e = emails.get_email(session=session, email_id=email_id)
        except emails.EmailError:
            return None
        included, excluded = emails.segments_of(session=session, email_id=email_id)
        draft = {k: str(getattr(e, k) or "") for k in ("name", "subject", "preheader", "from_address", "from_name", "reply_to", "bcc",
                                                         "email_type", "plain_text", "category", "language")}
        draft |= {"content_format": "mjml" if e.content_mjml.strip() else "html", "content": e.content_mjml or e.custom_html,
                  "headers": "\n".join(f"{k}: {v}" for k, v in (e.headers or {}).items()),
                  "publish_up": when_input(e.publish_up), "publish_down": when_input(e.publish_down),
                  "use_owner_as_sender": "1" if e.use_owner_as_sender else "", "is_published": "1" if e.is_published else ""}
        draft |= {k: str((e.utm_tags or {}).get(v, "")) for k, v in UTM.items()}
        return draft, [str(i) for i in included], [str(i) for i in excluded]


def _when(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def values(draft: dict[str, str]) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for line in draft.get("headers", "").splitlines():
        name, _, value = line.partition(":")
        if name.strip():
            headers[name.strip()] = value.strip()
    mjml = draft.get("content_format") == "mjml"
    return {
        **{k: draft.get(k, "") for k in ("name", "subject", "preheader", "from_address", "from_name", "reply_to", "bcc", "email_type",
                                         "plain_text", "category", "language")},
        "content_mjml": draft.get("content", "") if mjml else "", "custom_html": "" if mjml else draft.get("content", ""),
        "headers": headers, "utm_tags": {v: draft.get(k, "") for k, v in UTM.items()},
        "use_owner_as_sender": draft.get("use_owner_as_sender") == "1", "is_published": draft.get("is_published") == "1",
        "publish_up": _when(draft.get("publish_up", "")), "publish_down": _when(draft.get("publish_down", "")),
    }


def save(email_id: int | None, draft: dict[str, str], included: list[str], excluded: list[str], user_id: int | None) -> int:
    with session_scope() as session:
        e = emails.save_email(session=session, email_id=email_id, values=values(draft), user_id=user_id,
                              segment_ids=[int(i) for i in included], excluded_ids=[int(i) for i in excluded])
        assert e.id is not None
        return e.id


def segment_choices() -> list[dict[str, str]]:
    with session_scope() as session:
        return emails.segment_options(session=session)


def contact_by_address(address: str) -> int | None:
    with session_scope() as session:
        found = session.exec(select(Contact.id).where(func.lower(Contact.email) == address.strip().lower())).first()
        return int(found) if found is not None else None


def preview(draft: dict[str, str], contact_id: int | None) -> dict[str, str]:
    """The draft as a contact (or a sample one) would get it, whether saved or not."""
    with session_scope() as session:
        return email_sends.render_draft(session=session, subject=draft.get("subject", ""), source=draft.get("content", ""),
                                        mjml=draft.get("content_format") == "mjml", plain=draft.get("plain_text", ""),
                                        from_name=draft.get("from_name", ""), contact_id=contact_id)


def stats(email_id: int) -> dict[str, Any]:
    with session_scope() as session:
        found = emails.stats(session=session, email_id=email_id)
        found["send"] = email_sends.latest_send(session=session, email_id=email_id)
        found["pending"] = email_sends.pending_count(session=session, email_id=email_id)
        found["versions"] = email_variants.overview(session=session, email_id=email_id)
        return found


GRID = {"gridcolor": "rgba(128,128,128,0.2)", "rangemode": "tozero"}


def figure(series: dict[str, dict[str, int]]) -> go.Figure:
    names = {"sent": "Sent", "opened": "Opened", "clicked": "Clicked"}
    days = sorted({d for rows in series.values() for d in rows})
    fig = go.Figure([go.Bar(x=days, y=[rows.get(d, 0) for d in days], name=names[kind]) for kind, rows in series.items()])
    fig.update_layout({"margin": {"l": 40, "r": 10, "t": 10, "b": 40}, "height": 280, "paper_bgcolor": "rgba(0,0,0,0)",
                       "plot_bgcolor": "rgba(0,0,0,0)", "font": {"color": "#888"}, "yaxis": GRID, "barmode": "group",
                       "legend": {"orientation": "h", "y": -0.25}})
    return fig


def add_variant(email_id: int, user_id: int | None) -> int:
    with session_scope() as session:
        variant = email_variants.add_variant(session=session, email_id=email_id, user_id=user_id)
        assert variant.id is not None
        return variant.id


def add_translation(email_id: int, language: str, user_id: int | None) -> int:
    with session_scope() as session:
        translation = email_variants.add_translation(session=session, email_id=email_id, language=language, user_id=user_id)
        assert translation.id is not None
        return translation.id


def save_test(email_id: int, settings: dict[str, str], weights: dict[str, str]) -> None:
    with session_scope() as session:
        email_variants.save_settings(session=session, email_id=email_id, values=settings,
                                     weights={int(k): v for k, v in weights.items() if k.isdigit()})
