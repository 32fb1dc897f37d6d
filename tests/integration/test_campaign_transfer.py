"""Campaign export and import on SQLite and PostgreSQL (``services.campaign_transfer`` and its two API routes).

A round trip into the same database makes a copy whose references resolve to the same records; into "another
instance" (the records renamed away) it creates what is missing. The import treats the file as hostile, as Mautic's
own import should have (GHSA-6r9h-4h75-7q4x: path traversal, unrestricted upload): anything that is not this
product's JSON export is refused with a reason, values that look like paths stay inert text, keys that look like
paths are ignored, an e-mail's MJML cannot include a file, a form arrives without its actions and without risky
file types, and nothing is written to disk — not even a temporary file for a large multipart upload.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import sqlalchemy as sa

from mautic_app import db
from mautic_app.models import Campaign, Email, Form, FormAction, FormField, PointGroup, Segment, Stage
from mautic_app.services import campaign_transfer, campaigns, emails, forms, segments
from tests.integration.conftest import error_of

JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def no_tasks(monkeypatch):
    monkeypatch.setattr(db, "send_task", lambda *_args: None)


# ------------------------------------------------------------------ a campaign that uses one of everything


def _world(session) -> dict[str, int]:
    """E-mails, segments (one with a filter naming another segment), a form with a risky file field and an action,
    a stage, a point group and a campaign using all of them; returns their ids."""
    ids: dict[str, int] = {}
    with session() as s:
        ids["welcome"] = emails.save_email(session=s, values={"name": "Welcome mail", "subject": "Welcome {contactfield=firstname}",
                                                              "custom_html": "<p style='color: #123456'>Hi</p>",
                                                              "from_address": "news@example.org", "language": "de"}).id
        ids["alert"] = emails.save_email(session=s, values={"name": "Internal alert", "subject": "A lead", "custom_html": "<p>Look</p>"}).id
        ids["base"] = segments.save_segment(session=s, values={"name": "Base"}).id
        ids["berliners"] = segments.save_segment(session=s, values={"name": "Berliners", "alias": "berlin-people", "filters": [
            {"glue": "and", "field": "city", "operator": "=", "value": "Berlin"},
            {"glue": "and", "field": "leadlist", "operator": "in", "value": [ids["base"]]}]}).id
        ids["newsletter"] = segments.save_segment(session=s, values={"name": "Newsletter"}).id
        ids["signup"] = forms.save_form(session=s, form_id=None, values={"name": "Signup", "alias": "signup", "form_type": "campaign"},
                                        fields=[{"label": "E-mail", "alias": "email", "type": "email", "mapped_object": "contact",
                                                 "mapped_field": "email", "is_required": True},
                                                {"label": "CV", "alias": "cv", "type": "file",
                                                 "properties": {"allowed_extensions": ["pdf", "php", "html"], "max_size_mb": 2}}],
                                        actions=[{"type": "lead.addutmtags", "name": "UTM"}]).id
        stage, group = Stage(name="Qualified"), PointGroup(name="Engagement")
        s.add_all([stage, group])
        s.flush()
        ids["stage"], ids["group"] = stage.id, group.id
        other = campaigns.save_campaign(session=s, values={"name": "Other campaign"})
        ids["other"] = other.id
        c = campaigns.save_campaign(session=s, values={
            "name": "Travelling", "description": "Goes everywhere", "category": "Journeys", "allowRestart": True,
            "lists": [{"id": ids["berliners"]}], "forms": [{"id": ids["signup"]}],
            "events": [
                {"id": "new1", "name": "Welcome", "type": "email.send", "eventType": "action", "properties": {"email": ids["welcome"]}},
                {"id": "new2", "name": "Opened?", "type": "email.open", "eventType": "decision", "parent": "new1"},
                {"id": "new3", "name": "Subscribe", "type": "lead.changelist", "eventType": "action", "parent": "new2", "decisionPath": "yes",
                 "properties": {"addToLists": [ids["newsletter"]], "removeFromLists": []}},
                {"id": "new4", "name": "Engage", "type": "lead.changepoints", "eventType": "action", "parent": "new2", "decisionPath": "no",
                 "properties": {"points": 3, "group": ids["group"]}, "triggerMode": "interval", "triggerInterval": 2, "triggerIntervalUnit": "d"},
                {"id": "new5", "name": "Qualify", "type": "stage.change", "eventType": "action", "parent": "new3",
                 "properties": {"stage": ids["stage"]}},
                {"id": "new6", "name": "Berliner?", "type": "lead.segments", "eventType": "condition", "parent": "new5",
                 "properties": {"segments": [ids["berliners"]]}},
                {"id": "new7", "name": "Tell the boss", "type": "email.send.to.user", "eventType": "action", "parent": "new6",
                 "decisionPath": "yes", "properties": {"useremail": ids["alert"], "user_id": [1], "to": "boss@example.com"}},
                {"id": "new8", "name": "Again", "type": "campaign.jump_to_event", "eventType": "action", "parent": "new6",
                 "decisionPath": "no", "properties": {"jumpToEvent": "new1"}, "triggerMode": "interval", "triggerInterval": 7,
                 "triggerIntervalUnit": "d"},
                {"id": "new9", "name": "Move on", "type": "campaign.addremovelead", "eventType": "action", "parent": "new7",
                 "properties": {"addTo": [ids["other"]], "removeFrom": ["this"]}},
                {"id": "new10", "name": "Signed up with us?", "type": "form.field_value", "eventType": "condition", "parent": "new4",
                 "properties": {"form": ids["signup"], "field": "email", "operator": "=", "value": "x@example.com"}},
            ],
            "canvasSettings": {"nodes": [{"id": "lists", "positionX": 10, "positionY": 0}, {"id": "new1", "positionX": 20, "positionY": 100}]}})
        ids["campaign"] = c.id
    return ids


def _export(session, campaign_id: int) -> dict:
    with session() as s:
        return campaign_transfer.export_campaign(session=s, campaign_id=campaign_id)


def _import(session, doc: dict | bytes, notes: list[str] | None = None) -> dict:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    with session() as s:
        c = campaign_transfer.import_campaign(session=s, data=data, user_id=1, notes=notes)
        return campaigns.campaign_json(session=s, campaign_id=c.id)


def _counts(session) -> dict[str, int]:
    with session() as s:
        return {m.__name__: s.execute(sa.select(sa.func.count()).select_from(m)).scalar_one()
                for m in (Campaign, Email, Segment, Form, FormField, FormAction, Stage, PointGroup)}


def _by_name(campaign: dict) -> dict[str, dict]:
    return {e["name"]: e for e in campaign["events"]}


# ------------------------------------------------------------------ round trips


def test_export_holds_the_campaign_and_what_it_uses(session):
    ids = _world(session)
    doc = _export(session, ids["campaign"])
    assert doc["format"] == "mautic-app-campaign" and doc["version"] == 1 and doc["campaign"]["name"] == "Travelling"
    assert {m["name"] for m in doc["emails"]} == {"Welcome mail", "Internal alert"}
    welcome = next(m for m in doc["emails"] if m["name"] == "Welcome mail")
    assert welcome["subject"] == "Welcome {contactfield=firstname}" and "#123456" in welcome["custom_html"] and welcome["language"] == "de"
    assert {s["name"] for s in doc["segments"]} == {"Berliners", "Newsletter"}
    assert next(s for s in doc["segments"] if s["name"] == "Berliners")["alias"] == "berlin-people"
    [form] = doc["forms"]
    assert form["name"] == "Signup" and form["alias"] == "signup" and [f["alias"] for f in form["fields"]] == ["email", "cv"]
    assert doc["stages"] == [{"id": ids["stage"], "name": "Qualified"}] and doc["groups"] == [{"id": ids["group"], "name": "Engagement"}]
    assert doc["focus"] == []
    json.dumps(doc)  # one JSON document
    with pytest.raises(campaigns.CampaignError) as missing, session() as s:
        campaign_transfer.export_campaign(session=s, campaign_id=999999)
    assert missing.value.status == 404


def test_round_trip_into_the_same_database_makes_a_copy_whose_references_resolve(session):
    ids = _world(session)
    before = _counts(session)
    original = _export(session, ids["campaign"])["campaign"]
    notes: list[str] = []
    copy = _import(session, _export(session, ids["campaign"]), notes)
    after = _counts(session)
    assert after == before | {"Campaign": before["Campaign"] + 1}  # everything matched by name: nothing else created
    assert copy["id"] != ids["campaign"] and copy["name"] == "Travelling" and copy["isPublished"] is False
    assert copy["description"] == "Goes everywhere" and copy["category"] == "Journeys" and copy["allowRestart"] is True
    assert copy["lists"] == original["lists"] and copy["forms"] == original["forms"]
    old, new = _by_name(original), _by_name(copy)
    assert set(old) == set(new) and not {e["id"] for e in original["events"]} & {e["id"] for e in copy["events"]}
    for name, e in new.items():  # the same tree, on the new events
        parent = old[name]["parent"]
        assert (e["parent"] is None) == (parent is None)
        if parent:
            assert new[next(n for n, x in old.items() if x["id"] == parent["id"])]["id"] == e["parent"]["id"]
        assert e["decisionPath"] == old[name]["decisionPath"] and e["triggerMode"] == old[name]["triggerMode"]
        assert e["triggerInterval"] == old[name]["triggerInterval"] and e["type"] == old[name]["type"]
    assert new["Welcome"]["properties"]["email"] == ids["welcome"]
    assert new["Subscribe"]["properties"]["addToLists"] == [ids["newsletter"]]
    assert new["Engage"]["properties"]["group"] == ids["group"] and new["Qualify"]["properties"]["stage"] == ids["stage"]
    assert new["Berliner?"]["properties"]["segments"] == [ids["berliners"]]
    assert new["Tell the boss"]["properties"]["useremail"] == ids["alert"]
    assert new["Signed up with us?"]["properties"]["form"] == ids["signup"]
    assert new["Again"]["properties"]["jumpToEvent"] == new["Welcome"]["id"]
    # Another instance's users and campaigns mean nothing here: cleared, and said so.
    assert new["Tell the boss"]["properties"]["user_id"] == [] and new["Tell the boss"]["properties"]["to"] == "boss@example.com"
    assert new["Move on"]["properties"] == {"addTo": [], "removeFrom": ["this"]}
    assert {n["id"] for n in copy["canvasSettings"]["nodes"]} == {"lists", str(new["Welcome"]["id"])}
    assert any("users" in n for n in notes) and any("other campaigns" in n for n in notes)
    assert any("boss@example.com" in n for n in notes) and notes[-1].startswith("The campaign is unpublished")
    # The references resolve: the copy passes the checks publishing makes.
    with session() as s:
        assert campaigns.validate(session=s, campaign_id=copy["id"]) == []
        campaigns.set_published(session=s, campaign_id=copy["id"], published=True)


def test_import_into_another_instance_creates_what_is_missing(session):
    ids = _world(session)
    doc = _export(session, ids["campaign"])
    with session() as s:  # "another instance": none of these names exist there, the point group aside
        for table in ("emails", "segments", "forms", "stages"):
            s.execute(sa.text(f"UPDATE {table} SET name = 'Old ' || name"))
        s.execute(sa.text("UPDATE segments SET alias = 'old-' || alias"))
        s.execute(sa.text("UPDATE forms SET alias = 'old_' || alias"))
    before = _counts(session)
    notes: list[str] = []
    copy = _import(session, doc, notes)
    after = _counts(session)
    assert after["Email"] == before["Email"] + 2 and after["Segment"] == before["Segment"] + 2 and after["Form"] == before["Form"] + 1
    assert after["FormAction"] == before["FormAction"] and after["Stage"] == before["Stage"]
    new = _by_name(copy)
    with session() as s:
        welcome = s.get(Email, new["Welcome"]["properties"]["email"])
        assert welcome.id != ids["welcome"] and welcome.name == "Welcome mail" and welcome.subject == "Welcome {contactfield=firstname}"
        assert "#123456" in welcome.custom_html and welcome.from_address == "news@example.org" and welcome.language == "de"
        assert welcome.email_type == "template" and welcome.is_published
        alert = s.get(Email, new["Tell the boss"]["properties"]["useremail"])
        assert alert.name == "Internal alert" and alert.id != ids["alert"]
        [source] = copy["lists"]
        berliners = s.get(Segment, source["id"])
        assert berliners.name == "Berliners" and berliners.alias == "berlin-people" and berliners.id != ids["berliners"]
        # Its city filter came along; the one naming the other instance's segment 'Base' did not.
        assert [f["field"] for f in berliners.filters] == ["city"]
        assert new["Berliner?"]["properties"]["segments"] == [berliners.id]
        newsletter = s.get(Segment, new["Subscribe"]["properties"]["addToLists"][0])
        assert newsletter.name == "Newsletter" and newsletter.id != ids["newsletter"]
        [form_source] = copy["forms"]
        form = s.get(Form, form_source["id"])
        assert form.name == "Signup" and form.alias == "signup" and form.is_published is False and form.form_type == "campaign"
        assert new["Signed up with us?"]["properties"]["form"] == form.id
        assert s.execute(sa.select(sa.func.count()).select_from(FormAction).where(FormAction.form_id == form.id)).scalar_one() == 0
        fields = {f.alias: f for f in s.execute(sa.select(FormField).where(FormField.form_id == form.id)).scalars()}
        assert fields["email"].mapped_field == "email" and fields["email"].is_required
        assert fields["cv"].properties["allowed_extensions"] == ["pdf"]  # php and html are not accepted from a file
    assert new["Engage"]["properties"]["group"] == ids["group"]  # matched by name
    assert new["Qualify"]["properties"]["stage"] is None  # no stage of that name here: chosen again
    text = " ".join(notes)
    for said in ("Created the e-mail 'Welcome mail'", "Created the segment 'Berliners'", "filter(s) naming the other instance",
                 "Created the form 'Signup'", "limited to the usual file types", "No stage named 'Qualified'"):
        assert said in text, said


def test_the_api_exports_and_imports(api, session):
    ids = _world(session)
    r = api.get(f"/api/campaigns/{ids['campaign']}/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.headers["content-disposition"] == f'attachment; filename="campaign-{ids["campaign"]}.json"'
    doc = r.json()
    assert doc["campaign"]["id"] == ids["campaign"] and len(doc["emails"]) == 2
    error_of(api.get("/api/campaigns/999999/export"), 404)
    made = api.post("/api/campaigns/import", content=r.content, headers=JSON)
    assert made.status_code == 201, made.text
    assert made.json()["campaign"]["isPublished"] is False and made.json()["campaign"]["name"] == "Travelling"
    assert made.json()["notes"][-1].startswith("The campaign is unpublished")
    upload = api.post("/api/campaigns/import", files={"file": ("campaign.json", r.content, "application/json")})
    assert upload.status_code == 201, upload.text
    assert _by_name(upload.json()["campaign"])["Welcome"]["properties"]["email"] == ids["welcome"]
    assert api.get("/api/campaigns").json()["total"] == "4"  # the two in _world and the two imported
    error_of(api.post("/api/campaigns/import", files={"other": ("campaign.json", r.content, "application/json")}), 400)
    error_of(api.post("/api/campaigns/import", data={"file": r.text}), 400)  # a text field, not a file: not multipart
    for kind in ("text/csv", "application/x-www-form-urlencoded", "application/zip", "text/plain", ""):
        error_of(api.post("/api/campaigns/import", content=r.content, headers={"Content-Type": kind}), 400)


# ------------------------------------------------------------------ refusals


def _doc(**campaign) -> dict:
    return {"format": "mautic-app-campaign", "version": 1, "campaign": {"name": "Imported", **campaign}, "emails": [], "segments": []}


REFUSED = [
    pytest.param(b"<?php system($_GET['c']); ?>", "not JSON", id="php"),
    pytest.param(b"\xff\xfe\x00garbage", "not JSON", id="binary"),
    pytest.param(b"PK\x03\x04" + b"\x00" * 64, "not JSON", id="zip"),
    pytest.param(b"", "not JSON", id="empty"),
    pytest.param(b"[1, 2, 3]", "not a campaign export", id="a-list"),
    pytest.param(b'"just a string"', "not a campaign export", id="a-string"),
    pytest.param(b'{"format": "something else", "version": 1, "campaign": {}}', "not a campaign export", id="format"),
    pytest.param(b'{"format": "mautic-app-campaign", "version": 2, "campaign": {}}', "not a campaign export", id="version"),
    pytest.param(b'{"format": "mautic-app-campaign", "version": 1, "campaign": "../../etc/passwd"}', "not a campaign export", id="campaign"),
    pytest.param(b'{"format": "mautic-app-campaign", "version": 1, "campaign": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}",
                 "nested too deeply", id="nested"),
    pytest.param(b'{"format": "mautic-app-campaign", "version": 1, "campaign": {"x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}}",
                 "nested too deeply", id="nested-past-the-parser"),
    pytest.param(b"[" * 500_000, "nested too deeply", id="unclosed"),
    pytest.param(json.dumps(_doc(description=float("nan"))).encode(), "not JSON", id="nan"),
    pytest.param(b'{"format": "mautic-app-campaign", "version": 1, "campaign": {"x": 1e999999}}', "not JSON", id="infinity"),
    pytest.param(json.dumps(_doc(tags=list(range(5000)))).encode(), "list of more than", id="wide"),
    pytest.param(json.dumps(_doc(description="x" * 1_000_001)).encode(), "longer than", id="long"),
    pytest.param(json.dumps(_doc(events="../../etc/passwd")).encode(), "events must be a list", id="events"),
    pytest.param(json.dumps(_doc() | {"emails": "../../etc/passwd"}).encode(), "emails must be a list", id="emails"),
    pytest.param(json.dumps(_doc(events=[{"id": 1, "type": "lead.changetags", "eventType": "action"},
                                         {"id": 1, "type": "lead.changetags", "eventType": "action"}])).encode(), "share the id", id="twins"),
    pytest.param(json.dumps(_doc(events=[{"id": 1, "type": "system.exec", "eventType": "action",
                                          "properties": {"command": "rm -rf /"}}])).encode(), "Unknown event type", id="type"),
    pytest.param(json.dumps(_doc(events=[{"id": 1, "type": "lead.changetags", "eventType": "action", "parent": 7}])).encode(),
                 "not an event of this campaign", id="orphan"),
    pytest.param(json.dumps(_doc() | {"emails": [{"id": 1, "name": "Bcc", "subject": "Hi\r\nBcc: spy@example.com"}]}).encode(),
                 "cannot be created", id="header-injection"),
]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # parsing and refusing do not depend on the database
@pytest.mark.parametrize(("data", "reason"), REFUSED)
def test_import_refuses_what_is_not_a_campaign_export(session, data, reason):
    before = _counts(session)
    with pytest.raises(campaigns.CampaignError) as refused, session() as s:
        campaign_transfer.import_campaign(session=s, data=data)
    assert reason in str(refused.value) and refused.value.status == 400
    assert _counts(session) == before  # nothing half-made


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # parsing and refusing do not depend on the database
def test_too_large_is_413_and_nothing_is_read_past_the_limit(api, session):
    with pytest.raises(campaigns.CampaignError) as refused, session() as s:
        campaign_transfer.import_campaign(session=s, data=b" " * (5 * 1024 * 1024 + 1))
    assert refused.value.status == 413
    big = b'{"format": "mautic-app-campaign", "version": 1, "campaign": {"description": "' + b"x" * (5 * 1024 * 1024) + b'"}}'
    error_of(api.post("/api/campaigns/import", content=big, headers=JSON), 413)
    error_of(api.post("/api/campaigns/import", files={"file": ("c.json", big, "application/json")}), 413)

    def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(6):
            yield b" " * (1024 * 1024)

    error_of(api.post("/api/campaigns/import", content=chunks(), headers=JSON), 413)
    assert api.get("/api/campaigns").json()["total"] == "0"


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # parsing and refusing do not depend on the database
def test_refusals_through_the_api_are_400_with_a_reason(api):
    for data, reason in [(p.values[0], p.values[1]) for p in REFUSED]:
        error = error_of(api.post("/api/campaigns/import", content=data, headers=JSON), 400)
        assert reason in error["message"] and error["details"]
    assert api.get("/api/campaigns").json()["total"] == "0"


# ------------------------------------------------------------------ paths stay text


TRAVERSAL = "../../../../etc/passwd"


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # parsing and refusing do not depend on the database
def test_values_that_look_like_paths_are_inert_and_keys_that_do_are_ignored(session, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    sheet = tmp_path / "style.css"
    sheet.write_text("p { color: #abcdef }")
    doc = {
        "format": "mautic-app-campaign", "version": 1, "../../x": "top-level traversal key", "file": "/etc/passwd",
        "campaign": {
            "name": TRAVERSAL, "description": f"{secret}", "category": "..\\..\\windows\\system32",
            "events": [
                {"id": "../1", "name": TRAVERSAL, "type": "lead.changetags", "eventType": "action",
                 "properties": {"add_tags": [TRAVERSAL, "file:///etc/shadow"], "../../evil": 1, "path": "/etc", "filename": str(secret),
                                "/abs": 2, "C:\\boot.ini": 3}},
                {"id": "../2", "name": "Mail", "type": "email.send", "eventType": "action", "parent": "../1", "properties": {"email": 5}},
            ],
            "canvasSettings": {"nodes": [{"id": "../1", "positionX": 1, "positionY": 2}, {"id": "/etc/passwd", "positionX": 0, "positionY": 0}]},
        },
        "emails": [{"id": 5, "name": TRAVERSAL, "subject": TRAVERSAL, "template": TRAVERSAL, "language": TRAVERSAL,
                    "custom_html": f'<html><head><link rel="stylesheet" href="{sheet}"><link rel="stylesheet" href="file://{sheet}">'
                                   f'</head><body><p>Hi</p><img src="{secret}"></body></html>',
                    "plain_text": "Hi \x00there\ud800", "files": [str(secret)], "path": str(secret)}],
        "segments": [{"id": 9, "name": TRAVERSAL, "alias": "../../etc", "filters": [], "include": str(secret)}],
        "forms": [{"id": 4, "name": TRAVERSAL, "alias": "../../forms", "fields": [
            {"label": TRAVERSAL, "alias": "../up", "type": "text"}]}],
    }
    notes: list[str] = []
    c = _import(session, doc, notes)
    assert c["name"] == TRAVERSAL[:191] and c["description"] == str(secret) and c["category"] == "..\\..\\windows\\system32"
    tag, mail = c["events"]
    assert tag["name"] == TRAVERSAL and tag["properties"] == {"add_tags": [TRAVERSAL, "file:///etc/shadow"]}  # inert text, no path keys
    assert mail["parent"] == {"id": tag["id"]}
    assert {n["id"] for n in c["canvasSettings"]["nodes"]} == {str(tag["id"]), "/etc/passwd"}  # a position, nothing more
    with session() as s:
        email = s.get(Email, mail["properties"]["email"])
        assert email.name == email.subject == TRAVERSAL and email.template == TRAVERSAL and email.language == TRAVERSAL[:16]
        assert "TOP-SECRET" not in email.custom_html and "#abcdef" not in email.custom_html  # no file was read or inlined
        assert email.plain_text == "Hi there?"
        segment = s.execute(sa.select(Segment).where(Segment.name == TRAVERSAL)).scalar_one()
        assert segment.alias == "etc"  # an alias is made of letters, digits and dashes
        form = s.execute(sa.select(Form).where(Form.name == TRAVERSAL)).scalar_one()
        assert "/" not in form.alias and "." not in form.alias
        assert [f.alias for f in s.execute(sa.select(FormField).where(FormField.form_id == form.id)).scalars()] != ["../up"]
    ignored = next(n for n in notes if n.startswith("Ignored"))
    for key in ("../../x", "file", "../../evil", "path", "filename", "/abs", "C:\\boot.ini", "files", "include"):
        assert key in ignored, key


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # parsing and refusing do not depend on the database
def test_an_mjml_include_is_refused_and_never_read(session, tmp_path):
    secret = tmp_path / "part.mjml"
    secret.write_text("<mj-text>TOP-SECRET-CONTENT</mj-text>")
    for path in (str(secret), f"../../../../../..{secret}", "/etc/passwd"):
        doc = _doc(events=[{"id": 1, "type": "email.send", "eventType": "action", "properties": {"email": 1}}]) | {"emails": [
            {"id": 1, "name": "Included", "subject": "Hi",
             "content_mjml": f'<mjml><mj-body><mj-section><mj-column><mj-include path="{path}" /></mj-column></mj-section></mj-body></mjml>'}]}
        with pytest.raises(campaigns.CampaignError) as refused, session() as s:
            campaign_transfer.import_campaign(session=s, data=json.dumps(doc).encode())
        assert "cannot be created" in str(refused.value) and "TOP-SECRET" not in str(refused.value)
    assert _counts(session)["Email"] == 0


# ------------------------------------------------------------------ nothing is written to disk


_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_FILE_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link", "os.truncate", "os.chmod", "os.chown",
                "os.utime", "tempfile.mkstemp", "tempfile.mkdtemp", "shutil.copyfile", "shutil.copytree", "shutil.move", "shutil.rmtree"}
_watch: dict = {"on": False, "seen": []}


def _audit(event: str, args: tuple) -> None:
    """Records, while switched on, every file opened for writing and every file-system change (an audit hook cannot
    be removed, so it stays installed and idle)."""
    if not _watch["on"]:
        return
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & _WRITES)
        if writing and not str(path).endswith(".pyc"):  # Python may cache a module it compiles on first import
            _watch["seen"].append((event, path))
    elif event in _FILE_EVENTS:
        _watch["seen"].append((event, args[0] if args else None))


sys.addaudithook(_audit)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # parsing and refusing do not depend on the database
def test_an_import_writes_no_file(api, session):
    ids = _world(session)
    doc = _export(session, ids["campaign"])
    with session() as s:  # force the e-mails to be created, with bodies large enough that a spooling parser would use disk
        s.execute(sa.text("UPDATE emails SET name = 'Old ' || name"))
    for m in doc["emails"]:
        m["custom_html"] = "<html><body>" + "<p>Hello there</p>" * 50_000 + "</body></html>"  # 900 kB each
    data = json.dumps(doc).encode()
    assert len(data) > 1024 * 1024
    _import(session, _doc())  # modules a first import loads are loaded before watching,
    assert api.get("/api/campaigns").status_code == 200  # and the API's first request stores the instance's key file
    _watch["seen"], _watch["on"] = [], True
    try:
        _import(session, data)
        r = api.post("/api/campaigns/import", files={"file": ("campaign.json", data, "application/json")})
        raw = api.post("/api/campaigns/import", content=data, headers=JSON)
        refused = api.post("/api/campaigns/import", files={"file": ("x.php", b"<?php echo 1; ?>", "application/x-php")})
    finally:
        _watch["on"] = False
    assert r.status_code == 201 and raw.status_code == 201, (r.text, raw.text)
    assert refused.status_code == 400
    assert _watch["seen"] == []
    with session() as s:  # the large e-mails arrived whole
        assert len(s.execute(sa.select(Email).where(Email.name == "Welcome mail")).scalars().first().custom_html) > 900_000
