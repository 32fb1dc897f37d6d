"""Form rules without a database: conditional fields (Mautic's "in" and "notIn")."""

from __future__ import annotations

from mautic_app.domain import forms as rules


def _fields(conditions: dict) -> list[rules.Field]:
    return rules.check_fields([
        {"label": "Interest", "alias": "interest", "type": "select", "properties": {"options": "Cars\nBikes\nBoats"}},
        {"label": "Why", "alias": "why", "type": "text", "is_required": True, "parent_alias": "interest", "conditions": conditions},
    ], contact_fields=set(), company_fields=set())


def test_a_field_shows_for_its_parents_values_or_for_all_but_them():
    shown_for_bikes, hidden_for_bikes = _fields({"values": ["Bikes"]})[1], _fields({"expr": "notIn", "values": ["Bikes"]})[1]
    assert shown_for_bikes.conditions["expr"] == "in" and hidden_for_bikes.conditions["expr"] == "notIn"
    for value, shown in (("Bikes", True), ("Cars", False), ("", False)):
        assert rules.is_shown_by_parent(shown_for_bikes, {"interest": value}) is shown
        assert rules.is_shown_by_parent(hidden_for_bikes, {"interest": value}) is not shown
    assert rules.is_shown_by_parent(_fields({"expr": "NOTIN", "values": ["Bikes"]})[1], {"interest": ["Bikes", "Cars"]}) is False


def test_a_required_field_hidden_by_its_condition_is_not_required():
    fields = _fields({"expr": "notIn", "values": ["Bikes"]})
    assert rules.check_post(fields, {"interest": "Bikes"}).errors == {}
    assert set(rules.check_post(fields, {"interest": "Cars"}).errors) == {"why"}


def test_the_page_tells_the_embed_script_which_rule_applies():
    html = rules.render_form(form_id=1, alias="survey", name="Survey", fields=_fields({"expr": "notIn", "values": ["Bikes"]}),
                             action="/form/submit")
    assert 'data-mautic-form-expr="notIn"' in html and 'data-mautic-form-show-on="interest"' in html
