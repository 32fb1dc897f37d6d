"""The forms REST API against real databases: Mautic's shapes for forms, fields, actions and submissions,
PATCH keeping what is not sent and PUT replacing it, bad input as 400s with details, unknown ids as 404s."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mautic_app.models import Contact, FormField, FormSubmission
from mautic_app.services import forms
from tests.integration.conftest import error_of

FIELDS = [
    {"label": "E-mail", "alias": "email", "type": "email", "isRequired": True, "leadField": "email"},
    {"label": "First name", "type": "text", "mappedObject": "contact", "mappedField": "firstname", "isAutoFill": True},
    {"label": "Company", "alias": "company_name", "type": "text", "leadField": "companyname"},
    {"label": "Interest", "alias": "interest", "type": "select",
     "properties": {"list": {"list": [{"label": "Cars", "value": "cars"}, {"label": "Bikes", "value": "bikes"}]}}},
    {"label": "Bike model", "alias": "bike", "type": "text", "parent": "interest", "conditions": {"expr": "in", "values": ["bikes"]}},
    {"label": "Topics", "alias": "topics", "type": "checkboxgrp", "properties": {"options": ["News", "Offers"]}},
    {"label": "Send", "alias": "send", "type": "button"},
]
ACTIONS = [
    {"type": "lead.pointschange", "name": "Score", "properties": {"points": 5}},
    {"type": "lead.changetags", "properties": {"add_tags": ["lead", "web"]}},
]


def new_form(api, **overrides) -> dict:
    body = {"name": "Newsletter sign-up", "fields": FIELDS, "actions": ACTIONS} | overrides
    r = api.post("/api/forms/new", json=body)
    assert r.status_code == 201, r.text
    return r.json()["form"]


def by_alias(form: dict) -> dict[str, dict]:
    return {f["alias"]: f for f in form["fields"]}


def test_requires_auth(client):
    error_of(client.get("/api/forms"), 401)
    error_of(client.get("/api/forms/1/submissions"), 401)
    error_of(client.delete("/api/forms/1/fields/delete?fields[]=1"), 401)


def test_create_read_and_list_in_mautic_shape(api):
    assert api.get("/api/forms").text == '{"total":"0","forms":{}}'
    r = api.post("/api/forms/new", json={"name": "Newsletter sign-up", "description": "<b>hi</b>", "postAction": "redirect",
                                         "postActionProperty": "https://shop.example/thanks", "publishUp": "2024-05-31 14:30",
                                         "fields": FIELDS, "actions": ACTIONS})
    assert r.status_code == 201, r.text
    form = r.json()["form"]
    assert r.headers["location"] == f"/api/forms/{form['id']}"
    assert form["alias"] == "newsletter_sign_up" and form["isPublished"] is True and form["formType"] == "standalone"
    assert form["description"] == "<b>hi</b>" and form["postAction"] == "redirect"
    assert form["postActionProperty"] == "https://shop.example/thanks"
    assert form["publishUp"] == "2024-05-31T14:30:00+00:00" and form["publishDown"] is None
    assert form["createdBy"] and form["dateAdded"] and form["submissionCount"] == 0
    fields = by_alias(form)
    assert [f["alias"] for f in form["fields"]] == ["email", "first_name", "company_name", "interest", "bike", "topics", "send"]
    assert [f["order"] for f in form["fields"]] == list(range(7))
    assert fields["email"]["mappedObject"] == "contact" and fields["email"]["mappedField"] == "email" and fields["email"]["isRequired"]
    assert fields["email"]["leadField"] == "email"
    assert fields["first_name"]["mappedField"] == "firstname" and fields["first_name"]["isAutoFill"] is True
    assert fields["company_name"]["mappedObject"] == "company" and fields["company_name"]["mappedField"] == "companyname"
    assert fields["interest"]["properties"]["list"] == {"list": [{"label": "Cars", "value": "cars"}, {"label": "Bikes", "value": "bikes"}]}
    assert fields["bike"]["parent"] == "interest" and fields["bike"]["conditions"]["values"] == ["bikes"]
    assert fields["topics"]["properties"]["options"] == [{"value": "News", "label": "News"}, {"value": "Offers", "label": "Offers"}]
    assert fields["send"]["mappedObject"] is None and fields["send"]["parent"] is None
    assert set(fields["email"]) >= {"id", "label", "alias", "type", "order", "showLabel", "defaultValue", "helpMessage",
                                    "isRequired", "validationMessage", "properties", "mappedObject", "mappedField", "isAutoFill",
                                    "showWhenValueExists", "showAfterXSubmissions", "alwaysDisplay", "parent", "conditions",
                                    "saveResult"}
    assert [(a["type"], a["name"], a["properties"]) for a in form["actions"]] == [
        ("lead.pointschange", "Score", {"points": 5}), ("lead.changetags", "Modify tags", {"add_tags": ["lead", "web"], "remove_tags": []})]
    assert api.get(f"/api/forms/{form['id']}").json() == {"form": form}

    other = new_form(api, name="Contact us", fields=[], actions=[], isPublished=False)
    listing = api.get("/api/forms").json()
    assert listing["total"] == "2" and list(listing["forms"]) == [str(other["id"]), str(form["id"])]  # by name
    assert listing["forms"][str(form["id"])] == form
    assert list(api.get("/api/forms", params={"orderBy": "f.id", "orderByDir": "DESC"}).json()["forms"]) == [
        str(other["id"]), str(form["id"])]
    found = api.get("/api/forms", params={"search": "newsl"}).json()
    assert found["total"] == "1" and list(found["forms"]) == [str(form["id"])]
    assert api.get("/api/forms", params={"search": f"ids:{other['id']}"}).json()["total"] == "1"
    assert api.get("/api/forms", params={"search": "!newsl"}).json()["total"] == "1"
    assert api.get("/api/forms", params={"search": "100%"}).json()["total"] == "0"  # a literal %, not a wildcard
    assert list(api.get("/api/forms", params={"publishedOnly": "1"}).json()["forms"]) == [str(form["id"])]
    page = api.get("/api/forms", params={"start": 1, "limit": 1}).json()
    assert page["total"] == "2" and list(page["forms"]) == [str(form["id"])]
    minimal = api.get("/api/forms", params={"minimal": "true"}).json()["forms"][str(form["id"])]
    assert "fields" not in minimal and "actions" not in minimal and minimal["alias"] == "newsletter_sign_up"


def test_form_encoded_bodies_as_php_clients_send_them(api):
    r = api.post("/api/forms/new", data={
        "name": "Encoded", "isPublished": "0", "inKioskMode": "1",
        "fields[0][label]": "E-mail", "fields[0][type]": "email", "fields[0][isRequired]": "0", "fields[0][showLabel]": "0",
        "fields[1][label]": "Colour", "fields[1][type]": "radiogrp",
        "fields[1][properties][list][list][0][label]": "Red", "fields[1][properties][list][list][0][value]": "red",
        "actions[0][type]": "lead.pointschange", "actions[0][properties][points]": "-3",
    })
    assert r.status_code == 201, r.text
    form = r.json()["form"]
    assert form["isPublished"] is False and form["inKioskMode"] is True
    email, colour = form["fields"]
    assert email["isRequired"] is False and email["showLabel"] is False and email["alias"] == "e_mail"
    assert colour["properties"]["options"] == [{"value": "red", "label": "Red"}]
    assert form["actions"][0]["properties"] == {"points": -3}


def test_patch_keeps_what_is_not_sent_and_put_replaces(api):
    form = new_form(api)
    fields = by_alias(form)
    r = api.patch(f"/api/forms/{form['id']}/edit", json={"description": "Changed", "inKioskMode": True})
    assert r.status_code == 200, r.text
    patched = r.json()["form"]
    assert patched["description"] == "Changed" and patched["inKioskMode"] is True and patched["name"] == "Newsletter sign-up"
    assert [f["alias"] for f in patched["fields"]] == [f["alias"] for f in form["fields"]]
    assert [a["type"] for a in patched["actions"]] == ["lead.pointschange", "lead.changetags"]
    assert patched["dateModified"] and patched["publishUp"] is None

    # Fields named by id change (only in what is sent); fields without one are added; the rest stay.
    fields = by_alias(patched)  # ids as the latest answer gives them
    r = api.patch(f"/api/forms/{form['id']}/edit", json={"fields": [
        {"id": fields["first_name"]["id"], "label": "Given name"},
        {"label": "Phone", "type": "tel", "mappedObject": "contact", "mappedField": "phone"},
        {"id": fields["send"]["id"], "order": 99},
    ]})
    assert r.status_code == 200, r.text
    patched = by_alias(r.json()["form"])
    assert patched["first_name"]["label"] == "Given name" and patched["first_name"]["isAutoFill"] is True
    assert patched["first_name"]["mappedField"] == "firstname"
    assert [f["alias"] for f in r.json()["form"]["fields"]] == [
        "email", "first_name", "company_name", "interest", "bike", "topics", "phone", "send"]
    assert len(r.json()["form"]["actions"]) == 2

    # PUT replaces: fields and actions not sent are gone, settings not sent go back to their defaults.
    r = api.put(f"/api/forms/{form['id']}/edit", json={"name": "Replaced", "fields": [{"label": "E-mail", "type": "email"}]})
    assert r.status_code == 200, r.text
    replaced = r.json()["form"]
    assert replaced["name"] == "Replaced" and replaced["alias"] == "replaced" and replaced["inKioskMode"] is False
    assert replaced["description"] is None and replaced["actions"] == []
    assert [(f["alias"], f["mappedField"]) for f in replaced["fields"]] == [("e_mail", None)]
    # PUT on a missing id creates; PATCH cannot.
    r = api.put("/api/forms/999999/edit", json={"name": "Made by PUT"})
    assert r.status_code == 201 and r.json()["form"]["id"] != 999999
    error_of(api.patch("/api/forms/999999/edit", json={"name": "x"}), 404)


@pytest.mark.parametrize("body, key", [
    ({"fields": [{"label": "Weird", "type": "nosuchtype"}]}, "fields.0.type"),
    ({"fields": [{"label": "A", "alias": "email", "type": "text"}, {"label": "B", "alias": "email", "type": "email"}]},
     "fields.1.alias"),
    ({"fields": [{"label": "A", "alias": "formId", "type": "text"}]}, "fields.0.alias"),
    ({"fields": [{"label": "A", "type": "text", "mappedObject": "contact", "mappedField": "nosuch"}]}, "fields.0.mappedField"),
    ({"fields": [{"label": "A", "type": "select"}]}, "fields.0.properties.list"),
    ({"fields": [{"label": "A", "type": "text", "parent": "nosuch", "conditions": {"any": 1}}]}, "fields.0.parent"),
    ({"fields": "not a list"}, "fields"),
    ({"fields": [{"label": "A", "type": "text", "properties": "x"}]}, "fields.0.properties"),
    ({"postAction": "redirect", "postActionProperty": "javascript:alert(1)"}, "postActionProperty"),
    ({"postAction": "explode"}, "postAction"),
    ({"progressiveProfilingLimit": 1000}, "progressiveProfilingLimit"),
    ({"publishUp": "tomorrow-ish"}, "publishUp"),
    ({"publishUp": "2024-06-01", "publishDown": "2024-05-01"}, "publishDown"),
    ({"actions": [{"type": "nosuch.action"}]}, "actions.0.type"),
    ({"actions": [{"type": "lead.pointschange", "properties": {"points": "many"}}]}, "actions.0.properties.points"),
    ({"actions": [{"type": "form.repost", "properties": {"post_url": "javascript:alert(1)"}}]}, "actions.0.properties.post_url"),
    ({"name": ""}, "name"),
])
def test_bad_input_is_400_with_details_and_stores_nothing(api, body, key):
    err = error_of(api.post("/api/forms/new", json={"name": "Bad"} | body), 400)
    assert key in err["details"], err
    assert api.get("/api/forms").json()["total"] == "0"


def test_bad_edits_leave_the_form_as_it_was(api):
    form = new_form(api)
    other = new_form(api, name="Other", fields=[{"label": "X", "type": "text"}], actions=[])
    err = error_of(api.patch(f"/api/forms/{form['id']}/edit", json={"fields": [{"id": other["fields"][0]["id"], "label": "Y"}]}), 400)
    assert "fields.0.id" in err["details"]
    err = error_of(api.patch(f"/api/forms/{form['id']}/edit", json={"fields": [{"label": "Again", "alias": "email", "type": "text"}]}), 400)
    assert list(err["details"]) == ["fields.0.alias"]  # the index the client sent, not the one in the saved list
    err = error_of(api.patch(f"/api/forms/{form['id']}/edit", json={"alias": "other", "publishUp": "nope"}), 400)
    assert set(err["details"]) == {"alias", "publishUp"}
    error_of(api.patch(f"/api/forms/{form['id']}/edit", content=b"{broken", headers={"Content-Type": "application/json"}), 400)
    error_of(api.patch(f"/api/forms/{form['id']}/edit", json=[1, 2]), 400)
    assert api.get(f"/api/forms/{form['id']}").json()["form"] == form


def test_unknown_ids_are_404(api):
    form = new_form(api)
    for path in ("/api/forms/999999", "/api/forms/99999999999999", "/api/forms/999999/submissions",
                 "/api/forms/999999/submissions/1", f"/api/forms/{form['id']}/submissions/999999",
                 f"/api/forms/{form['id']}/submissions/contact/999999", "/api/forms/999999/submissions/contact/1"):
        error_of(api.get(path), 404)
    error_of(api.delete("/api/forms/999999/delete"), 404)
    error_of(api.delete("/api/forms/999999/fields/delete", params={"fields[]": "1"}), 404)
    error_of(api.delete("/api/forms/999999/actions/delete", params={"actions[]": "1"}), 404)


@pytest.mark.parametrize("path, params, key", [
    ("/api/forms", {"limit": 100000}, "limit"),
    ("/api/forms", {"start": -1}, "start"),
    ("/api/forms", {"orderBy": "password"}, "orderBy"),
    ("/api/forms", {"orderByDir": "sideways"}, "orderByDir"),
    ("/api/forms", {"search": "tag:x"}, "search"),
    ("/api/forms/{id}/submissions", {"limit": 501}, "limit"),
    ("/api/forms/{id}/submissions/contact/1", {"limit": "lots"}, "limit"),
])
def test_bad_list_parameters_are_400(api, path, params, key):
    form = new_form(api)
    err = error_of(api.get(path.format(id=form["id"]), params=params), 400)
    assert key in err["details"]


def test_delete_fields_and_actions_by_id(api):
    form = new_form(api)
    fields = by_alias(form)
    other = new_form(api, name="Other", fields=[{"label": "X", "type": "text"}], actions=[])
    r = api.delete(f"/api/forms/{form['id']}/fields/delete",
                   params=[("fields[]", fields["topics"]["id"]), ("fields[]", fields["send"]["id"]), ("fields[]", other["fields"][0]["id"])])
    assert r.status_code == 200, r.text
    assert [f["alias"] for f in r.json()["form"]["fields"]] == ["email", "first_name", "company_name", "interest", "bike"]
    assert [f["alias"] for f in api.get(f"/api/forms/{other['id']}").json()["form"]["fields"]] == ["x"]  # not this form's: ignored
    # A field others depend on cannot go alone.
    current = by_alias(r.json()["form"])
    err = error_of(api.delete(f"/api/forms/{form['id']}/fields/delete", params={"fields[]": current["interest"]["id"]}), 400)
    assert "fields.bike.parent" in err["details"]
    error_of(api.delete(f"/api/forms/{form['id']}/fields/delete"), 400)
    actions = api.get(f"/api/forms/{form['id']}").json()["form"]["actions"]
    r = api.delete(f"/api/forms/{form['id']}/actions/delete", params={"actions": str(actions[0]["id"])})
    assert r.status_code == 200 and [a["type"] for a in r.json()["form"]["actions"]] == ["lead.changetags"]
    assert len(r.json()["form"]["fields"]) == 5


def test_batch_routes_and_delete(api, session):
    r = api.post("/api/forms/batch/new", json=[{"name": "One", "fields": [{"label": "E-mail", "type": "email"}]},
                                               {"name": "Two", "fields": [{"label": "Bad", "type": "nosuch"}]}])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["statusCodes"] == [201, 400] and body["forms"]["0"]["name"] == "One"
    assert "fields.0.type" in body["errors"]["1"]["details"]
    one = body["forms"]["0"]
    r = api.patch("/api/forms/batch/edit", json=[{"id": one["id"], "description": "batched"}, {"id": 999999, "name": "x"}])
    assert r.json()["statusCodes"] == [200, 404] and r.json()["forms"]["0"]["fields"][0]["alias"] == "e_mail"
    with session() as s:
        forms.submit(session=s, form=forms.get_form(session=s, form_id=one["id"]),
                     posted=forms.Posted(values={"e_mail": "x@example.com"}, ip="10.0.0.1"))
    r = api.delete("/api/forms/batch/delete", params={"ids": f"{one['id']},999999"})
    assert r.json()["statusCodes"] == [200, 404] and r.json()["forms"]["0"]["id"] == one["id"]
    error_of(api.get(f"/api/forms/{one['id']}"), 404)
    with session() as s:  # the form's fields and submissions went with it; the contact stays
        assert s.execute(sa.select(sa.func.count()).select_from(FormSubmission)).scalar() == 0
        assert s.execute(sa.select(sa.func.count()).select_from(FormField)).scalar() == 0
        assert s.execute(sa.select(sa.func.count()).select_from(Contact)).scalar() == 1
    two = new_form(api, name="Two")
    r = api.delete(f"/api/forms/{two['id']}/delete")
    assert r.status_code == 200 and r.json()["form"]["alias"] == "two"
    error_of(api.get(f"/api/forms/{two['id']}"), 404)


def test_submissions_listing_detail_and_by_contact(api, session):
    form = new_form(api, fields=FIELDS + [{"label": "Secret", "alias": "secret", "type": "password"}])
    other = new_form(api, name="Other", fields=[{"label": "E-mail", "type": "email", "leadField": "email"}], actions=[])
    posts = [
        {"email": "ann@example.com", "first_name": "Ann", "interest": "bikes", "bike": "Brompton", "topics": ["News", "Offers"],
         "secret": "hunter2"},
        {"email": "bob@example.com", "first_name": "Bob", "company_name": "Acme", "interest": "cars"},
        {"email": "ann@example.com", "first_name": "Ann"},
    ]
    with session() as s:
        f = forms.get_form(session=s, form_id=form["id"])
        outcomes = [forms.submit(session=s, form=f, posted=forms.Posted(values=v, ip="10.0.0.1", referer="https://shop.example/",
                                                                        page_url="https://shop.example/signup"))
                    for v in posts]
        assert all(not o.errors for o in outcomes), [o.errors for o in outcomes]
        forms.submit(session=s, form=forms.get_form(session=s, form_id=other["id"]),
                     posted=forms.Posted(values={"e_mail": "ann@example.com"}, ip="10.0.0.2"))
    ann, bob = outcomes[0].contact_id, outcomes[1].contact_id
    assert outcomes[2].contact_id == ann and ann != bob

    r = api.get(f"/api/forms/{form['id']}/submissions")
    assert r.status_code == 200, r.text
    listing = r.json()
    assert listing["total"] == "3" and [s["id"] for s in listing["submissions"]] == [o.submission_id for o in reversed(outcomes)]
    first = listing["submissions"][-1]
    assert first["ipAddress"] == {"ipAddress": "10.0.0.1"} and first["lead"] == {"id": ann}
    assert first["form"] == {"id": form["id"], "name": "Newsletter sign-up", "alias": "newsletter_sign_up"}
    assert first["referer"] == "https://shop.example/" and first["page"] == "https://shop.example/signup"
    assert first["dateSubmitted"] and "trackingId" in first
    assert first["results"] == {"email": "ann@example.com", "first_name": "Ann", "company_name": None, "interest": "bikes",
                                "bike": "Brompton", "topics": "News, Offers"}  # lists joined; passwords never kept
    assert api.get(f"/api/forms/{form['id']}").json()["form"]["submissionCount"] == 3
    assert api.get("/api/forms").json()["forms"][str(form["id"])]["submissionCount"] == 3

    page = api.get(f"/api/forms/{form['id']}/submissions", params={"start": 1, "limit": 1}).json()
    assert page["total"] == "3" and [s["id"] for s in page["submissions"]] == [outcomes[1].submission_id]
    found = api.get(f"/api/forms/{form['id']}/submissions", params={"search": "acme"}).json()
    assert found["total"] == "1" and found["submissions"][0]["lead"] == {"id": bob}
    assert api.get(f"/api/forms/{form['id']}/submissions", params={"search": "nobody-like-this"}).json() == {
        "total": "0", "submissions": []}

    one = api.get(f"/api/forms/{form['id']}/submissions/{outcomes[1].submission_id}").json()
    assert one == {"submission": listing["submissions"][1]}
    error_of(api.get(f"/api/forms/{other['id']}/submissions/{outcomes[1].submission_id}"), 404)  # not that form's

    mine = api.get(f"/api/forms/{form['id']}/submissions/contact/{ann}").json()
    assert mine["total"] == "2" and [s["id"] for s in mine["submissions"]] == [outcomes[2].submission_id, outcomes[0].submission_id]
    assert api.get(f"/api/forms/{form['id']}/submissions/contact/{ann}", params={"limit": 1}).json()["total"] == "2"
    assert api.get(f"/api/forms/{other['id']}/submissions/contact/{bob}").json() == {"total": "0", "submissions": []}

    # A submission whose contact was deleted keeps its values, with no lead.
    assert api.delete(f"/api/contacts/{bob}/delete").status_code == 200
    gone = api.get(f"/api/forms/{form['id']}/submissions/{outcomes[1].submission_id}").json()["submission"]
    assert gone["lead"] is None and gone["results"]["company_name"] == "Acme"
