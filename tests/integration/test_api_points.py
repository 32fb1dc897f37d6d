"""The points REST API (actions, triggers, groups, a contact's plus/minus) against real databases."""

from __future__ import annotations

from tests.integration.conftest import error_of


def created(response, key: str) -> dict:
    assert response.status_code == 201, response.text
    return response.json()[key]


def new_contact(api, **values) -> dict:
    return created(api.post("/api/contacts/new", json=values), "contact")


def test_requires_auth(client):
    for path in ("/api/points", "/api/points/triggers", "/api/points/groups", "/api/points/actions/types"):
        error_of(client.get(path), 401)
    error_of(client.post("/api/contacts/1/points/plus/5"), 401)


def test_point_action_crud_and_shape(api):
    assert api.get("/api/points").text == '{"total":"0","points":{}}'
    group = created(api.post("/api/points/groups/new", json={"name": "Product A", "description": "Interest"}), "pointGroup")
    assert group["name"] == "Product A" and group["isPublished"] is True

    r = api.post("/api/points/new", json={
        "name": "Pricing page", "type": "url.hit", "delta": 10, "group": group["id"], "repeatable": "1",
        "properties": {"page_url": "https://example.com/pricing*", "page_hits": "2", "junk": "<b>"},
        "publishUp": "2024-01-01 09:00",
    })
    action = created(r, "point")
    assert r.headers["location"] == f"/api/points/{action['id']}"
    assert action["type"] == "url.hit" and action["delta"] == 10 and action["repeatable"] is True
    assert action["properties"] == {"page_url": "https://example.com/pricing*", "page_hits": 2}
    assert action["group"] == {"id": group["id"], "name": "Product A"}
    assert action["publishUp"] == "2024-01-01T09:00:00+00:00" and action["publishDown"] is None
    assert api.get(f"/api/points/{action['id']}").json() == {"point": action}

    # PATCH changes what it sends; properties merge. PUT replaces the whole record.
    r = api.patch(f"/api/points/{action['id']}/edit", json={"delta": -5, "properties": {"page_hits": 3}, "group": None})
    assert r.status_code == 200, r.text
    patched = r.json()["point"]
    assert patched["delta"] == -5 and patched["group"] is None and patched["name"] == "Pricing page"
    assert patched["properties"] == {"page_url": "https://example.com/pricing*", "page_hits": 3}
    r = api.put(f"/api/points/{action['id']}/edit", json={"name": "Any landing page", "type": "page.hit", "delta": 1})
    assert r.status_code == 200 and r.json()["point"]["properties"] == {"pages": []}
    assert r.json()["point"]["repeatable"] is False
    other = created(api.put("/api/points/99999/edit", json={"name": "New", "type": "page.hit", "delta": 2}), "point")
    error_of(api.patch("/api/points/99999/edit", json={"delta": 1}), 404)

    listing = api.get("/api/points", params={"orderBy": "delta", "orderByDir": "DESC"}).json()
    assert listing["total"] == "2" and [p["delta"] for p in listing["points"].values()] == [2, 1]
    assert list(api.get("/api/points", params={"search": "landing"}).json()["points"]) == [str(action["id"])]
    assert api.get("/api/points", params={"limit": 1, "start": 1}).json()["total"] == "2"
    error_of(api.get("/api/points", params={"orderBy": "secret"}), 400)

    r = api.delete(f"/api/points/{action['id']}/delete")
    assert r.status_code == 200 and r.json()["point"]["id"] == action["id"]
    error_of(api.get(f"/api/points/{action['id']}"), 404)
    # Deleting a group leaves its actions, scoring the total.
    assert api.patch(f"/api/points/{other['id']}/edit", json={"group": {"id": group["id"]}}).json()["point"]["group"]
    assert api.delete(f"/api/points/groups/{group['id']}/delete").status_code == 200
    assert api.get(f"/api/points/{other['id']}").json()["point"]["group"] is None


