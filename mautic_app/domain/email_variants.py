"""A/B tests and translations of an e-mail: which version a contact gets, and which version won.

A segment e-mail with variants sends a test first: a share of its audience (``test_percent``), picked
evenly across contact ids, split between the e-mail and its variants by their weights. Once the test has
run for ``winner_after_hours``, the version with the best open or click rate is the winner and goes to the
rest. A contact whose preferred locale matches a translation gets the translation of the version picked.
Everything here is pure and deterministic: a contact always lands in the same bucket, so a broadcast that
resumes after a crash sends each contact the version it would have got anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CRITERIA = {"open_rate": "Open rate", "click_rate": "Click rate"}
DEFAULTS: dict[str, Any] = {"test_percent": 20, "criterion": "open_rate", "winner_after_hours": 4}
BUCKETS = 10_000
SPREAD = 2654435761  # Knuth's multiplicative hash: neighbouring ids land far apart


class VariantSettingsError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def bucket(contact_id: int) -> int:
    """The contact's place in [0, BUCKETS): the same every time, spread evenly over ids."""
    return (contact_id * SPREAD) % 2**32 % BUCKETS



def pick_variant(contact_id: int, weights: Sequence[tuple[int, int]]) -> int:
    """The e-mail id a test contact gets, by the versions' weights (``(email id, weight)``, parent first)."""
    live = [(email_id, max(0, weight)) for email_id, weight in weights]
    total = sum(w for _, w in live)
    if total <= 0:
        return live[0][0]
    point = bucket(contact_id) * total / BUCKETS
    for email_id, weight in live:
        if point < weight:
            return email_id
        point -= weight
    return live[-1][0]


def test_size(audience: int, percent: int) -> int:
    """How many contacts the test goes to (at least one per started share)."""
    return audience if percent >= 100 else math.ceil(audience * max(0, percent) / 100)


@dataclass(frozen=True)
class Result:
    email_id: int
    sent: int
    read: int
    clicked: int

    def rate(self, criterion: str) -> float:
        if not self.sent:
            return 0.0
        return (self.clicked if criterion == "click_rate" else self.read) / self.sent


def winner(results: Sequence[Result], criterion: str) -> int | None:
    """The version with the best rate; a tie goes to the earlier one (the parent first); None before any was sent."""
    sent = [r for r in results if r.sent]
    if not sent:
        return None
    return max(sent, key=lambda r: (r.rate(criterion), -results.index(r))).email_id


def normalise_locale(value: str | None) -> str:
    return (value or "").strip().replace("-", "_").lower()


def pick_translation(locale: str | None, translations: Mapping[str, int], default: int) -> int:
    """The translation for a contact's preferred locale (``fr_CA`` takes ``fr_ca``, then ``fr``), else ``default``."""
    wanted = normalise_locale(locale)
    if not wanted:
        return default
    by_language = {normalise_locale(lang): email_id for lang, email_id in translations.items()}
    return by_language.get(wanted) or by_language.get(wanted.partition("_")[0]) or default


def clean_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The A/B settings a marketer gave, checked: share of the audience, criterion, hours."""
    errors: dict[str, str] = {}
    out = dict(DEFAULTS)
    try:
        out["test_percent"] = int(values.get("test_percent", DEFAULTS["test_percent"]))
        if not 1 <= out["test_percent"] <= 100:
            raise ValueError
    except (TypeError, ValueError):
        errors["test_percent"] = "Test on 1 to 100 percent of the audience."
    criterion = str(values.get("criterion", DEFAULTS["criterion"]))
    if criterion not in CRITERIA:
        errors["criterion"] = "Choose open rate or click rate."
    out["criterion"] = criterion
    try:
        out["winner_after_hours"] = float(values.get("winner_after_hours", DEFAULTS["winner_after_hours"]))
        if not 0 <= out["winner_after_hours"] <= 24 * 30:
            raise ValueError
    except (TypeError, ValueError):
        errors["winner_after_hours"] = "Choose the winner after 0 to 720 hours."
    if errors:
        raise VariantSettingsError(errors)
    return out


@dataclass(frozen=True)
class Plan:
    """Which versions of an e-mail a send chooses from: ``weights`` (parent first; empty without variants),
    the winner once chosen, and each version's translations by language."""

    parent_id: int
    weights: tuple[tuple[int, int], ...] = ()
    settings: Mapping[str, Any] | None = None
    winner_id: int | None = None
    translations: Mapping[int, Mapping[str, int]] | None = None

    @property
    def testing(self) -> bool:
        """An A/B test is under way: versions are picked by weight, and only the test's share is sent."""
        return len(self.weights) > 1 and self.winner_id is None

    @property
    def test_percent(self) -> int:
        return int((self.settings or DEFAULTS).get("test_percent", DEFAULTS["test_percent"]))

    def version_for(self, contact_id: int, locale: str | None) -> int:
        base = self.winner_id or (pick_variant(contact_id, self.weights) if self.testing else self.parent_id)
        return pick_translation(locale, (self.translations or {}).get(base, {}), base)

    def email_ids(self) -> list[int]:
        """Every version a message of this send may be made from."""
        bases = [self.winner_id] if self.winner_id else [e for e, _ in self.weights] or [self.parent_id]
        return [*bases, *[t for b in bases for t in (self.translations or {}).get(b, {}).values()]]
