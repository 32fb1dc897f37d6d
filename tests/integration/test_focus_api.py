"""The focus items REST API against real databases: Mautic's standard routes and JSON shapes."""

from __future__ import annotations

import pytest

from tests.integration.conftest import error_of

NEW = {
    "name": "Spring sale", "type": "link", "style": "modal",
    "properties": {
        "modal": {"placement": "bottom"}, "when": "timeout", "timeout": 7, "frequency": "daily",
        "stop_after_conversion": True, "colors": {"primary": "#112233", "text": "#ffffff"},
        "content": {"headline": "<b>20%</b> off", "tagline": "This week", "link_text": "Shop", "link_url": "https://shop.example/",
                    "link_new_window": False},
        "show_on": ["https://shop.example/*"],
    },
    "utmTags": {"utmSource": "focus", "utmMedium": "modal"},
}



def test_requires_auth(client):
    error_of(client.get("/api/focus"), 401)
    error_of(client.post("/api/focus/new", json=NEW), 401)


def test_standard_routes(api):
    assert api.get("/api/focus").text == '{"total":"0","focus":{}}'
    r = api.post("/api/focus/new", json=NEW)
    assert r.status_code == 201, r.text
    item = r.json()["focus"]
    fid = item["id"]
    assert r.headers["location"] == f"/api/focus/{fid}"
    assert item["name"] == "Spring sale" and item["type"] == "link" and item["style"] == "modal" and item["isPublished"] is True
    p = item["properties"]
    assert p["modal"] == {"placement": "bottom"} and p["when"] == "timeout" and p["timeout"] == 7 and p["frequency"] == "daily"
    assert p["colors"] == {"primary": "#112233", "text": "#ffffff", "button": "#fdb933", "button_text": "#ffffff"}
    assert p["content"]["headline"] == "<b>20%</b> off" and p["content"]["link_text"] == "Shop"
    assert p["content"]["link_new_window"] is False and p["show_on"] == ["https://shop.example/*"]
    assert item["utmTags"] == {"utmSource": "focus", "utmMedium": "modal"} and item["dateAdded"]

    assert api.get(f"/api/focus/{fid}").json()["focus"] == item
    listing = api.get("/api/focus", params={"search": "spring"}).json()
    assert listing["total"] == "1" and listing["focus"][str(fid)]["name"] == "Spring sale"
    assert api.get("/api/focus", params={"search": "nothing"}).json() == {"total": "0", "focus": {}}

    # PATCH changes what is sent; the rest stays.
    r = api.patch(f"/api/focus/{fid}/edit", json={"properties": {"content": {"headline": "30% off"}}, "isPublished": False})
    assert r.status_code == 200, r.text
    changed = r.json()["focus"]
    assert changed["properties"]["content"]["headline"] == "30% off" and changed["properties"]["content"]["link_text"] == "Shop"
    assert changed["isPublished"] is False and changed["properties"]["modal"] == {"placement": "bottom"}
    r = api.patch(f"/api/focus/{fid}/edit", json={"properties": {"colors": {"button": "#abcdef"}}})
    assert r.json()["focus"]["properties"]["colors"] == {"primary": "#112233", "text": "#ffffff", "button": "#abcdef",
                                                         "button_text": "#ffffff"}
    assert api.get("/api/focus", params={"publishedOnly": "true"}).json()["total"] == "0"

    # PUT replaces the whole item; on a missing id it creates one.
    r = api.put(f"/api/focus/{fid}/edit", json={"name": "Plain bar", "type": "notice", "style": "bar"})
    assert r.status_code == 200, r.text
    replaced = r.json()["focus"]
    assert replaced["style"] == "bar" and replaced["properties"]["bar"]["placement"] == "top"
    assert replaced["properties"]["content"]["headline"] == "" and replaced["utmTags"] == []
    r = api.put("/api/focus/999999/edit", json={"name": "Created", "type": "notice", "style": "notification"})
    assert r.status_code == 201 and r.json()["focus"]["id"] != 999999
    error_of(api.patch("/api/focus/999999/edit", json={"name": "x"}), 404)

    r = api.delete(f"/api/focus/{fid}/delete")
    assert r.status_code == 200 and r.json()["focus"]["name"] == "Plain bar"
    error_of(api.get(f"/api/focus/{fid}"), 404)
    error_of(api.delete(f"/api/focus/{fid}/delete"), 404)


def test_flat_properties_are_accepted_too(api):
    r = api.post("/api/focus/new", json={"name": "Corner", "type": "notice", "style": "notification",
                                         "properties": {"placement": "bottom_right", "headline": "Hi", "button_text": "OK"}})
    assert r.status_code == 201, r.text
    p = r.json()["focus"]["properties"]
    assert p["notification"] == {"placement": "bottom_right"} and p["content"]["headline"] == "Hi"


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "type": "link", "style": "bar", "properties": {"content": {"link_url": "javascript:alert(1)"}}}, "link_url"),
    ({"name": "x", "type": "notice", "style": "bar", "properties": {"colors": {"primary": "red"}}}, "color_primary"),
    ({"name": "x", "type": "notice", "style": "bar", "properties": {"bar": {"placement": "middle"}}}, "placement"),
    ({"name": "x", "type": "notice", "style": "sideways"}, "style"),
    ({"name": "x", "type": "popup", "style": "bar"}, "type"),
    ({"name": "", "type": "notice", "style": "bar"}, "name"),
    ({"name": "x", "type": "form", "style": "modal", "form": 424242}, "form_id"),
    ({"name": "x", "type": "notice", "style": "bar", "properties": {"frequency": "weekly"}}, "frequency"),
    ({"name": "x", "type": "notice", "style": "bar", "publishUp": "soon"}, "publish"),
])
def test_bad_input_is_400_with_details(api, body, field):
    err = error_of(api.post("/api/focus/new", json=body), 400)
    assert field in err["details"]
    assert api.get("/api/focus").json()["total"] == "0"


def test_batch_routes(api):
    r = api.post("/api/focus/batch/new", json=[
        {"name": "A", "type": "notice", "style": "bar"},
        {"name": "B", "type": "link", "style": "bar", "properties": {"link_url": "javascript:x"}},
    ])
    assert r.status_code == 201, r.text
    assert r.json()["statusCodes"] == [201, 400]
    a = r.json()["focus"]["0"]["id"]  # keyed by position when some failed, as in Mautic
    assert r.json()["errors"]["1"]["details"]["link_url"]
    r = api.delete("/api/focus/batch/delete", params={"ids": f"{a},999999"})
    assert r.status_code == 200, r.text
    assert api.get("/api/focus").json()["total"] == "0"


def test_form_encoded_bodies(api):
    r = api.post("/api/focus/new", data={"name": "Form encoded", "type": "notice", "style": "modal",
                                         "properties[modal][placement]": "top", "properties[content][headline]": "Hi"})
    assert r.status_code == 201, r.text
    item = r.json()["focus"]
    assert item["properties"]["modal"] == {"placement": "top"} and item["properties"]["content"]["headline"] == "Hi"
