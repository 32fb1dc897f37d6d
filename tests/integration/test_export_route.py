"""The CSV export download: session-cookie auth, the list's search, neutralised formulas."""

from __future__ import annotations

import csv
import io

from mautic_app.services import contacts, users


def test_export_requires_a_session_and_streams_the_search(client, session):
    assert client.get("/contacts/export.csv").status_code == 401
    client.cookies.set("mautic_session", "forged")
    assert client.get("/contacts/export.csv").status_code == 401
    with session() as s:
        contacts.create(session=s, values={"email": "sum@example.com", "firstname": "=SUM(A1:A9)"}, tags=["vip"])
        contacts.create(session=s, values={"email": "other@example.com", "firstname": "Plain"})
        token = users.start_session(session=s, user=users.authenticate(session=s, username="admin", password="admin-password-123"))
    client.cookies.set("mautic_session", token)
    r = client.get("/contacts/export.csv", params={"search": "tag:vip", "columns": "email,firstname"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows == [["email", "firstname"], ["sum@example.com", "'=SUM(A1:A9)"]]
    assert client.get("/contacts/export.csv", params={"columns": "email,password"}).status_code == 400
    assert client.get("/contacts/export.csv", params={"search": "is:nonsense"}).status_code == 400
