"""The contacts REST API against real databases: Mautic's paths, shapes, errors and auth."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import error_of


def new_contact(api, status: int = 201, **values) -> dict:
    r = api.post("/api/contacts/new", json=values)
    assert r.status_code == status, r.text
    return r.json()["contact"]


# ---------------------------------------------------------------- auth


def test_unauthenticated_requests_get_401_and_no_data(client, api, admin_credentials):
    new_contact(api, email="secret@example.com")
    client.auth = None
    for headers in ({}, {"Authorization": "Bearer abc"}, {"Authorization": "Basic !!!not-base64"}):
        r = client.get("/api/contacts", headers=headers)
        error_of(r, 401)
        assert r.headers["www-authenticate"].startswith("Basic")
        assert "secret@example.com" not in r.text
    client.auth = (admin_credentials[0], "wrong-password")
    error_of(client.get("/api/contacts/1"), 401)
    error_of(client.post("/api/contacts/new", json={"email": "x@example.com"}), 401)


def test_basic_auth_and_api_switches(api, override_settings):
    assert api.get("/api/contacts").status_code == 200
    override_settings(api_basic_auth=False)
    error_of(api.get("/api/contacts"), 401)
    override_settings(api_basic_auth=True, api_enabled=False)
    error_of(api.get("/api/contacts"), 403)
    error_of(api.get("/api/openapi.json"), 403)


def test_successful_credentials_are_cached(api, monkeypatch, admin_credentials):
    from mautic_app.services import users

    calls = []
    real = users.authenticate
    monkeypatch.setattr(users, "authenticate", lambda **kw: calls.append(1) or real(**kw))
    for _ in range(3):
        assert api.get("/api/contacts").status_code == 200
    assert len(calls) <= 1
    api.auth = (admin_credentials[0], admin_credentials[1] + "x")
    error_of(api.get("/api/contacts"), 401)
    error_of(api.get("/api/contacts"), 401)
    assert len(calls) == 3  # failures are checked every time


# ---------------------------------------------------------------- list and search


def test_empty_list_is_exactly_mautics_shape(api):
    r = api.get("/api/contacts")
    assert r.status_code == 200
    assert r.text == '{"total":"0","contacts":{}}'
    assert api.get("/api/contacts", params={"search": "email:nobody"}).text == '{"total":"0","contacts":{}}'


def test_list_shape_search_email_and_tag(api):
    ada = new_contact(api, email="ada@example.com", firstname="Ada", tags=["vip", "newsletter"])
    new_contact(api, email="alan@example.com", firstname="Alan", tags="newsletter")
    new_contact(api, email="grace@other.org", firstname="Grace")

    body = api.get("/api/contacts").json()
    assert body["total"] == "3" and isinstance(body["contacts"], dict)
    assert set(body["contacts"]) == {str(c) for c in body["contacts"]}
    assert body["contacts"][str(ada["id"])]["fields"]["all"]["email"] == "ada@example.com"

    def emails(search: str) -> set[str]:
        res = api.get("/api/contacts", params={"search": search}).json()
        assert res["total"] == str(len(res["contacts"]))
        return {c["fields"]["all"]["email"] for c in res["contacts"].values()}

    assert emails("email:a") == {"ada@example.com", "alan@example.com"}
    assert emails("email:ada@") == {"ada@example.com"}
    assert emails("tag:vip") == {"ada@example.com"}
    assert emails("tag:newsletter") == {"ada@example.com", "alan@example.com"}
    assert emails("!tag:newsletter") == {"grace@other.org"}
    assert emails("grace") == {"grace@other.org"}
    assert emails(f"ids:{ada['id']}") == {"ada@example.com"}
    error_of(api.get("/api/contacts", params={"search": "is:bogus"}), 400)


def test_paging_order_and_minimal(api):
    for i, points in enumerate([5, 50, 20, 10, 40]):
        new_contact(api, email=f"p{i}@example.com", points=points)

    def points(**params) -> list[int]:
        return [c["points"] for c in api.get("/api/contacts", params=params).json()["contacts"].values()]

    assert points(orderBy="points", orderByDir="DESC") == [50, 40, 20, 10, 5]
    assert points(orderBy="l.points") == [5, 10, 20, 40, 50]
    assert points(orderBy="points", start=1, limit=2) == [10, 20]
    page = api.get("/api/contacts", params={"orderBy": "dateAdded", "start": 4, "limit": 2}).json()
    assert page["total"] == "5" and len(page["contacts"]) == 1
    assert api.get("/api/contacts", params={"start": 10}).json() == {"total": "5", "contacts": {}}
    error_of(api.get("/api/contacts", params={"orderBy": "no_such_column"}), 400)
    error_of(api.get("/api/contacts", params={"limit": "ten"}), 400)
    minimal = api.get("/api/contacts", params={"minimal": "true", "limit": 1}).json()
    assert list(next(iter(minimal["contacts"].values()))["fields"]) == ["all"]


# ---------------------------------------------------------------- one contact


def test_contact_shape(api):
    c = new_contact(api, email="shape@example.com", firstname="Sha", lastname="Pe", country="fr",
                    attribution="12.5", tags=["b", "a"], ipAddress="203.0.113.9")
    got = api.get(f"/api/contacts/{c['id']}").json()["contact"]
    for key in ("id", "points", "color", "isPublished", "dateAdded", "dateModified", "createdBy", "modifiedBy",
                "lastActive", "owner", "ipAddresses", "tags", "utmtags", "stage", "dateIdentified",
                "preferredProfileImage", "doNotContact", "frequencyRules", "fields"):
        assert key in got, key
    assert got["id"] == c["id"] and got["points"] == 0 and got["isPublished"] is True
    assert got["dateAdded"].endswith("+00:00") and got["dateIdentified"]
    assert set(got["fields"]) == {"core", "social", "personal", "professional", "all"}
    email = got["fields"]["core"]["email"]
    assert {"id", "label", "alias", "type", "group", "object", "is_fixed", "properties", "default_value", "value",
            "normalizedValue"} <= set(email)
    assert email["value"] == "shape@example.com" and email["type"] == "email" and isinstance(email["id"], int)
    assert got["fields"]["social"]["twitter"]["value"] is None
    all_values = got["fields"]["all"]
    assert all_values["id"] == c["id"] and all_values["country"] == "France"
    assert all_values["points"] == 0 and all_values["attribution"] == 12.5
    assert [t["tag"] for t in got["tags"]] == ["a", "b"] and all(isinstance(t["id"], int) for t in got["tags"])
    assert "203.0.113.9" in got["ipAddresses"]
    assert got["owner"] is None and got["createdBy"] == 1 and got["createdByUser"]


def test_missing_contact_is_404(api):
    error_of(api.get("/api/contacts/999999"), 404)
    error_of(api.get("/api/contacts/abc"), 404)
    error_of(api.patch("/api/contacts/999999/edit", json={"firstname": "x"}), 404)
    error_of(api.delete("/api/contacts/999999/delete"), 404)
    error_of(api.get("/api/contacts/999999/notes"), 404)
    error_of(api.post("/api/contacts/999999/points/plus/3"), 404)


def test_new_with_existing_email_returns_same_contact(api):
    first = new_contact(api, email="dup@example.com", firstname="First")
    again = new_contact(api, status=200, email="DUP@example.com", lastname="Second", tags=["t2"])
    assert again["id"] == first["id"]
    assert again["fields"]["all"]["firstname"] == "First" and again["fields"]["all"]["lastname"] == "Second"
    assert [t["tag"] for t in again["tags"]] == ["t2"]
    assert api.get("/api/contacts").json()["total"] == "1"


def test_patch_changes_only_what_is_sent_and_put_replaces(api):
    c = new_contact(api, email="edit@example.com", firstname="Ed", city="Paris", points=7)
    r = api.patch(f"/api/contacts/{c['id']}/edit", json={"city": "Berlin"})
    assert r.status_code == 200
    all_values = r.json()["contact"]["fields"]["all"]
    assert all_values["city"] == "Berlin" and all_values["firstname"] == "Ed"

    r = api.patch(f"/api/contacts/{c['id']}/edit", json={"firstname": ""})
    assert r.json()["contact"]["fields"]["all"]["firstname"] == "Ed"  # blanks don't overwrite...
    r = api.patch(f"/api/contacts/{c['id']}/edit", json={"firstname": "", "overwriteWithBlank": True})
    assert r.json()["contact"]["fields"]["all"]["firstname"] is None  # ...unless asked to

    r = api.put(f"/api/contacts/{c['id']}/edit", json={"email": "edit@example.com", "lastname": "Put"})
    assert r.status_code == 200
    all_values = r.json()["contact"]["fields"]["all"]
    assert all_values["lastname"] == "Put" and all_values["city"] is None and all_values["points"] == 7

    r = api.put("/api/contacts/987654/edit", json={"email": "created@example.com"})
    assert r.status_code == 201
    assert r.json()["contact"]["fields"]["all"]["email"] == "created@example.com"


def test_editing_to_an_existing_email_merges_the_duplicate(api):
    older = new_contact(api, email="older@example.com", firstname="Old", points=3)
    newer = new_contact(api, email="newer@example.com", lastname="New", points=4)
    r = api.patch(f"/api/contacts/{newer['id']}/edit", json={"email": "older@example.com"})
    assert r.status_code == 200
    merged = r.json()["contact"]
    assert merged["id"] == newer["id"] and merged["points"] == 7
    assert merged["fields"]["all"]["firstname"] == "Old" and merged["fields"]["all"]["lastname"] == "New"
    assert api.get("/api/contacts").json()["total"] == "1"
    assert api.get(f"/api/contacts/{older['id']}").json()["contact"]["id"] == newer["id"]


def test_validation_errors_have_field_details(api):
    err = error_of(api.post("/api/contacts/new", json={"email": "not-an-email", "country": "Atlantis"}), 400)
    assert set(err["details"]) == {"email", "country"}
    assert all(isinstance(v, list) and v for v in err["details"].values())
    assert api.get("/api/contacts").json()["total"] == "0"
    c = new_contact(api, email="valid@example.com")
    err = error_of(api.patch(f"/api/contacts/{c['id']}/edit", json={"country": "Narnia"}), 400)
    assert list(err["details"]) == ["country"]
    error_of(api.post("/api/contacts/new", json={"email": "a@example.com", "owner": "bob"}), 400)
    error_of(api.post("/api/contacts/new", json={"email": "a@example.com", "owner": 424242}), 400)
    error_of(api.post("/api/contacts/new", json={"email": "a@example.com", "stage": 424242}), 400)
    error_of(api.post("/api/contacts/new", json={"firstname": {"nested": 1}}), 400)
    error_of(api.post("/api/contacts/new", json={"firstname": "x" * 500}), 400)
    assert api.get("/api/contacts").json()["total"] == "1"


def test_malformed_bodies_are_400_not_500(api):
    headers = {"Content-Type": "application/json"}
    error_of(api.post("/api/contacts/new", content=b'{"email": ', headers=headers), 400)
    error_of(api.post("/api/contacts/new", content=b'"just a string"', headers=headers), 400)
    error_of(api.post("/api/contacts/new", content=b"\xff\xfe", headers=headers), 400)
    error_of(api.post("/api/contacts/new", json=[{"email": "list@example.com"}]), 400)
    error_of(api.post("/api/contacts/batch/new", json={"email": "x"}), 400)
    error_of(api.post("/api/contacts/1/points/plus/inf"), 400)


def test_form_encoded_bodies_with_nested_keys(api):
    r = api.post("/api/contacts/new", content="firstname=Form&email=form%40example.com&tags[]=a&tags[]=b&overwriteWithBlank=1",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201, r.text
    c = r.json()["contact"]
    assert c["fields"]["all"]["firstname"] == "Form" and [t["tag"] for t in c["tags"]] == ["a", "b"]
    r = api.patch(f"/api/contacts/{c['id']}/edit", data={"city": "Lyon", "tags": "-a,c"})
    assert r.status_code == 200
    assert [t["tag"] for t in r.json()["contact"]["tags"]] == ["b", "c"]
    assert r.json()["contact"]["fields"]["all"]["city"] == "Lyon"
    r = api.post("/api/contacts/batch/new", content="0[email]=b1%40example.com&1[email]=b2%40example.com",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201 and r.json()["statusCodes"] == [201, 201]
    r = api.post("/api/contacts/new", data={"email": "multi@example.com", "tags[]": ["m"]},
                 files={"ignored": ("a.txt", b"file content", "text/plain")})
    assert r.status_code == 201 and [t["tag"] for t in r.json()["contact"]["tags"]] == ["m"]


def test_json_content_type_with_empty_body_on_get_and_delete(api):
    c = new_contact(api, email="empty@example.com")
    headers = {"Content-Type": "application/json"}
    assert api.get("/api/contacts", headers=headers).json()["total"] == "1"
    assert api.get(f"/api/contacts/{c['id']}", headers=headers).status_code == 200
    r = api.delete(f"/api/contacts/{c['id']}/delete", headers=headers)
    assert r.status_code == 200 and r.json()["contact"]["id"] == c["id"]
    error_of(api.get(f"/api/contacts/{c['id']}"), 404)


def test_script_payloads_are_stored_and_returned_verbatim(api):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    c = new_contact(api, email="xss@example.com", firstname=payload, tags=[payload])
    r = api.get(f"/api/contacts/{c['id']}")
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    got = r.json()["contact"]
    assert got["fields"]["all"]["firstname"] == payload and got["tags"][0]["tag"] == payload
    assert json.loads(r.text) == r.json()


def test_special_keys_owner_stage_ip_last_active(api, session, admin_credentials):
    from mautic_app.services import stages

    with session() as s:
        stage_id = stages.save_stage(session=s, stage_id=None, name="Lead").id
    c = new_contact(api, email="special@example.com", owner=1, stage=stage_id, ipAddress="198.51.100.7",
                    lastActive="2024-05-31 14:30:00")
    assert c["owner"]["id"] == 1 and c["owner"]["username"] == admin_credentials[0]
    assert c["stage"] == {"id": stage_id, "name": "Lead", "weight": 0, "description": ""}
    assert list(c["ipAddresses"]) == ["198.51.100.7"]
    assert c["lastActive"] == "2024-05-31T14:30:00+00:00"
    r = api.patch(f"/api/contacts/{c['id']}/edit", json={"owner": None, "stage": 0})
    assert r.json()["contact"]["owner"] is None and r.json()["contact"]["stage"] is None


# ---------------------------------------------------------------- batch


def test_batch_new_edit_delete(api):
    existing = new_contact(api, email="b0@example.com")
    r = api.post("/api/contacts/batch/new", json=[
        {"email": "b1@example.com"}, {"email": "broken"}, {"email": "b0@example.com", "firstname": "Again"},
    ])
    assert r.status_code == 201
    body = r.json()
    assert body["statusCodes"] == [201, 400, 200]
    assert set(body["contacts"]) == {"0", "2"} and body["contacts"]["2"]["id"] == existing["id"]
    assert body["errors"]["1"]["code"] == 400 and "email" in body["errors"]["1"]["details"]
    created = body["contacts"]["0"]["id"]

    r = api.patch("/api/contacts/batch/edit", json=[{"id": created, "firstname": "One"}, {"id": 999999, "firstname": "X"}])
    assert r.status_code == 200 and r.json()["statusCodes"] == [200, 404]
    assert r.json()["contacts"]["0"]["fields"]["all"]["firstname"] == "One"
    r = api.put("/api/contacts/batch/edit", json=[{"id": existing["id"], "email": "b0@example.com"}, {"id": 999999, "email": "put@example.com"}])
    assert r.json()["statusCodes"] == [200, 201]
    assert isinstance(r.json()["contacts"], list) and r.json()["contacts"][0]["fields"]["all"]["firstname"] is None

    r = api.delete("/api/contacts/batch/delete", params={"ids": f"{created},999999"})
    assert r.status_code == 200
    assert r.json()["statusCodes"] == [200, 404] and r.json()["contacts"]["0"]["id"] == created
    r = api.request("DELETE", "/api/contacts/batch/delete", json={"ids": [existing["id"]]})
    assert r.json()["statusCodes"] == [200]
    assert api.get("/api/contacts").json()["total"] == "1"
    error_of(api.post("/api/contacts/batch/new", json=[{"email": f"m{i}@example.com"} for i in range(201)]), 400)
    error_of(api.delete("/api/contacts/batch/delete"), 400)


# ---------------------------------------------------------------- extras


@pytest.mark.parametrize("form", ["current", "older"])
def test_do_not_contact_add_and_remove(api, form):
    c = new_contact(api, email="dnc@example.com")
    add = f"/api/contacts/{c['id']}/dnc/email/add" if form == "current" else f"/api/contacts/{c['id']}/dnc/add/email"
    r = api.post(add, json={"reason": 2, "comments": "bounced"})
    assert r.status_code == 200
    dnc = r.json()["contact"]["doNotContact"]
    assert [(d["channel"], d["reason"], d["comments"]) for d in dnc] == [("email", 2, "bounced")]
    r = api.post(f"/api/contacts/{c['id']}/dnc/sms/add")
    assert {d["channel"]: d["reason"] for d in r.json()["contact"]["doNotContact"]} == {"email": 2, "sms": 3}
    error_of(api.post(add, json={"reason": 0}), 400)
    error_of(api.post(add, json={"reason": 9}), 400)
    remove = f"/api/contacts/{c['id']}/dnc/email/remove" if form == "current" else f"/api/contacts/{c['id']}/dnc/remove/email"
    r = api.post(remove)
    assert r.json()["recordFound"] is True
    assert [d["channel"] for d in r.json()["contact"]["doNotContact"]] == ["sms"]
    assert api.post(remove).json()["recordFound"] is False


def test_notes(api):
    c = new_contact(api, email="notes@example.com")
    text = "Called <b>them</b> & left a message"
    r = api.post("/api/notes/new", json={"lead": c["id"], "text": text, "type": "call", "dateTime": "2024-01-02 03:04:05"})
    assert r.status_code == 201
    note = r.json()["note"]
    assert note["text"] == text and note["type"] == "call" and note["dateTime"] == "2024-01-02T03:04:05+00:00"
    api.post("/api/notes/new", data={"lead": str(c["id"]), "text": "Second"})
    r = api.get(f"/api/contacts/{c['id']}/notes")
    assert r.json()["total"] == 2 and [n["text"] for n in r.json()["notes"]] == ["Second", text]
    assert api.get(f"/api/notes/{note['id']}").json()["note"]["lead"] == {"id": c["id"]}
    error_of(api.post("/api/notes/new", json={"text": "orphan"}), 400)
    error_of(api.post("/api/notes/new", json={"lead": c["id"], "text": ""}), 400)
    error_of(api.post("/api/notes/new", json={"lead": c["id"], "text": "x", "type": "fax"}), 400)
    error_of(api.post("/api/notes/new", json={"lead": 999999, "text": "x"}), 404)
    assert api.delete(f"/api/notes/{note['id']}/delete").status_code == 200
    assert api.get(f"/api/contacts/{c['id']}/notes").json()["total"] == 1


def test_utm_tags_add_and_remove(api):
    c = new_contact(api, email="utm@example.com")
    r = api.post(f"/api/contacts/{c['id']}/utm/add", json={"utm_source": "newsletter", "utm_campaign": "spring", "url": "https://x.test/"})
    assert r.status_code == 200
    utm = r.json()["contact"]["utmtags"]
    assert len(utm) == 1 and utm[0]["utmSource"] == "newsletter" and utm[0]["utmCampaign"] == "spring"
    error_of(api.post(f"/api/contacts/{c['id']}/utm/add", json={"url": "https://x.test/"}), 400)
    r = api.post(f"/api/contacts/{c['id']}/utm/{utm[0]['id']}/remove")
    assert r.json()["recordFound"] is True and r.json()["contact"]["utmtags"] == []
    assert api.post(f"/api/contacts/{c['id']}/utm/{utm[0]['id']}/remove").json()["recordFound"] is False


def test_points_plus_and_minus(api):
    c = new_contact(api, email="points@example.com", points=10)
    assert api.post(f"/api/contacts/{c['id']}/points/plus/5").json() == {"success": 1}
    assert api.post(f"/api/contacts/{c['id']}/points/minus/3", json={"eventName": "Refund"}).status_code == 200
    assert api.get(f"/api/contacts/{c['id']}").json()["contact"]["points"] == 12
    error_of(api.post(f"/api/contacts/{c['id']}/points/sideways/3"), 400)
    error_of(api.post(f"/api/contacts/{c['id']}/points/plus/three"), 400)
    error_of(api.post(f"/api/contacts/{c['id']}/points/divide/0"), 400)
    events = api.get(f"/api/contacts/{c['id']}/activity").json()
    assert events["total"] >= 3 and events["page"] == 1
    kinds = [e["event"] for e in events["events"]]
    assert kinds[:2] == ["points", "points"] and "api_added" in kinds
    only = api.get(f"/api/contacts/{c['id']}/activity", params={"filters[includeEvents][]": "points"}).json()
    assert {e["event"] for e in only["events"]} == {"points"} and only["total"] == 2


def test_list_fields_and_owners(api, admin_credentials):
    fields = api.get("/api/contacts/list/fields").json()
    by_alias = {f["alias"]: f for f in fields.values()}
    assert {"email", "firstname", "country", "points"} <= set(by_alias)
    assert all(key == str(f["id"]) for key, f in fields.items())
    assert by_alias["email"]["isUniqueIdentifier"] is True and by_alias["email"]["object"] == "lead"
    owners = api.get("/api/contacts/list/owners").json()
    assert [(o["id"], o["username"]) for o in owners] == [(1, admin_credentials[0])]
    assert {"firstName", "lastName"} <= set(owners[0])


def test_openapi_document_and_docs(api):
    doc = api.get("/api/openapi.json").json()
    assert "/contacts/new" in doc["paths"] and "/companies/{company_id}/contact/{contact_id}/add" in doc["paths"]
    listing = doc["paths"]["/contacts"]["get"]
    assert listing["tags"] == ["Contacts"]
    assert {"start", "limit", "search", "orderBy", "orderByDir", "minimal"} <= {p["name"] for p in listing["parameters"]}
    assert "application/json" in doc["paths"]["/contacts/new"]["post"]["requestBody"]["content"]
    assert doc["components"]["securitySchemes"]["BasicCredentials"]["scheme"] == "basic"
    docs = api.get("/api/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text


def test_out_of_range_numbers_are_client_errors(api):
    huge = "9" * 25
    c = new_contact(api, email="range@example.com")
    error_of(api.get(f"/api/contacts/{huge}"), 404)
    error_of(api.patch(f"/api/contacts/{huge}/edit", json={"firstname": "x"}), 404)
    error_of(api.get("/api/contacts", params={"start": huge}), 400)
    r = api.get("/api/contacts", params={"search": f"ids:{huge}"})
    if r.status_code == 200:
        assert r.json() == {"total": "0", "contacts": {}}
    else:
        error_of(r, 400)
    error_of(api.post("/api/contacts/new", json={"email": "big@example.com", "points": int(huge)}), 400)
    error_of(api.post(f"/api/contacts/{c['id']}/points/plus/{huge}"), 400)
    error_of(api.post("/api/notes/new", json={"lead": huge, "text": "x"}), 400)
    r = api.patch("/api/contacts/batch/edit", json=[{"id": huge, "firstname": "x"}])
    assert r.json()["statusCodes"] == [400]
    assert api.delete("/api/contacts/batch/delete", params={"ids": huge}).json()["statusCodes"] == [400]


def test_nul_bytes_are_refused_or_kept_intact(api, database):
    r = api.post("/api/contacts/new", json={"email": "nul@example.com", "firstname": "a\x00b"})
    if database.backend == "postgresql":  # PostgreSQL text cannot hold NUL; nothing may be half-stored
        error_of(r, 400)
        assert api.get("/api/contacts").json()["total"] == "0"
    else:
        assert r.status_code == 201 and r.json()["contact"]["fields"]["all"]["firstname"] == "a\x00b"
