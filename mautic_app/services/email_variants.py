"""A/B tests and translations of e-mails: adding versions, their settings, the plan a send follows, and
choosing the winner (see ``domain.email_variants`` for the rules)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import changefeed
from mautic_app.domain import email_variants as rules
from mautic_app.models import Email, EmailClick, EmailStat
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import emails

LETTERS = "BCDEFGHIJKLMNOPQRSTUVWXYZ"
LANGUAGE_MAX = 16


def _parent(session: Session, email_id: int) -> Email:
    email = emails.get_email(session=session, email_id=email_id)
    if email.variant_parent_id or email.translation_parent_id:
        raise emails.EmailError({"id": "Add versions to the main e-mail, not to one of its variants or translations."})
    return email


def _copy(session: Session, original: Email, **changes: Any) -> Email:
    keep = {k: v for k, v in original.model_dump().items() if k not in (
        "id", "sent_count", "read_count", "click_count", "date_added", "date_modified", "variant_start_date", "variant_settings",
        "variant_weight", "created_by")}
    copy = Email(**keep | changes)
    session.add(copy)
    session.flush()
    changefeed.publish_after_commit(session, "emails", {"id": original.id})
    return copy


def add_variant(*, session: Session, email_id: int, user_id: int | None = None) -> Email:
    """A copy of the e-mail to change and test against it; every version starts with an equal weight."""
    parent = _parent(session, email_id)
    if parent.email_type != "list":
        raise emails.EmailError({"id": "A/B tests are for segment e-mails."})
    variants = _variants(session, email_id)
    if len(variants) >= len(LETTERS):
        raise emails.EmailError({"id": "That is as many variants as one test can take."})
    if not parent.variant_weight:
        parent.variant_weight = 50
        parent.variant_settings = rules.DEFAULTS | dict(parent.variant_settings or {})
        session.add(parent)
    letter = LETTERS[len(variants)]
    return _copy(session, parent, name=f"{parent.name} ({letter})"[:191], variant_parent_id=email_id, variant_weight=50,
                 created_by=user_id)


def add_translation(*, session: Session, email_id: int, language: str, user_id: int | None = None) -> Email:
    """A copy of the e-mail in another language, sent instead of it to contacts who prefer that language."""
    parent = emails.get_email(session=session, email_id=email_id)
    if parent.translation_parent_id:
        raise emails.EmailError({"language": "Translate the main e-mail, not one of its translations."})
    language = rules.normalise_locale(language)
    if not language or len(language) > LANGUAGE_MAX or not language.replace("_", "").isalpha():
        raise emails.EmailError({"language": "Give a language code such as fr or pt_br."})
    taken = {rules.normalise_locale(parent.language)} | {rules.normalise_locale(t.language) for t in _translations(session, email_id)}
    if language in taken:
        raise emails.EmailError({"language": f"There is already a version in {language}."})
    return _copy(session, parent, name=f"{parent.name} [{language}]"[:191], language=language, translation_parent_id=email_id,
                 variant_parent_id=None, created_by=user_id)


def _variants(session: Session, email_id: int) -> list[Email]:
    return list(session.exec(select(Email).where(col(Email.variant_parent_id) == email_id).order_by(col(Email.id))))


def _translations(session: Session, email_id: int) -> list[Email]:
    return list(session.exec(select(Email).where(col(Email.translation_parent_id) == email_id).order_by(col(Email.id))))


def save_settings(*, session: Session, email_id: int, values: dict[str, Any], weights: dict[int, Any]) -> dict[str, Any]:
    """The test's settings on the main e-mail, and each version's weight (0 leaves a version out)."""
    parent = _parent(session, email_id)
    try:
        settings = rules.clean_settings(values)
    except rules.VariantSettingsError as exc:
        raise emails.EmailError(exc.errors) from exc
    versions = {parent.id: parent, **{v.id: v for v in _variants(session, email_id)}}
    errors = {}
    for version_id, weight in weights.items():
        try:
            value = int(weight)
            if not 0 <= value <= 100 or version_id not in versions:
                raise ValueError
        except (TypeError, ValueError):
            errors[f"weight_{version_id}"] = "A weight is a whole number from 0 to 100."
            continue
        versions[version_id].variant_weight = value
        session.add(versions[version_id])
    if errors:
        raise emails.EmailError(errors)
    if sum(v.variant_weight for v in versions.values()) <= 0:
        raise emails.EmailError({"weights": "Give at least one version a weight."})
    parent.variant_settings = {**(parent.variant_settings or {}), **settings}
    session.add(parent)
    changefeed.publish_after_commit(session, "emails", {"id": email_id})
    return settings


def plan(*, session: Session, email: Email) -> rules.Plan:
    """What a send of ``email`` chooses from: its published variants by weight (or the winner), and translations."""
    assert email.id is not None
    settings = dict(email.variant_settings or {})
    variants = [v for v in _variants(session, email.id) if v.is_published and v.variant_weight > 0]
    weights = ((email.id, email.variant_weight), *((v.id, v.variant_weight) for v in variants)) if variants else ()
    versions = [email.id, *(v.id for v in variants)]
    winner = next((v for v in versions if v is not None and v == settings.get("winner_id")), None)
    translations: dict[int, dict[str, int]] = {}
    for t in session.exec(select(Email).where(col(Email.translation_parent_id).in_(versions), col(Email.is_published).is_(True))):
        assert t.translation_parent_id is not None and t.id is not None
        translations.setdefault(t.translation_parent_id, {})[t.language] = t.id
    return rules.Plan(parent_id=email.id, weights=tuple((i, w) for i, w in weights if i is not None), settings=settings,
                      winner_id=winner, translations=translations)


def sample_order(id_column: Any) -> Any:
    """:func:`rules.bucket`'s spread as SQL, to order contacts by: an A/B test's share is an even sample of ids."""
    big = sa.BigInteger()
    return (sa.cast(id_column, big) * sa.literal(rules.SPREAD, big)) % sa.literal(2**32, big)


def family(*, session: Session, email_id: int) -> list[int]:
    """The e-mail and all its versions: a contact who had any of them has had the e-mail."""
    ids = [email_id, *(v.id for v in _variants(session, email_id))]
    ids += list(session.execute(sa.select(col(Email.id)).where(col(Email.translation_parent_id).in_(ids))).scalars())
    return [i for i in ids if i is not None]


def results(*, session: Session, version_ids: list[int]) -> list[rules.Result]:
    """Each version's sent, read and clicked messages, its translations counted with it."""
    stats = table_of(EmailStat)
    parent_of = dict(session.execute(sa.select(col(Email.id), col(Email.translation_parent_id))
                                     .where(col(Email.translation_parent_id).in_(version_ids))).tuples().all())
    totals = {v: [0, 0, 0] for v in version_ids}
    rows = session.execute(sa.select(stats.c.email_id, sa.func.count(), sa.func.sum(sa.case((stats.c.is_read.is_(True), 1), else_=0)))
                           .where(stats.c.email_id.in_([*version_ids, *parent_of]), stats.c.status == "sent").group_by(stats.c.email_id))
    for email_id, sent, read in rows:
        key = parent_of.get(email_id, email_id)
        totals[key][0] += int(sent)
        totals[key][1] += int(read or 0)
    c = table_of(EmailClick)
    clicked = session.execute(sa.select(stats.c.email_id, sa.func.count(sa.distinct(c.c.stat_id))).join(stats, stats.c.id == c.c.stat_id)
                              .where(stats.c.email_id.in_([*version_ids, *parent_of])).group_by(stats.c.email_id))
    for email_id, n in clicked:
        totals[parent_of.get(email_id, email_id)][2] += int(n)
    return [rules.Result(v, *totals[v]) for v in version_ids]


