"""Field value validation and normalisation per type."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mautic_app.domain.fields import (
    CORE_CONTACT_FIELDS,
    FieldSpec,
    FieldValueError,
    alias_from_label,
    is_anonymous,
    normalize_value,
    validate_alias,
)


def spec(type_: str, **kw) -> FieldSpec:
    return FieldSpec(alias="f", label="F", type=type_, **kw)


@pytest.mark.parametrize(
    ("type_", "raw", "expected"),
    [
        ("text", "  hello ", "hello"),
        ("text", "", None),
        ("email", "Ada@Example.COM", "Ada@example.com"),
        ("number", "42", 42),
        ("number", "2.5", 3),
        ("boolean", "yes", True),
        ("boolean", "0", False),
        ("date", "2024-05-31", date(2024, 5, 31)),
        ("datetime", "2024-05-31 14:30", datetime(2024, 5, 31, 14, 30, tzinfo=UTC)),
        ("time", "14:30", "14:30:00"),
        ("country", "fr", "France"),
        ("country", "germany", "Germany"),
        ("timezone", "Europe/Paris", "Europe/Paris"),
        ("locale", "en_US", "en_US"),
        ("url", "example.com/x", "example.com/x"),
        ("tel", "+33 1 23 45 67 89", "+33 1 23 45 67 89"),
        ("textarea", "<script>alert(1)</script>", "<script>alert(1)</script>"),
    ],
)
def test_valid_values(type_, raw, expected):
    assert normalize_value(spec(type_), raw) == expected


def test_number_scale_rounds():
    assert normalize_value(spec("number", properties={"scale": 2}), "1.005") == 1.01


@pytest.mark.parametrize(
    ("type_", "raw"),
    [
        ("email", "not-an-email"),
        ("number", "abc"),
        ("number", "nan"),
        ("boolean", "maybe"),
        ("date", "31/31/2024"),
        ("country", "Atlantis"),
        ("timezone", "Mars/Olympus"),
        ("locale", "english"),
        ("url", "javascript:alert(1)"),
        ("tel", "call me"),
        ("text", "x" * 300),
    ],
)
def test_invalid_values_raise_readable_errors(type_, raw):
    with pytest.raises(FieldValueError) as err:
        normalize_value(spec(type_), raw)
    assert str(err.value)


def test_select_and_multiselect_options():
    s = spec("select", properties={"list": ["red", "blue"]})
    assert normalize_value(s, "red") == "red"
    with pytest.raises(FieldValueError):
        normalize_value(s, "green")
    m = spec("multiselect", properties={"list": ["a", "b", "c"]})
    assert normalize_value(m, ["a", "c"]) == "a|c"
    assert normalize_value(m, "b|a") == "b|a"
    with pytest.raises(FieldValueError):
        normalize_value(m, "a|z")


def test_anonymous_until_identifying_field():
    assert is_anonymous({"city": "Paris", "points": 5})
    assert not is_anonymous({"email": "a@b.co"})
    assert not is_anonymous({"twitter": "@ada"})


def test_alias_rules():
    assert validate_alias("favourite_colour", set()) is None
    assert validate_alias("Bad Alias", set())
    assert validate_alias("select", set())
    assert validate_alias("email", {"email"})
    assert alias_from_label("Favourite colour!") == "favourite_colour"
    assert alias_from_label("2nd phone").startswith("f_")


def test_core_catalogue_matches_mautic():
    aliases = {f.alias for f in CORE_CONTACT_FIELDS}
    assert {"email", "firstname", "lastname", "points", "country", "last_active", "twitter"} <= aliases
    email = next(f for f in CORE_CONTACT_FIELDS if f.alias == "email")
    assert email.is_unique_identifier and email.is_publicly_updatable
