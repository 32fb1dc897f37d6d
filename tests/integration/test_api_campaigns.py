"""``/api/campaigns``: Mautic's routes and shapes. A campaign posted as Mautic's API clients post it saves and runs
unchanged; validation errors name the event; export and import move a campaign between instances and refuse files
that are not campaign exports."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from mautic_app import db
from mautic_app.services import campaign_engine
from tests.integration.conftest import new_contact


@pytest.fixture(autouse=True)
def no_tasks(monkeypatch):
    monkeypatch.setattr(db, "send_task", lambda *_args: None)


def _segment(api, name: str, contact_ids: list[int]) -> int:
    seg = api.post("/api/segments/new", json={"name": name}).json()["list"]["id"]
    for c in contact_ids:
        assert api.post(f"/api/segments/{seg}/contact/{c}/add").status_code == 200
    return seg


def _email(session) -> int:
    from mautic_app.models import Email

    with session() as s:
        e = Email(name="Hello mail", subject="Hello", custom_html="<p>Hi</p>", from_address="news@example.org")
        s.add(e)
        s.flush()
        return e.id


MAUTIC_CLIENT_CAMPAIGN = {  # as Mautic's API library documents it
    "name": "API journey", "description": "Made by a script", "isPublished": True,
    "events": [
        {"id": "new1", "name": "Tag them", "description": "", "type": "lead.changetags", "eventType": "action", "order": 1,
         "properties": {"add_tags": ["api-made"], "remove_tags": []}, "triggerMode": "immediate", "triggerInterval": 0,
         "triggerIntervalUnit": "d", "decisionPath": None, "parent": None},
        {"id": "new2", "name": "Score them", "type": "lead.changepoints", "eventType": "action", "order": 2,
         "properties": {"points": 15}, "triggerMode": "interval", "triggerInterval": 0, "triggerIntervalUnit": "i", "parent": "new1"},
        {"id": "new3", "name": "Do they open?", "type": "email.open", "eventType": "decision", "order": 3, "properties": [], "parent": "new4"},
        {"id": "new4", "name": "Welcome", "type": "email.send", "eventType": "action", "order": 4, "parent": "new2",
         "properties": {"email": 0, "email_type": "marketing"}, "triggerMode": "immediate"},
    ],
    "canvasSettings": {"nodes": [{"id": "new1", "positionX": "650", "positionY": "17"}, {"id": "lists", "positionX": "629", "positionY": "-100"}],
                       "connections": [{"sourceId": "lists", "targetId": "new1", "anchors": {"source": "leadsource", "target": "top"}}]},
}


def test_a_campaign_posted_as_mautic_clients_post_it_saves_and_runs(api, session):
    ids = [new_contact(api, email=f"c{i}@example.com") for i in range(3)]
    seg = _segment(api, "API people", ids)
    mail = _email(session)
    payload = json.loads(json.dumps(MAUTIC_CLIENT_CAMPAIGN).replace('"email": 0', f'"email": {mail}')) | {"lists": [{"id": seg}]}
    r = api.post("/api/campaigns/new", json=payload)
    assert r.status_code == 201, r.text
    c = r.json()["campaign"]
    assert c["isPublished"] is True and c["lists"] == [{"id": seg, "name": "API people"}]
    by_name = {e["name"]: e for e in c["events"]}
    assert by_name["Score them"]["parent"] == {"id": by_name["Tag them"]["id"]}
    assert by_name["Do they open?"]["eventType"] == "decision" and by_name["Welcome"]["properties"]["email"] == mail
    assert {n["id"] for n in c["canvasSettings"]["nodes"]} == {str(by_name["Tag them"]["id"]), "lists"}
    with session() as s:
        campaign_engine.sync_members(session=s, campaign_id=c["id"])
    campaign_engine.run_due()
    for cid in ids:
        contact = api.get(f"/api/contacts/{cid}").json()["contact"]
        assert contact["points"] == 15 and [t["tag"] for t in contact["tags"]] == ["api-made"]
    listed = api.get("/api/campaigns", params={"search": "journey"}).json()
    assert listed["total"] == "1" and listed["campaigns"][str(c["id"])]["members"] == 3
    members = api.get(f"/api/campaigns/{c['id']}/contacts").json()
    assert members["total"] == "3" and {m["lead_id"] for m in members["contacts"]} == {str(i) for i in ids}
    events = api.get(f"/api/campaigns/events/contact/{ids[0]}").json()
    assert {e["event"]["name"] for e in events["events"]} == {"Tag them", "Score them", "Welcome", "Do they open?"}
    waiting = next(e for e in events["events"] if e["event"]["name"] == "Do they open?")
    assert waiting["status"] == "waiting" and waiting["campaign"]["name"] == "API journey"


def test_edit_clone_membership_delete_and_errors(api, session):
    contact = new_contact(api, email="m@example.com")
    r = api.post("/api/campaigns/new", json={"name": "Draft", "events": [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["x"]}}]})
    cid = r.json()["campaign"]["id"]
    # Publishing without a source, with a broken event, is refused with the reason on the event.
    bad = api.patch(f"/api/campaigns/{cid}/edit", json={"isPublished": True, "events": [
        {"id": "new1", "type": "email.send", "eventType": "action", "properties": {}}]})
    assert bad.status_code == 400
    details = bad.json()["errors"][0]["details"]
    assert "isPublished" in details and any(k.startswith("events.") and "E-mail" in " ".join(v) for k, v in details.items())
    assert api.get(f"/api/campaigns/{cid}").json()["campaign"]["isPublished"] is False
    assert api.patch(f"/api/campaigns/{cid}/edit", json={"name": "Renamed"}).json()["campaign"]["events"][0]["type"] == "lead.changetags"
    junk = api.post("/api/campaigns/new", json={"name": "Junk", "events": [{"id": "new1", "type": "rm -rf", "eventType": "action"}]})
    assert junk.status_code == 400 and "Unknown event type" in junk.text
    assert api.post(f"/api/campaigns/{cid}/contact/{contact}/add").json() == {"success": 1}
    assert api.get(f"/api/campaigns/{cid}/contacts").json()["contacts"][0]["manually_added"] == "1"
    assert api.post(f"/api/campaigns/{cid}/contact/{contact}/remove").json() == {"success": 1}
    assert api.get(f"/api/campaigns/{cid}/contacts").json()["total"] == "0"
    assert api.post(f"/api/campaigns/{cid}/contact/999999/add").status_code == 404
    copy = api.post(f"/api/campaigns/clone/{cid}")
    assert copy.status_code == 201 and copy.json()["campaign"]["name"] == "Renamed (copy)"
    assert api.delete(f"/api/campaigns/{cid}/delete").status_code == 200
    assert api.get(f"/api/campaigns/{cid}").status_code == 404
    assert api.get("/api/campaigns/999999").status_code == 404


def test_the_api_needs_a_user(client):
    assert client.get("/api/campaigns").status_code == 401


def test_export_then_import_makes_a_copy_whose_references_resolve(api, session):
    seg = _segment(api, "Exported audience", [new_contact(api, email="x@example.com")])
    mail = _email(session)
    made = api.post("/api/campaigns/new", json={"name": "Travelling", "lists": [{"id": seg}], "events": [
        {"id": "new1", "type": "email.send", "eventType": "action", "properties": {"email": mail}},
        {"id": "new2", "type": "lead.changelist", "eventType": "action", "parent": "new1", "properties": {"addToLists": [seg]}},
        {"id": "new3", "type": "campaign.jump_to_event", "eventType": "action", "parent": "new2", "properties": {"jumpToEvent": "new1"},
         "triggerMode": "interval", "triggerInterval": 7, "triggerIntervalUnit": "d"}]}).json()["campaign"]
    exported = api.get(f"/api/campaigns/{made['id']}/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    doc = exported.json()
    assert doc["format"] == "mautic-app-campaign" and [m["name"] for m in doc["emails"]] == ["Hello mail"]
    # Into "another instance": the e-mail and segment are gone there, so the import creates them.
    with session() as s:
        s.execute(sa.text("DELETE FROM campaigns"))
        s.execute(sa.text("DELETE FROM emails"))
        s.execute(sa.text("DELETE FROM segments"))
    r = api.post("/api/campaigns/import", content=json.dumps(doc), headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    c = r.json()["campaign"]
    events = {e["type"]: e for e in c["events"]}
    new_mail = events["email.send"]["properties"]["email"]
    assert new_mail != mail and c["isPublished"] is False and c["lists"][0]["name"] == "Exported audience"
    assert events["lead.changelist"]["properties"]["addToLists"] == [c["lists"][0]["id"]]
    assert events["campaign.jump_to_event"]["properties"]["jumpToEvent"] == events["email.send"]["id"]
    with session() as s:
        assert s.execute(sa.text("SELECT name, custom_html FROM emails")).one() == ("Hello mail", "<p>Hi</p>")
    # As a file upload too, matching what now exists instead of creating it again.
    again = api.post("/api/campaigns/import", files={"file": ("campaign.json", json.dumps(doc).encode(), "application/json")})
    assert again.status_code == 201 and {e["type"]: e for e in again.json()["campaign"]["events"]}["email.send"]["properties"]["email"] == new_mail


@pytest.mark.parametrize(("content", "kind", "status"), [
    (b"<?php system($_GET['c']); ?>", "application/json", 400),
    (b'{"format": "something else", "version": 1, "campaign": {}}', "application/json", 400),
    (b'{"format": "mautic-app-campaign", "version": 1, "campaign": ' + b'{"a": ' * 50 + b"1" + b"}" * 50 + b"}", "application/json", 400),
    (b"x" * (5 * 1024 * 1024 + 10), "application/json", 413),
    (b"name,events\n", "text/csv", 400),
])
def test_import_refuses_what_is_not_a_campaign_export(api, content, kind, status):
    r = api.post("/api/campaigns/import", content=content, headers={"Content-Type": kind})
    assert r.status_code == status, r.text
    assert api.get("/api/campaigns").json()["total"] == "0"


def test_import_never_uses_a_value_as_a_path(api, tmp_path):
    doc = {"format": "mautic-app-campaign", "version": 1,
           "campaign": {"name": "../../etc/passwd", "events": [{"id": "../x", "type": "lead.changetags", "eventType": "action",
                                                                "properties": {"add_tags": ["../../../tmp/evil"], "file": "/etc/passwd"}}]},
           "emails": [{"id": 1, "name": "../../../../tmp/pwned", "custom_html": "<script>alert(1)</script>"}], "segments": [], "forms": []}
    r = api.post("/api/campaigns/import", content=json.dumps(doc), headers={"Content-Type": "application/json"})
    assert r.status_code == 201
    c = r.json()["campaign"]
    assert c["name"] == "../../etc/passwd" and c["events"][0]["properties"]["add_tags"] == ["../../../tmp/evil"]  # inert text
    assert not (tmp_path.parent / "pwned").exists()
