"""Form rules without a database: conditional fields (Mautic's "in" and "notIn"), uploads, re-post URLs."""

from __future__ import annotations

import pytest

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


def _file_field(**properties) -> rules.Field:
    return rules.check_fields([{"label": "CV", "alias": "cv", "type": "file", "properties": properties}],
                              contact_fields=set(), company_fields=set())[0]


def test_a_file_is_judged_by_its_name_and_whole_size_before_it_is_kept():
    cv = _file_field(allowed_extensions=["pdf"], max_size_mb=0.5)
    assert rules.upload_refusal(cv, "cv.PDF", 512 * 1024) is None
    assert rules.upload_refusal(cv, "cv.pdf", 512 * 1024 + 1) == "The file is larger than 0.5 MB."
    assert rules.upload_refusal(cv, "cv.pdf.exe", 10) == "This kind of file is not accepted."
    assert rules.upload_refusal(cv, "pdf", 10) == "This kind of file is not accepted."
    assert _file_field(max_size_mb=5000).properties["max_size_mb"] == rules.MAX_FILE_MB
    assert rules.check_post([cv], {"cv": {"filename": "cv.pdf", "size": 10**6}}).errors == {"cv": "The file is larger than 0.5 MB."}


def test_a_repost_url_must_be_web_and_one_the_server_sends_to():
    def refusal(url: str) -> str | None:
        return "10.0.0.5 is a private address" if "10.0.0.5" in url else None

    ok = rules.check_actions([{"type": "form.repost", "properties": {"post_url": "https://crm.example/hook"}}], url_refusal=refusal)
    assert ok[0]["properties"]["post_url"] == "https://crm.example/hook"
    for url, message in (("ftp://crm.example/", "URL: enter an http(s) address."),
                         ("http://10.0.0.5/hook", "URL: 10.0.0.5 is a private address")):
        with pytest.raises(rules.FormError) as refused:
            rules.check_actions([{"type": "form.repost", "properties": {"post_url": url}}], url_refusal=refusal)
        assert refused.value.errors == {"actions.0.post_url": message}


def test_a_new_fields_alias_follows_its_label_until_chosen_by_hand():
    assert rules.alias_after_relabel(alias="text", old_label="Text", new_label="First name", taken=["email"]) == "first_name"
    assert rules.alias_after_relabel(alias="text2", old_label="Text", new_label="Company", taken=["text"]) == "company"
    assert rules.alias_after_relabel(alias="first_name", old_label="First name", new_label="E-mail", taken=["e_mail"]) == "e_mail2"
    assert rules.alias_after_relabel(alias="fname", old_label="First name", new_label="Given name", taken=[]) == "fname"