def test_action_validation(api):
    err = error_of(api.post("/api/points/new", json={"type": "url.hit", "delta": "ten", "group": 42,
                                                     "properties": {"page_hits": -1}}), 400)
    assert set(err["details"]) == {"name", "delta", "group", "page_url", "page_hits"}
    err = error_of(api.post("/api/points/new", json={"name": "Got it", "type": "asset.download", "delta": 1}), 400)
    assert "yet" in err["details"]["type"][0]
    error_of(api.post("/api/points/new", json={"name": "x", "type": "url.hit", "properties": "page_url=*"}), 400)
    error_of(api.post("/api/points/new", json={"name": "x", "type": "url.hit", "group": "abc"}), 400)
    error_of(api.post("/api/points/new", json=["not", "an", "object"]), 400)
    error_of(api.post("/api/points/new", content=b"{oops", headers={"Content-Type": "application/json"}), 400)
    err = error_of(api.post("/api/points/new", json={"name": "<script>x</script>", "type": "url.hit", "delta": 99999999,
                                                     "properties": {"page_url": "*"}}), 400)
    assert set(err["details"]) == {"delta"}
    # Form-encoded bodies, as older PHP clients send them.
    r = api.post("/api/points/new", data={"name": "Form body", "type": "url.hit", "delta": "3",
                                          "properties[page_url]": "*/docs/*", "isPublished": "0"})
    point = created(r, "point")
    assert point["properties"] == {"page_url": "*/docs/*"} and point["isPublished"] is False
    assert api.get("/api/points", params={"publishedOnly": "1"}).json()["total"] == "0"


def test_types_listings(api):
    assert api.get("/api/points/actions/types").json() == {"pointActionTypes": {
        "url.hit": "Visits a URL", "page.hit": "Visits a landing page", "email.open": "Opens an e-mail",
        "email.click": "Clicks a link in an e-mail", "email.send": "Is sent an e-mail", "form.submit": "Submits a form"}}
    assert api.get("/api/points/triggers/events/types").json() == {"eventTypes": {"tags.modify": "Modify tags",
                                                                                  "segments.modify": "Modify segments",
                                                                                  "email.send": "Send an e-mail"}}


def test_trigger_with_events_fires_once_from_plus_points(api):
    contact = new_contact(api, email="lead@example.com", tags=["cold"])
    r = api.post("/api/points/triggers/new", json={
        "name": "Sales ready", "points": 25, "color": "FF0000",
        "events": [{"type": "lead.changetags", "name": "Tag it", "properties": {"add_tags": ["hot"], "remove_tags": ["cold"]}}],
    })
    trigger = created(r, "trigger")
    assert trigger["color"] == "ff0000" and trigger["points"] == 25 and trigger["triggerExistingLeads"] is False
    assert [(e["type"], e["name"], e["properties"]) for e in trigger["events"]] == [
        ("tags.modify", "Tag it", {"add_tags": ["hot"], "remove_tags": ["cold"]})]
    assert api.get(f"/api/points/triggers/{trigger['id']}").json() == {"trigger": trigger}

    cid = contact["id"]
    assert api.post(f"/api/contacts/{cid}/points/plus/20", json={"eventName": "Webinar", "actionName": "Attended"}).json() == {
        "success": 1}
    assert api.get(f"/api/contacts/{cid}").json()["contact"]["tags"] == [{"id": 1, "tag": "cold"}]
    assert api.post(f"/api/contacts/{cid}/points/plus/5").status_code == 200
    got = api.get(f"/api/contacts/{cid}").json()["contact"]
    assert got["points"] == 25 and [t["tag"] for t in got["tags"]] == ["hot"]
    assert api.post(f"/api/contacts/{cid}/points/minus/10", data={"eventName": "Refund"}).json() == {"success": 1}
    api.post(f"/api/contacts/{cid}/points/plus/10")
    got = api.get(f"/api/contacts/{cid}").json()["contact"]
    assert got["points"] == 25 and [t["tag"] for t in got["tags"]] == ["hot"]
    activity = api.get(f"/api/contacts/{cid}/activity", params={"filters[includeEvents][]": "points"}).json()
    assert activity["events"][-1]["eventLabel"] == "Points 0 → 20 (Webinar / Attended)"

    # A PATCH without events keeps them; a PUT without events clears them.
    r = api.patch(f"/api/points/triggers/{trigger['id']}/edit", json={"points": 30})
    assert r.json()["trigger"]["events"] == trigger["events"]
    r = api.put(f"/api/points/triggers/{trigger['id']}/edit", json={"name": "Sales ready", "points": 30})
    assert r.json()["trigger"]["events"] == []


