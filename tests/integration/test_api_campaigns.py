"""``/api/campaigns`` on SQLite and PostgreSQL: Mautic's routes and shapes. A campaign posted as Mautic's API clients
post it (JSON or form-encoded, ``new1`` ids, ``parent``, ``decisionPath``, ``trigger*``) saves, publishes and runs
unchanged; validation errors name the event; membership, a campaign's contacts and a contact's events read as
Mautic's do. Export and import are tested in ``test_campaign_transfer.py``."""

from __future__ import annotations

import copy
import json
from urllib.parse import urlencode

import pytest

from mautic_app import db
from mautic_app.services import campaign_engine
from tests.integration.conftest import error_of, new_contact


@pytest.fixture(autouse=True)
def no_tasks(monkeypatch):
    """Saving queues membership syncs, runs and deliveries; here the test runs the engine itself."""
    monkeypatch.setattr(db, "send_task", lambda *_args: None)


def _segment(api, name: str, contact_ids: list[int]) -> int:
    seg = api.post("/api/segments/new", json={"name": name}).json()["list"]["id"]
    for c in contact_ids:
        assert api.post(f"/api/segments/{seg}/contact/{c}/add").status_code == 200
    return seg


def _email(session, name: str = "Hello mail") -> int:
    from mautic_app.models import Email

    with session() as s:
        e = Email(name=name, subject="Hello", custom_html="<p>Hi</p>", from_address="news@example.org")
        s.add(e)
        s.flush()
        return e.id


def _run(session, campaign_id: int) -> None:
    """What the workers do after a publish: sync the members from the sources, then run what is due. The sync's
    session is committed and closed before the engine opens its own."""
    with session() as s:
        campaign_engine.sync_members(session=s, campaign_id=campaign_id)
    campaign_engine.run_due()


