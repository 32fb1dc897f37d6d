"""The companies REST API against real databases, including linking contacts to companies."""

from __future__ import annotations

from tests.integration.conftest import error_of


def new_company(api, status: int = 201, **values) -> dict:
    r = api.post("/api/companies/new", json=values)
    assert r.status_code == status, r.text
    return r.json()["company"]


def test_requires_auth(client):
    error_of(client.get("/api/companies"), 401)
    error_of(client.post("/api/companies/new", json={"companyname": "Acme"}), 401)


def test_company_crud_and_shape(api):
    assert api.get("/api/companies").text == '{"total":"0","companies":{}}'
    acme = new_company(api, companyname="Acme", companycity="Paris", companycountry="de",
                       companynumber_of_employees="250", companyannual_revenue=1234.5, owner=1)
    assert set(acme["fields"]) == {"core", "social", "personal", "professional", "all"}
    all_values = acme["fields"]["all"]
    assert all_values["id"] == acme["id"] and all_values["companyname"] == "Acme"
    assert all_values["companycountry"] == "Germany"
    assert all_values["companynumber_of_employees"] == 250 and all_values["companyannual_revenue"] == 1234.5
    assert acme["fields"]["core"]["companyname"]["object"] == "company"
    assert acme["score"] == 0 and acme["owner"]["id"] == 1 and acme["dateAdded"].endswith("+00:00")

    assert api.get(f"/api/companies/{acme['id']}").json()["company"] == acme
    same = new_company(api, status=200, companyname="ACME", companyemail="hi@acme.example")
    assert same["id"] == acme["id"] and same["fields"]["all"]["companyemail"] == "hi@acme.example"

    r = api.patch(f"/api/companies/{acme['id']}/edit", json={"companycity": "Lyon", "score": 12})
    assert r.status_code == 200
    assert r.json()["company"]["fields"]["all"]["companycity"] == "Lyon" and r.json()["company"]["score"] == 12
    r = api.put(f"/api/companies/{acme['id']}/edit", json={"companyname": "Acme SA"})
    assert r.status_code == 200
    all_values = r.json()["company"]["fields"]["all"]
    assert all_values["companyname"] == "Acme SA" and all_values["companycity"] is None
    assert api.put("/api/companies/99999/edit", json={"companyname": "Created"}).status_code == 201
    error_of(api.patch("/api/companies/99999/edit", json={"companyname": "Nope"}), 404)

    listing = api.get("/api/companies", params={"orderBy": "companyname", "orderByDir": "DESC"}).json()
    assert listing["total"] == "2"
    assert [c["fields"]["all"]["companyname"] for c in listing["companies"].values()] == ["Created", "Acme SA"]
    assert list(api.get("/api/companies", params={"search": "acme"}).json()["companies"]) == [str(acme["id"])]
    error_of(api.get("/api/companies", params={"orderBy": "nope"}), 400)

    r = api.delete(f"/api/companies/{acme['id']}/delete", headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["company"]["id"] == acme["id"]
    error_of(api.get(f"/api/companies/{acme['id']}"), 404)
    error_of(api.delete(f"/api/companies/{acme['id']}/delete"), 404)


def test_company_validation(api):
    err = error_of(api.post("/api/companies/new", json={"companycity": "Nowhere"}), 400)
    assert "companyname" in err["details"]
    err = error_of(api.post("/api/companies/new", json={"companyname": "Bad", "companyemail": "nope", "companyindustry": "Piracy"}), 400)
    assert set(err["details"]) == {"companyemail", "companyindustry"}
    error_of(api.post("/api/companies/new", json={"companyname": "X", "owner": 4242}), 400)
    error_of(api.post("/api/companies/new", content=b"{oops", headers={"Content-Type": "application/json"}), 400)
    other = new_company(api, companyname="Other")
    new_company(api, companyname="Taken")
    err = error_of(api.patch(f"/api/companies/{other['id']}/edit", json={"companyname": "taken"}), 409)
    assert "companyname" in err["details"]
    assert api.get("/api/companies").json()["total"] == "2"


def test_contacts_join_companies_and_primary_fills_company_field(api):
    first = new_company(api, companyname="First Co")
    second = new_company(api, companyname="Second Co")
    contact = api.post("/api/contacts/new", json={"email": "member@example.com"}).json()["contact"]
    cid = contact["id"]

    assert api.post(f"/api/companies/{first['id']}/contact/{cid}/add").json() == {"success": 1}
    assert api.post(f"/api/companies/{second['id']}/contact/{cid}/add").json() == {"success": 1}
    assert api.get(f"/api/contacts/{cid}").json()["contact"]["fields"]["all"]["company"] == "First Co"
    linked = api.get(f"/api/contacts/{cid}/companies").json()
    assert linked["total"] == 2
    assert {c["companyname"]: c["is_primary"] for c in linked["companies"]} == {"First Co": True, "Second Co": False}

    assert api.post(f"/api/companies/{first['id']}/contact/{cid}/remove").json() == {"success": 1}
    assert api.get(f"/api/contacts/{cid}").json()["contact"]["fields"]["all"]["company"] == "Second Co"
    assert api.get("/api/contacts", params={"search": "company:second"}).json()["total"] == "1"

    api.patch(f"/api/companies/{second['id']}/edit", json={"companyname": "Renamed Co"})
    assert api.get(f"/api/contacts/{cid}").json()["contact"]["fields"]["all"]["company"] == "Renamed Co"

    error_of(api.post(f"/api/companies/999999/contact/{cid}/add"), 404)
    error_of(api.post(f"/api/companies/{first['id']}/contact/999999/add"), 404)
    error_of(api.post(f"/api/companies/{first['id']}/contact/999999/remove"), 404)
    error_of(api.get("/api/contacts/999999/companies"), 404)


def test_company_batches(api):
    r = api.post("/api/companies/batch/new", json=[{"companyname": "B1"}, {"companycity": "no name"}, {"companyname": "B2"}])
    assert r.status_code == 201 and r.json()["statusCodes"] == [201, 400, 201]
    b1, b2 = r.json()["companies"]["0"]["id"], r.json()["companies"]["2"]["id"]
    r = api.patch("/api/companies/batch/edit", json=[{"id": b1, "companycity": "Oslo"}, {"id": 999999, "companycity": "X"}])
    assert r.json()["statusCodes"] == [200, 404]
    assert r.json()["companies"]["0"]["fields"]["all"]["companycity"] == "Oslo"
    r = api.delete("/api/companies/batch/delete", params=[("ids[]", b1), ("ids[]", b2), ("ids[]", "x")])
    assert r.json()["statusCodes"] == [200, 200, 400]
    assert api.get("/api/companies").json()["total"] == "0"
