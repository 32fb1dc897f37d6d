"""The segments REST API against real databases: Mautic's shapes, filters in its JSON form, membership."""

from __future__ import annotations

import pytest

from mautic_app import db
from tests.integration.conftest import error_of, new_contact


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Saving queues a rebuild; here the rebuild runs at once instead of on a worker."""
    from mautic_app.tasks import segments as segment_tasks

    monkeypatch.setattr(db, "send_task", lambda task, *args: segment_tasks.rebuild(*args) if task == "mautic.segments.rebuild" else None)
    monkeypatch.setattr(segment_tasks, "contacts_changed", lambda payload: None)




MAUTIC_FILTER = {"glue": "and", "field": "city", "object": "lead", "type": "text", "operator": "=", "properties": {"filter": "Berlin"}}


def test_requires_auth(client):
    error_of(client.get("/api/segments"), 401)
    error_of(client.post("/api/segments/1/contact/1/add"), 401)


def test_segment_crud_with_mautic_filters_and_search(api):
    assert api.get("/api/segments").text == '{"total":"0","lists":{}}'
    berlin = new_contact(api, email="b@example.com", city="Berlin")
    new_contact(api, email="m@example.com", city="Munich")
    r = api.post("/api/segments/new", json={"name": "Berliners", "filters": [MAUTIC_FILTER]})
    assert r.status_code == 201, r.text
    seg = r.json()["list"]
    assert seg["alias"] == "berliners" and seg["isPublished"] is True
    assert seg["filters"][0]["properties"] == {"filter": "Berlin"} and seg["filters"][0]["operator"] == "="
    got = api.get(f"/api/segments/{seg['id']}").json()["list"]
    assert got["contactCount"] == 1 and got["lastBuiltDate"]  # built once the save committed
    found = api.get("/api/contacts", params={"search": "segment:berliners"}).json()
    assert list(found["contacts"]) == [str(berlin)]
    assert api.get(f"/api/contacts/{berlin}/segments").json()["lists"][str(seg["id"])]["alias"] == "berliners"
    r = api.patch(f"/api/segments/{seg['id']}/edit", json={"description": "<b>city</b>"})
    assert r.json()["list"]["description"] == "<b>city</b>" and r.json()["list"]["name"] == "Berliners"
    listing = api.get("/api/segments", params={"search": "berl"}).json()
    assert listing["total"] == "1" and listing["lists"][str(seg["id"])]["name"] == "Berliners"
    assert api.delete(f"/api/segments/{seg['id']}/delete").status_code == 200
    error_of(api.get(f"/api/segments/{seg['id']}"), 404)


def test_manual_membership_routes(api):
    seg = api.post("/api/segments/new", json={"name": "Hand picked"}).json()["list"]
    a, b = new_contact(api, email="a@example.com"), new_contact(api, email="b2@example.com")
    assert api.post(f"/api/segments/{seg['id']}/contact/{a}/add").json() == {"success": 1}
    r = api.post(f"/api/segments/{seg['id']}/contacts/add", json={"ids": [b, 999999, "x"]})
    assert r.json()["details"] == {str(b): {"success": True}, "999999": {"success": False}, "x": {"success": False}}
    assert set(api.get("/api/contacts", params={"search": "segment:hand-picked"}).json()["contacts"]) == {str(a), str(b)}
    assert api.post(f"/api/segments/{seg['id']}/contact/{a}/remove").json() == {"success": 1}
    assert set(api.get("/api/contacts", params={"search": "segment:hand-picked"}).json()["contacts"]) == {str(b)}
    error_of(api.post(f"/api/segments/{seg['id']}/contact/999999/add"), 404)
    error_of(api.post(f"/api/segments/999999/contact/{a}/add"), 404)
    assert [s["alias"] for s in api.get("/api/contacts/list/segments").json()] == ["hand-picked"]


@pytest.mark.parametrize("filters, field", [
    ([{"field": "nosuch", "operator": "=", "properties": {"filter": "x"}}], "filters"),
    ([{"field": "city", "operator": "regexp", "properties": {"filter": "(["}}], "filters"),
    ([{"field": "city", "operator": "; DROP TABLE contacts", "filter": "x"}], "filters"),
    ("not a list", "filters"),
])
def test_bad_filters_are_400_with_details(api, filters, field):
    err = error_of(api.post("/api/segments/new", json={"name": "Bad", "filters": filters}), 400)
    assert field in err["details"]


def test_sql_in_a_value_is_matched_literally(api):
    weird = new_contact(api, email="w@example.com", city="x' OR '1'='1")
    new_contact(api, email="n@example.com", city="Normal")
    seg = api.post("/api/segments/new", json={"name": "Weird", "filters": [
        {"field": "city", "operator": "=", "properties": {"filter": "x' OR '1'='1"}}]}).json()["list"]
    assert api.get(f"/api/segments/{seg['id']}").json()["list"]["contactCount"] == 1
    assert list(api.get("/api/contacts", params={"search": "segment:weird"}).json()["contacts"]) == [str(weird)]
