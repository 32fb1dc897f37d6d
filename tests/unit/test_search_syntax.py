"""Mautic's list search syntax."""

from __future__ import annotations

import pytest

from mautic_app.domain.search import SearchError, Term, identified_unless_asked, like_escape, parse


def test_free_text_and_commands():
    assert parse('john email:ada@ tag:"vip customer" !is:anonymous') == [
        Term(None, "john"),
        Term("email", "ada@"),
        Term("tag", "vip customer"),
        Term("is", "anonymous", negate=True),
    ]


def test_ids_and_unknown_prefix_is_text():
    assert parse("ids:1,2, 3") == [Term("ids", "1,2"), Term(None, "3")]
    assert parse("http://x") == [Term(None, "http://x")]


def test_invalid_values_are_errors():
    with pytest.raises(SearchError):
        parse("is:whatever")
    with pytest.raises(SearchError):
        parse("ids:1,x")


def test_unbalanced_quotes_do_not_fail():
    assert parse('tag:"vip') == [Term("tag", "vip")]


def test_like_wildcards_escaped():
    assert like_escape("50%_off\\") == "50\\%\\_off\\\\"


@pytest.mark.parametrize(("query", "listed"), [
    ("", "is:identified"),
    ("tag:vip jane", "is:identified tag:vip jane"),
    ("is:anonymous", "is:anonymous"),
    ("!is:identified", "!is:identified"),
    ("is:mine", "is:identified is:mine"),
    ("ids:4,5", "ids:4,5"),
    ("import_id:7", "import_id:7"),
    ("is:nonsense", "is:nonsense"),  # left for the list to report
])
def test_the_list_shows_identified_contacts_unless_asked_otherwise(query, listed):
    assert identified_unless_asked(query) == listed


def test_an_import_is_named_by_its_number():
    assert parse("import_id:12") == [Term("import_id", "12")]
    with pytest.raises(SearchError):
        parse("import_id:latest")
