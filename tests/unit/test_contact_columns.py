"""The contacts list's column chooser: a column turned on takes its place, the others stay put."""

from __future__ import annotations

from mautic_app.ui.pages.contacts.data import place_column

CATALOGUE = ["email", "company", "city", "country", "points", "stage", "last_active", "id"]


def test_a_column_turned_on_goes_before_the_first_that_follows_it():
    assert place_column(["email", "country", "stage", "points", "id"], "city", CATALOGUE) == [
        "email", "city", "country", "stage", "points", "id"]  # stage and points keep the marketer's order


def test_a_column_goes_last_when_none_follows_it_and_first_when_all_do():
    assert place_column(["email", "company"], "id", CATALOGUE) == ["email", "company", "id"]
    assert place_column(["country", "id"], "email", CATALOGUE) == ["email", "country", "id"]
    assert place_column([], "points", CATALOGUE) == ["points"]
