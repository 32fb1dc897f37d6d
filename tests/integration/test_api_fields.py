"""The field registry API: listing, and custom fields becoming writable contact values."""

from __future__ import annotations


def test_field_lists(api):
    contact = api.get("/api/fields/contact").json()
    company = api.get("/api/fields/company").json()
    assert contact["total"] == len(contact["fields"]) and company["total"] == len(company["fields"])
    assert {f["object"] for f in contact["fields"]} == {"lead"}
    assert "companyname" in {f["alias"] for f in company["fields"]}
    email = next(f for f in contact["fields"] if f["alias"] == "email")
    assert api.get(f"/api/fields/contact/{email['id']}").json()["field"] == email
    assert api.get(f"/api/fields/company/{email['id']}").status_code == 404
    assert api.get("/api/fields/planet").status_code == 404


def test_custom_fields_through_the_api(api):
    r = api.post("/api/fields/contact/new", json={
        "label": "Shoe size", "type": "number", "group": "personal", "properties": {"scale": 0},
    })
    assert r.status_code == 201, r.text
    field = r.json()["field"]
    assert field["alias"] == "shoe_size" and field["group"] == "personal"
    r = api.post("/api/fields/contact/new", json={
        "label": "Plan", "type": "select", "properties": {"list": [{"label": "Free", "value": "free"}, {"label": "Pro", "value": "pro"}]},
    })
    assert r.status_code == 201 and r.json()["field"]["properties"]["list"] == ["free", "pro"]

    contact = api.post("/api/contacts/new", json={"email": "feet@example.com", "shoe_size": "42", "plan": "pro"}).json()["contact"]
    assert contact["fields"]["personal"]["shoe_size"]["value"] == 42
    assert contact["fields"]["all"]["plan"] == "pro"
    bad = api.post("/api/contacts/new", json={"email": "x@example.com", "plan": "gold"})
    assert bad.status_code == 400 and "plan" in bad.json()["errors"][0]["details"]

    r = api.patch(f"/api/fields/contact/{field['id']}/edit", json={"label": "Shoe size (EU)", "isListable": False})
    assert r.status_code == 200 and r.json()["field"]["label"] == "Shoe size (EU)" and r.json()["field"]["isListable"] is False
    assert api.post("/api/fields/contact/new", json={"label": "Bad", "type": "nonsense"}).status_code == 400
    assert api.post("/api/fields/contact/new", json={"label": "Dup", "alias": "email"}).status_code == 400

    email_id = next(f["id"] for f in api.get("/api/fields/contact").json()["fields"] if f["alias"] == "email")
    assert api.delete(f"/api/fields/contact/{email_id}/delete").status_code == 400
    assert api.delete(f"/api/fields/contact/{field['id']}/delete").status_code == 200
    got = api.get(f"/api/contacts/{contact['id']}").json()["contact"]
    assert "shoe_size" not in got["fields"]["all"]