def _php_pairs(value, prefix: str = "") -> list[tuple[str, str]]:
    """``value`` as PHP's http_build_query sends it (``events[0][properties][add_tags][0]=x``)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return [(prefix, "" if value is None else "1" if value is True else "0" if value is False else str(value))]
    out = []
    for k, v in items:
        out += _php_pairs(v, f"{prefix}[{k}]" if prefix else str(k))
    return out


MAUTIC_CLIENT_CAMPAIGN = {  # as Mautic's API library documents a campaign with its events
    "name": "API journey", "description": "Made by a script", "isPublished": False,
    "events": [
        {"id": "new1", "name": "Tag them", "description": "", "type": "lead.changetags", "eventType": "action", "order": 1,
         "properties": {"add_tags": ["api-made"], "remove_tags": []}, "triggerMode": "immediate", "triggerInterval": 1,
         "triggerIntervalUnit": "d", "decisionPath": None, "parent": None},
        {"id": "new2", "name": "Score them", "type": "lead.changepoints", "eventType": "action", "order": 2,
         "properties": {"points": 15}, "triggerMode": "interval", "triggerInterval": 0, "triggerIntervalUnit": "i", "parent": "new1"},
        {"id": "new3", "name": "Do they open?", "type": "email.open", "eventType": "decision", "order": 3, "properties": [], "parent": "new4"},
        {"id": "new4", "name": "Welcome", "type": "email.send", "eventType": "action", "order": 4, "parent": "new2",
         "properties": {"email": 0, "email_type": "marketing"}, "triggerMode": "immediate"},
        {"id": "new5", "name": "Nudge", "type": "lead.changetags", "eventType": "action", "order": 5, "parent": "new3",
         "decisionPath": "no", "properties": {"add_tags": ["quiet"]}, "triggerMode": "interval", "triggerInterval": 3,
         "triggerIntervalUnit": "d"},
    ],
    "canvasSettings": {"nodes": [{"id": "new1", "positionX": "650", "positionY": "17"}, {"id": "lists", "positionX": "629", "positionY": "-100"}],
                       "connections": [{"sourceId": "lists", "targetId": "new1", "anchors": {"source": "leadsource", "target": "top"}}]},
}


def _payload(mail: int, seg: int) -> dict:
    payload = copy.deepcopy(MAUTIC_CLIENT_CAMPAIGN) | {"lists": [{"id": seg}]}
    payload["events"][3]["properties"]["email"] = mail
    return payload


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_a_campaign_posted_as_mautic_clients_post_it_saves_publishes_and_runs(api, session, encoding):
    ids = [new_contact(api, email=f"c{i}@example.com") for i in range(3)]
    seg = _segment(api, "API people", ids)
    mail = _email(session)
    payload = _payload(mail, seg)
    if encoding == "json":
        r = api.post("/api/campaigns/new", json=payload)
    else:  # PHP clients post http_build_query's form: every value a string, lists as [0], [1] ...
        r = api.post("/api/campaigns/new", content=urlencode(_php_pairs(payload)),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/campaigns/{r.json()['campaign']['id']}"
    c = r.json()["campaign"]
    assert c["isPublished"] is False and c["lists"] == [{"id": seg, "name": "API people"}] and c["forms"] == []
    by_name = {e["name"]: e for e in c["events"]}
    assert all(isinstance(e["id"], int) for e in c["events"])
    assert by_name["Tag them"]["parent"] is None and by_name["Score them"]["parent"] == {"id": by_name["Tag them"]["id"]}
    assert by_name["Do they open?"]["eventType"] == "decision" and by_name["Do they open?"]["parent"] == {"id": by_name["Welcome"]["id"]}
    assert by_name["Nudge"]["decisionPath"] == "no" and by_name["Nudge"]["triggerInterval"] == 3
    assert by_name["Nudge"]["triggerIntervalUnit"] == "d" and by_name["Score them"]["triggerMode"] == "interval"
    assert str(by_name["Welcome"]["properties"]["email"]) == str(mail)
    assert {n["id"] for n in c["canvasSettings"]["nodes"]} == {str(by_name["Tag them"]["id"]), "lists"}
    # Nothing runs before it is published.
    _run(session, c["id"])
    assert api.get(f"/api/contacts/{ids[0]}").json()["contact"]["points"] == 0
    published = api.patch(f"/api/campaigns/{c['id']}/edit", json={"isPublished": True})
    assert published.status_code == 200, published.text
    assert published.json()["campaign"]["isPublished"] is True and len(published.json()["campaign"]["events"]) == 5
    _run(session, c["id"])
    for cid in ids:
        contact = api.get(f"/api/contacts/{cid}").json()["contact"]
        assert contact["points"] == 15 and [t["tag"] for t in contact["tags"]] == ["api-made"]
    listed = api.get("/api/campaigns", params={"search": "journey"}).json()
    assert listed["total"] == "1" and listed["campaigns"][str(c["id"])]["members"] == 3
    members = api.get(f"/api/campaigns/{c['id']}/contacts").json()
    assert members["total"] == "3" and {m["lead_id"] for m in members["contacts"]} == {str(i) for i in ids}
    assert members["contacts"][0] | {"lead_id": "x", "date_added": "x"} == {
        "campaign_id": str(c["id"]), "lead_id": "x", "date_added": "x", "manually_removed": "0", "manually_added": "0", "rotation": "1",
        "date_last_exited": None}
    events = api.get(f"/api/campaigns/events/contact/{ids[0]}").json()
    assert events["total"] == 5
    status = {e["event"]["name"]: e["status"] for e in events["events"]}
    assert status == {"Tag them": "done", "Score them": "done", "Welcome": "done", "Do they open?": "waiting", "Nudge": "scheduled"}
    nudge = next(e for e in events["events"] if e["event"]["name"] == "Nudge")
    assert nudge["isScheduled"] is True and nudge["triggerDate"] and nudge["campaign"] == {"id": c["id"], "name": "API journey"}
    assert nudge["event"]["type"] == "lead.changetags" and nudge["rotation"] == 1


def test_list_get_and_order(api):
    assert api.get("/api/campaigns").text == '{"total":"0","campaigns":{}}'
    made = {}
    for name, published in (("Bravo", True), ("Alpha", False), ("Charlie", True)):
        r = api.post("/api/campaigns/new", json={"name": name, "category": "Onboarding" if name != "Charlie" else "Sales"})
        made[name] = r.json()["campaign"]["id"]
        if published:  # publishing needs a source and an event
            seg = _segment(api, f"{name} people", [])
            assert api.patch(f"/api/campaigns/{made[name]}/edit", json={"lists": [{"id": seg}], "isPublished": 1, "events": [
                {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["x"]}}]}).status_code == 200
    listed = api.get("/api/campaigns").json()
    assert listed["total"] == "3" and list(listed["campaigns"]) == [str(made["Alpha"]), str(made["Bravo"]), str(made["Charlie"])]
    one = listed["campaigns"][str(made["Bravo"])]
    assert one["name"] == "Bravo" and one["isPublished"] is True and one["category"] == "Onboarding" and len(one["events"]) == 1
    assert one["members"] == 0 and one["dateAdded"] and "canvasSettings" in one
    newest_first = api.get("/api/campaigns", params={"orderBy": "c.id", "orderByDir": "desc"}).json()
    assert list(newest_first["campaigns"]) == [str(made["Charlie"]), str(made["Alpha"]), str(made["Bravo"])]
    assert len(api.get("/api/campaigns", params={"orderBy": "dateAdded"}).json()["campaigns"]) == 3
    assert api.get("/api/campaigns", params={"orderBy": "'; DROP TABLE campaigns; --"}).json()["total"] == "3"  # unknown: by name
    paged = api.get("/api/campaigns", params={"start": 1, "limit": 1}).json()
    assert paged["total"] == "3" and list(paged["campaigns"]) == [str(made["Bravo"])]
    live = api.get("/api/campaigns", params={"publishedOnly": 1, "limit": 1}).json()
    assert live["total"] == "2" and list(live["campaigns"]) == [str(made["Bravo"])]
    assert api.get("/api/campaigns", params={"search": "sales"}).json()["total"] == "1"
    got = api.get(f"/api/campaigns/{made['Alpha']}").json()["campaign"]
    assert got == listed["campaigns"][str(made["Alpha"])]
    error_of(api.get("/api/campaigns/999999"), 404)
    error_of(api.get("/api/campaigns/99999999999999999999"), 404)


def test_edit_delete_and_batch(api):
    r = api.post("/api/campaigns/new", json={"name": "Draft", "description": "first", "events": [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["x"]}},
        {"id": "new2", "type": "lead.changepoints", "eventType": "action", "parent": "new1", "properties": {"points": 2}}]})
    c = r.json()["campaign"]
    tag, points = c["events"]
    # PATCH keeps what is not sent; sending events edits existing ones by id and removes the others.
    kept = api.patch(f"/api/campaigns/{c['id']}/edit", json={"name": "Renamed"}).json()["campaign"]
    assert kept["name"] == "Renamed" and kept["description"] == "first" and len(kept["events"]) == 2
    edited = api.patch(f"/api/campaigns/{c['id']}/edit", json={"events": [tag | {"properties": {"add_tags": ["y"]}}]}).json()["campaign"]
    assert [e["id"] for e in edited["events"]] == [tag["id"]] and edited["events"][0]["properties"] == {"add_tags": ["y"]}
    # PUT replaces (the description goes), and creates a campaign when the id is missing.
    replaced = api.put(f"/api/campaigns/{c['id']}/edit", json={"name": "Replaced"}).json()["campaign"]
    assert replaced["description"] == "" and replaced["events"] == [] and replaced["id"] == c["id"]
    created = api.put("/api/campaigns/999999/edit", json={"name": "Made by PUT"})
    assert created.status_code == 201 and created.json()["campaign"]["id"] != 999999
    error_of(api.patch("/api/campaigns/999999/edit", json={"name": "x"}), 404)
    deleted = api.delete(f"/api/campaigns/{c['id']}/delete")
    assert deleted.status_code == 200 and deleted.json()["campaign"]["name"] == "Replaced"
    error_of(api.get(f"/api/campaigns/{c['id']}"), 404)
    error_of(api.delete(f"/api/campaigns/{c['id']}/delete"), 404)
    del points
    batch = api.post("/api/campaigns/batch/new", json=[{"name": "B1"}, {"name": ""}, {"name": "B2", "events": [{"id": "new1", "type": "nope"}]}])
    assert batch.status_code == 201 and batch.json()["statusCodes"] == [201, 400, 400]
    b1 = batch.json()["campaigns"]["0"]["id"]
    assert set(batch.json()["errors"]) == {"1", "2"} and "Unknown event type" in batch.json()["errors"]["2"]["message"]
    edits = api.patch("/api/campaigns/batch/edit", json=[{"id": b1, "description": "batch"}, {"id": 999999, "name": "x"}]).json()
    assert edits["statusCodes"] == [200, 404] and edits["campaigns"]["0"]["description"] == "batch"
    gone = api.delete("/api/campaigns/batch/delete", params={"ids": f"{b1},999999"}).json()
    assert gone["statusCodes"] == [200, 404]
    assert api.get("/api/campaigns").json()["total"] == "1"  # the one PUT made


def test_validation_errors_name_the_event(api, session):
    mail = _email(session)
    seg = _segment(api, "Someone", [])
    r = api.post("/api/campaigns/new", json={"name": "Checked", "lists": [{"id": seg}], "events": [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["x"]}}]})
    cid = r.json()["campaign"]["id"]
    # Publishing with broken events is refused with each reason on its event, and nothing changes.
    bad = api.patch(f"/api/campaigns/{cid}/edit", json={"isPublished": True, "events": [
        {"id": "new1", "type": "email.send", "eventType": "action", "properties": {}},
        {"id": "new2", "type": "email.open", "eventType": "decision", "parent": "new1"},
        {"id": "new3", "type": "lead.changepoints", "eventType": "action", "parent": "new2", "decisionPath": "no",
         "properties": {"points": 1}, "triggerMode": "immediate"}]})
    error = error_of(bad, 400)
    details = error["details"]
    event_keys = [k for k in details if k.startswith("events.")]
    assert "isPublished" in details and len(event_keys) >= 2 and all(isinstance(v, list) and v for v in details.values())
    assert any("E-mail" in " ".join(details[k]) for k in event_keys)
    after = api.get(f"/api/campaigns/{cid}").json()["campaign"]
    assert after["isPublished"] is False and [e["type"] for e in after["events"]] == ["lead.changetags"]
    # Shapes that cannot be saved at all.
    unknown = error_of(api.post("/api/campaigns/new", json={"name": "Junk", "events": [{"id": "new1", "type": "rm -rf", "eventType": "action"}]}), 400)
    assert "Unknown event type" in unknown["message"] and "events[0]" in unknown["details"]
    wrong_kind = error_of(api.post("/api/campaigns/new", json={"name": "J", "events": [
        {"id": "new1", "type": "email.open", "eventType": "action"}]}), 400)
    assert "is a decision" in json.dumps(wrong_kind["details"])
    orphan = error_of(api.post("/api/campaigns/new", json={"name": "J", "events": [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "parent": "new9", "properties": {"add_tags": ["x"]}}]}), 400)
    assert any(k.startswith("events.") and "new9" in " ".join(v) for k, v in orphan["details"].items())
    timing = error_of(api.post("/api/campaigns/new", json={"name": "J", "events": [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "triggerMode": "interval", "triggerIntervalUnit": "fortnight"}]}), 400)
    assert "events[0]" in timing["details"]
    assert "name" in error_of(api.post("/api/campaigns/new", json={"events": []}), 400)["details"]
    assert "lists" in error_of(api.post("/api/campaigns/new", json={"name": "J", "lists": [{"id": 999999}]}), 400)["details"]
    error_of(api.post("/api/campaigns/new", content=b"[1, 2]", headers={"Content-Type": "application/json"}), 400)
    error_of(api.post("/api/campaigns/new", content=b"{not json", headers={"Content-Type": "application/json"}), 400)
    assert api.get("/api/campaigns").json()["total"] == "1"
    assert mail


def test_clone(api, session):
    mail = _email(session)
    seg = _segment(api, "Cloned audience", [])
    c = api.post("/api/campaigns/new", json=_payload(mail, seg)).json()["campaign"]
    r = api.post(f"/api/campaigns/clone/{c['id']}")
    assert r.status_code == 201, r.text
    copy_ = r.json()["campaign"]
    assert copy_["id"] != c["id"] and copy_["name"] == "API journey (copy)" and copy_["isPublished"] is False
    assert copy_["lists"] == c["lists"] and len(copy_["events"]) == 5
    old_ids, new_ids = {e["id"] for e in c["events"]}, {e["id"] for e in copy_["events"]}
    assert not old_ids & new_ids
    by_name = {e["name"]: e for e in copy_["events"]}
    assert by_name["Nudge"]["parent"] == {"id": by_name["Do they open?"]["id"]} and by_name["Nudge"]["decisionPath"] == "no"
    error_of(api.post("/api/campaigns/clone/999999"), 404)


def test_contact_membership_and_events(api, session):
    a, b = new_contact(api, email="a@example.com"), new_contact(api, email="b@example.com")
    seg = _segment(api, "Nobody yet", [])
    c = api.post("/api/campaigns/new", json={"name": "By hand", "lists": [{"id": seg}], "isPublished": True, "events": [
        {"id": "new1", "type": "lead.changepoints", "eventType": "action", "properties": {"points": 5}}]}).json()["campaign"]
    assert api.post(f"/api/campaigns/{c['id']}/contact/{a}/add").json() == {"success": 1}
    assert api.post(f"/api/campaigns/{c['id']}/contact/add/{b}").json() == {"success": 1}  # an older client's path
    members = api.get(f"/api/campaigns/{c['id']}/contacts", params={"limit": 1}).json()
    assert members["total"] == "2" and len(members["contacts"]) == 1 and members["contacts"][0]["manually_added"] == "1"
    campaign_engine.run_due()
    assert api.get(f"/api/contacts/{a}").json()["contact"]["points"] == 5
    mine = api.get(f"/api/campaigns/{c['id']}/events/contact/{a}").json()
    assert mine["total"] == 1 and mine["events"][0]["status"] == "done" and mine["campaign"]["id"] == c["id"]
    assert mine["membership"][0]["lead_id"] == str(a) and mine["membership"][0]["manually_added"] == "1"
    assert api.post(f"/api/campaigns/{c['id']}/contact/{a}/remove").json() == {"success": 1}
    assert api.post(f"/api/campaigns/{c['id']}/lead/remove/{b}").json() == {"success": 1}
    assert api.get(f"/api/campaigns/{c['id']}/contacts").json() == {"total": "0", "contacts": []}
    # Added back by hand: a new rotation, and the event runs again.
    assert api.post(f"/api/campaigns/{c['id']}/contact/{a}/add").json() == {"success": 1}
    assert api.get(f"/api/campaigns/{c['id']}/contacts").json()["contacts"][0]["rotation"] == "2"
    campaign_engine.run_due()
    assert api.get(f"/api/contacts/{a}").json()["contact"]["points"] == 10
    assert [e["rotation"] for e in api.get(f"/api/campaigns/events/contact/{a}").json()["events"]] == [1, 2]
    loner = new_contact(api, email="loner@example.com")
    assert api.get(f"/api/campaigns/events/contact/{loner}").json() == {"total": 0, "events": []}
    error_of(api.get(f"/api/campaigns/{c['id']}/events/contact/{loner}"), 409)
    for path in (f"/api/campaigns/{c['id']}/contact/999999/add", f"/api/campaigns/999999/contact/{a}/add",
                 f"/api/campaigns/{c['id']}/contact/999999/remove", f"/api/campaigns/999999/contact/{a}/remove"):
        error_of(api.post(path), 404)
    error_of(api.get("/api/campaigns/999999/contacts"), 404)
    error_of(api.get("/api/campaigns/events/contact/999999"), 404)
    error_of(api.get(f"/api/campaigns/999999/events/contact/{a}"), 404)


def test_every_route_needs_a_user(client):
    for method, path in (("get", "/api/campaigns"), ("get", "/api/campaigns/1"), ("post", "/api/campaigns/new"),
                         ("patch", "/api/campaigns/1/edit"), ("delete", "/api/campaigns/1/delete"), ("post", "/api/campaigns/clone/1"),
                         ("post", "/api/campaigns/1/contact/1/add"), ("post", "/api/campaigns/1/contact/1/remove"),
                         ("get", "/api/campaigns/1/contacts"), ("get", "/api/campaigns/events/contact/1"),
                         ("get", "/api/campaigns/1/export"), ("post", "/api/campaigns/import"), ("post", "/api/campaigns/batch/new")):
        error_of(getattr(client, method)(path), 401)
    wrong = client.get("/api/campaigns", auth=("admin", "not the password"))
    error_of(wrong, 401)


def test_the_openapi_document_describes_the_body(api):
    doc = api.get("/api/openapi.json").json()
    new = doc["paths"]["/campaigns/new"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    event = new["properties"]["events"]["items"]
    assert "lead.changetags" in event["properties"]["type"]["enum"] and event["properties"]["triggerIntervalUnit"]["enum"] == ["i", "h", "d", "m", "y"]
    assert "/campaigns/import" in doc["paths"] and "/campaigns/{campaign_id}/export" in doc["paths"]
    assert doc["paths"]["/campaigns"]["get"]["tags"] == ["Campaigns"]


def test_json_nested_past_the_parsers_depth_is_a_400_not_a_500(api):
    r = api.post("/api/campaigns/new", content=b"[" * 100_000, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.text