def test_trigger_existing_and_group_triggers(api):
    group = created(api.post("/api/points/groups/new", json={"name": "Events"}), "pointGroup")
    rich = new_contact(api, email="rich@example.com", points=100)
    poor = new_contact(api, email="poor@example.com", points=1)
    created(api.post("/api/points/triggers/new", json={
        "name": "Existing", "points": 50, "triggerExistingLeads": True,
        "events": {"0": {"type": "tags.modify", "properties": {"add_tags": "vip"}}},
    }), "trigger")
    assert [t["tag"] for t in api.get(f"/api/contacts/{rich['id']}").json()["contact"]["tags"]] == ["vip"]
    assert api.get(f"/api/contacts/{poor['id']}").json()["contact"]["tags"] == []
    trigger = created(api.post("/api/points/triggers/new", json={
        "name": "Group fan", "points": 1, "group": {"id": group["id"]},
        "events": [{"type": "tags.modify", "properties": {"add_tags": ["fan"]}}],
    }), "trigger")
    assert trigger["group"] == {"id": group["id"], "name": "Events"}
    api.post(f"/api/contacts/{poor['id']}/points/plus/200")
    assert [t["tag"] for t in api.get(f"/api/contacts/{poor['id']}").json()["contact"]["tags"]] == ["vip"]


def test_trigger_validation(api):
    err = error_of(api.post("/api/points/triggers/new", json={
        "points": "many", "color": "not-a-colour", "group": 999,
        "events": [{"type": "segments.modify", "properties": {"add_to_segments": [1]}}, {"type": "tags.modify"}, 7],
    }), 400)
    assert set(err["details"]) == {"name", "points", "color", "group", "events.0.add_to_segments", "events.1.add_tags", "events.2"}
    error_of(api.post("/api/points/triggers/new", json={"name": "x", "events": "tags"}), 400)
    error_of(api.post("/api/points/triggers/new", json={"name": "x", "events": [{"type": "tags.modify", "properties": 5}]}), 400)
    error_of(api.get("/api/points/triggers/424242"), 404)


def test_groups_batch_routes(api):
    r = api.post("/api/points/groups/batch/new", json=[{"name": "One"}, {"name": ""}, {"name": "Two"}])
    assert r.status_code == 201 and r.json()["statusCodes"] == [201, 400, 201]
    listing = api.get("/api/points/groups").json()
    assert listing["total"] == "2" and [g["name"] for g in listing["pointGroups"].values()] == ["One", "Two"]
    err = error_of(api.post("/api/points/groups/new", json={"name": "one"}), 400)
    assert err["details"] == {"name": ["Another point group has this name."]}
    ids = list(listing["pointGroups"])
    r = api.delete("/api/points/groups/batch/delete", params={"ids": ",".join([*ids, "999"])})
    assert r.json()["statusCodes"] == [200, 200, 404]
    assert api.get("/api/points/groups").json() == {"total": "0", "pointGroups": {}}


def test_plus_minus_need_a_positive_whole_number_and_a_contact(api):
    cid = new_contact(api, email="n@example.com")["id"]
    for bad in ("0", "-3", "2.5", "three", "inf", "9" * 25, "²"):
        err = error_of(api.post(f"/api/contacts/{cid}/points/plus/{bad}"), 400)
        assert err["details"] == {"delta": ["Give a positive whole number."]}
    error_of(api.post(f"/api/contacts/{cid}/points/minus/abc"), 400)
    error_of(api.post("/api/contacts/999999/points/plus/3"), 404)
    error_of(api.post("/api/contacts/999999/points/minus/3"), 404)


def test_openapi_lists_the_points_routes(api):
    paths = api.get("/api/openapi.json").json()["paths"]
    for path in ("/points", "/points/new", "/points/{point_id}", "/points/actions/types", "/points/triggers",
                 "/points/triggers/new", "/points/triggers/events/types", "/points/groups", "/points/groups/batch/delete",
                 "/contacts/{contact_id}/points/plus/{delta}", "/contacts/{contact_id}/points/minus/{delta}"):
        assert path in paths, path
    assert paths["/points"]["get"]["tags"] == ["Points"]
    assert "application/json" in paths["/points/triggers/new"]["post"]["requestBody"]["content"]


def test_a_mautic_client_creates_a_segment_trigger_with_its_own_names(api):
    segment = api.post("/api/segments/new", json={"name": "Sales ready", "isPublished": True}).json()["list"]
    trigger = created(api.post("/api/points/triggers/new", json={
        "name": "To sales", "points": 10,
        "events": [{"type": "lead.changelists", "properties": {"addToLists": [segment["id"]], "removeFromLists": []}}],
    }), "trigger")
    assert [(e["type"], e["properties"]) for e in trigger["events"]] == [("segments.modify", {"add_to_segments": [segment["id"]], "remove_from_segments": []})]
    lead = new_contact(api, email="to.sales@example.com")
    api.post(f"/api/contacts/{lead['id']}/points/plus/10")
    lists = api.get(f"/api/contacts/{lead['id']}/segments").json()["lists"]
    assert [seg["name"] for seg in lists.values()] == ["Sales ready"]
