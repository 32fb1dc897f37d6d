"""Which version of an e-mail a contact gets (A/B weights, the winner, translations), and which version won."""

from __future__ import annotations

from collections import Counter

import pytest

from mautic_app.domain import email_variants as rules


def test_weights_split_the_test_evenly_and_each_contact_always_gets_the_same_version():
    got = Counter(rules.pick_variant(cid, [(1, 50), (2, 50)]) for cid in range(1, 10_001))
    assert abs(got[1] - 5000) < 300 and got[1] + got[2] == 10_000
    got = Counter(rules.pick_variant(cid, [(1, 20), (2, 60), (3, 20)]) for cid in range(1, 10_001))
    assert abs(got[2] - 6000) < 300 and abs(got[1] - 2000) < 300
    assert all(rules.pick_variant(cid, [(1, 30), (2, 70)]) == rules.pick_variant(cid, [(1, 30), (2, 70)]) for cid in range(500))
    assert {rules.pick_variant(cid, [(1, 0), (2, 5)]) for cid in range(500)} == {2}  # weight 0: left out
    assert rules.pick_variant(7, [(1, 0), (2, 0)]) == 1


def test_the_test_size_and_the_winner():
    assert (rules.test_size(1000, 20), rules.test_size(3, 50), rules.test_size(7, 100)) == (200, 2, 7)
    results = [rules.Result(1, 100, 20, 5), rules.Result(2, 100, 30, 2), rules.Result(3, 0, 0, 0)]
    assert rules.winner(results, "open_rate") == 2 and rules.winner(results, "click_rate") == 1
    assert rules.winner([rules.Result(1, 10, 1, 0), rules.Result(2, 10, 1, 0)], "open_rate") == 1  # a tie: the parent
    assert rules.winner([rules.Result(1, 0, 0, 0)], "open_rate") is None


def test_translations_follow_the_preferred_locale():
    found = {"fr": 11, "pt_BR": 12}
    assert [rules.pick_translation(loc, found, 1) for loc in ("fr_FR", "FR", "pt-br", "pt_PT", "de", "", None)] == [11, 11, 12, 1, 1, 1, 1]


def test_the_plan_picks_the_version_then_its_translation():
    plan = rules.Plan(parent_id=1, weights=((1, 50), (2, 50)), settings={"test_percent": 30}, translations={2: {"fr": 20}, 1: {"fr": 10}})
    assert plan.testing and plan.test_percent == 30 and set(plan.email_ids()) == {1, 2, 10, 20}
    for cid in range(1, 50):
        base = rules.pick_variant(cid, plan.weights)
        assert plan.version_for(cid, "fr_CA") == {1: 10, 2: 20}[base] and plan.version_for(cid, None) == base
    won = rules.Plan(parent_id=1, weights=((1, 50), (2, 50)), winner_id=2, translations={2: {"fr": 20}})
    assert not won.testing and won.email_ids() == [2, 20] and won.version_for(5, "fr") == 20 and won.version_for(5, "en") == 2
    assert rules.Plan(parent_id=1).email_ids() == [1] and not rules.Plan(parent_id=1).testing


def test_settings_are_checked():
    assert rules.clean_settings({"test_percent": "25", "criterion": "click_rate", "winner_after_hours": "1.5"}) == {
        "test_percent": 25, "criterion": "click_rate", "winner_after_hours": 1.5}
    with pytest.raises(rules.VariantSettingsError) as err:
        rules.clean_settings({"test_percent": 0, "criterion": "bounce", "winner_after_hours": "soon"})
    assert set(err.value.errors) == {"test_percent", "criterion", "winner_after_hours"}