def winner_due_at(email: Email) -> Any:
    """When the test's winner is chosen: the test's start plus its hours."""
    hours = float((email.variant_settings or {}).get("winner_after_hours", rules.DEFAULTS["winner_after_hours"]))
    return (email.variant_start_date or utcnow()) + timedelta(hours=hours)


def choose_winner(*, session: Session, email_id: int) -> int | None:
    """Pick the winner by the test's criterion and keep it on the main e-mail; None before any version was sent."""
    parent = emails.get_email(session=session, email_id=email_id)
    current = plan(session=session, email=parent)
    if not current.weights:
        return None
    settings = dict(parent.variant_settings or {})
    best = rules.winner(results(session=session, version_ids=[e for e, _ in current.weights]), str(settings.get("criterion", "open_rate")))
    if best is None:
        return None
    parent.variant_settings = settings | {"winner_id": best, "winner_at": utcnow().isoformat()}
    session.add(parent)
    changefeed.publish_after_commit(session, f"email:{email_id}", {"activity": "winner"})
    return best


def overview(*, session: Session, email_id: int) -> dict[str, Any]:
    """The main e-mail's versions with their weights and rates (only when it has variants: the rates read its
    ledger), its test settings and winner, its translations."""
    email = emails.get_email(session=session, email_id=email_id)
    parent_id = email.variant_parent_id or email.translation_parent_id or email_id
    parent = emails.get_email(session=session, email_id=parent_id)
    variants = _variants(session, parent_id)
    settings = rules.DEFAULTS | dict(parent.variant_settings or {})
    versions = [v for v in (parent, *variants) if v.id is not None] if variants else []
    found = {r.email_id: r for r in results(session=session, version_ids=[v.id for v in versions if v.id is not None])} if versions else {}
    return {
        "parent_id": parent_id, "parent_name": parent.name,
        "kind": "variant" if email.variant_parent_id else "translation" if email.translation_parent_id else "",
        "settings": settings, "winner_id": settings.get("winner_id"),
        "versions": [{"id": v.id, "name": v.name, "subject": v.subject, "weight": v.variant_weight, "sent": found[v.id].sent,
                      "read_rate": f"{100 * found[v.id].rate('open_rate'):.1f}%", "click_rate": f"{100 * found[v.id].rate('click_rate'):.1f}%"}
                     for v in versions if v.id is not None],
        "translations": [{"id": t.id, "name": t.name, "language": t.language} for t in _translations(session, parent_id)],
    }
