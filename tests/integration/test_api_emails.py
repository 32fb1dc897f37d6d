"""``/api/emails`` as a script written for Mautic uses it: create, read, edit, list, delete, and send."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mautic_app import db
from mautic_app.models import EmailSend, EmailStat
from mautic_app.services import email_variants, segments
from tests.integration.conftest import error_of, new_contact


@pytest.fixture
def queued(monkeypatch):
    sent: list[tuple] = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: sent.append((task, *args)) if task.startswith("mautic.emails.") else None)
    return sent


def test_create_read_edit_list_delete(api, session):
    with session() as s:
        seg = segments.save_segment(session=s, values={"name": "Readers"}).id
    r = api.post("/api/emails/new", json={"name": "Autumn", "subject": "Offers for {contactfield=firstname}", "emailType": "list",
                                          "customHtml": "<html><head><style>p{color:red}</style></head><body><p>Hi</p></body></html>",
                                          "lists": [seg], "utmTags": {"utmSource": "mautic"}, "fromAddress": "news@shop.example"})
    assert r.status_code == 201, r.text
    body = r.json()["email"]
    assert (body["name"], body["emailType"], body["sentCount"], body["readCount"]) == ("Autumn", "list", 0, 0)
    assert body["lists"] == [{"id": seg, "name": "Readers"}] and 'style="color: red;"' in body["customHtml"]
    email_id = body["id"]
    assert api.get(f"/api/emails/{email_id}").json()["email"]["subject"] == "Offers for {contactfield=firstname}"
    r = api.patch(f"/api/emails/{email_id}/edit", json={"subject": "New subject", "isPublished": False})
    assert r.status_code == 200 and r.json()["email"]["subject"] == "New subject" and r.json()["email"]["isPublished"] is False
    assert (body["variantParent"], body["translationParent"], body["variantSettings"]) == (None, None, [])
    with session() as s:
        variant = email_variants.add_variant(session=s, email_id=email_id).id
    shown = api.get(f"/api/emails/{variant}").json()["email"]
    assert shown["variantParent"] == {"id": email_id} and shown["variantSettings"]["weight"] == 50
    listed = api.get("/api/emails?search=autumn").json()
    assert listed["total"] == "1" and str(email_id) in listed["emails"]
    assert api.delete(f"/api/emails/{email_id}/delete").status_code == 200
    assert api.get(f"/api/emails/{email_id}").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "X", "subject": "a\r\nBcc: v@x.y"}, "subject"),
    ({"name": "X", "subject": "S", "emailType": "list"}, "segments"),
    ({"name": "X", "subject": "S", "lists": "1"}, "lists"),
    ({"name": "X", "subject": "S", "mjml": "<mjml><mj-body"}, "content"),
    ({"name": "X", "subject": "S", "headers": "X-A: 1"}, "headers"),
])
def test_bad_input_is_a_clear_400(api, body, field):
    r = api.post("/api/emails/new", json=body)
    assert r.status_code == 400, r.text
    assert field in str(error_of(r, 400))


def test_send_to_a_contact_with_tokens(api, session, queued):
    cid = new_contact(api, email="ann@example.com", firstname="Ann")
    email_id = api.post("/api/emails/new", json={"name": "Receipt", "subject": "Order {order}", "customHtml": "<p>{order}</p>"}).json()["email"]["id"]
    r = api.post(f"/api/emails/{email_id}/contact/{cid}/send", json={"tokens": {"{order}": "A-17"}})
    assert r.status_code == 200 and r.json() == {"success": 1}
    with session() as s:
        stat = s.exec(select(EmailStat)).one()
        assert (stat.contact_id, stat.source, stat.tokens, stat.status) == (cid, "api", {"{order}": "A-17"}, "queued")
    assert queued == [("mautic.emails.deliver", stat.id)]
    r = api.post(f"/api/emails/{email_id}/contact/{cid}/send", json={"tokens": {"{order}": "x\r\nBcc: v@x.y"}})
    assert r.status_code == 400
    assert api.post(f"/api/emails/{email_id}/contact/999999/send").status_code == 404
    assert api.post(f"/api/emails/999999/contact/{cid}/send").status_code == 404


def test_send_a_segment_email(api, session, queued):
    cid = new_contact(api, email="bo@example.com")
    with session() as s:
        seg = segments.save_segment(session=s, values={"name": "All"}).id
        segments.add_contacts(session=s, segment_id=seg, contact_ids=[cid])
    email_id = api.post("/api/emails/new", json={"name": "News", "subject": "News", "emailType": "list", "customHtml": "<p>x</p>",
                                                 "lists": [seg]}).json()["email"]["id"]
    r = api.post(f"/api/emails/{email_id}/send")
    assert r.status_code == 200 and r.json()["pendingCount"] == 1
    with session() as s:
        send = s.exec(select(EmailSend)).one()
    assert send.status == "running" and queued[0][:2] == ("mautic.emails.send_broadcast", send.id)
    again = api.post(f"/api/emails/{email_id}/send")
    assert again.status_code == 400 and "already being sent" in again.text


def test_needs_credentials(client):
    assert client.get("/api/emails").status_code == 401
