"""CSV import service against SQLite and PostgreSQL, running batches directly (no worker)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from mautic_app import db
from mautic_app.models import Company, CompanyContact, ContactEvent, ContactImport, DoNotContact, Stage
from mautic_app.services import contacts, exports, imports, segments, users


@pytest.fixture
def queued(database, monkeypatch) -> list[tuple[int, int]]:
    """Batches the service hands to Celery, recorded instead of sent."""
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: calls.append(args) if task == imports.BATCH_TASK else None)
    return calls


def upload(session, data: bytes, mapping: dict | None = None, options: dict | None = None) -> int:
    with session() as s:
        imp = imports.create_import(session=s, original_name="contacts.csv", data=data)
        suggested = imports.preview(session=s, import_id=imp.id)["mapping"]
        imports.start_import(session=s, import_id=imp.id, mapping=mapping or suggested, options=options)
        return imp.id


def run_all(session, import_id: int, batch_size: int | None = None) -> int:
    batches = 0
    while True:
        with session() as s:
            result = imports.run_batch(session=s, import_id=import_id, batch_size=batch_size)
        batches += 1
        if not result.more:
            return batches


def do_import(session, data: bytes, **kw) -> dict:
    import_id = upload(session, data, mapping=kw.get("mapping"), options=kw.get("options"))
    run_all(session, import_id, kw.get("batch_size"))
    with session() as s:
        return imports.progress(session=s, import_id=import_id)


def by_email(s, email: str) -> dict:
    t = sa.table("contacts", sa.column("id"), sa.column("email"))
    cid = s.execute(sa.select(t.c.id).where(sa.func.lower(t.c.email) == email.lower())).scalar_one()
    return contacts.read(session=s, contact_id=cid)


def test_basic_import_creates_contacts_with_timeline(session, queued):
    data = b"Email,First Name,Last name,Country\nada@example.com,Ada,Lovelace,GB\nalan@example.com,Alan,Turing,France\n"
    import_id = upload(session, data)
    assert queued == [(import_id, 0)]
    with session() as s:
        assert imports.progress(session=s, import_id=import_id)["status"] == "queued"
    run_all(session, import_id)
    with session() as s:
        p = imports.progress(session=s, import_id=import_id)
        assert (p["status"], p["inserted"], p["updated"], p["failed"], p["total_rows"], p["percent"]) == ("imported", 2, 0, 0, 2, 100)
        ada = by_email(s, "ada@example.com")
        assert (ada["firstname"], ada["lastname"], ada["country"], ada["is_identified"]) == ("Ada", "Lovelace", "United Kingdom", True)
        events = s.exec(select(ContactEvent).where(ContactEvent.contact_id == ada["id"])).all()
        assert [e.event_type for e in events] == ["imported"]
        assert events[0].details["file"] == "contacts.csv" and events[0].details["action"] == "created"


def test_rows_with_different_empty_cells(session, queued):
    p = do_import(session, b"email,firstname,city,points\na@example.com,Ann,,\nb@example.com,,Oslo,3\n,Cyd,,\n")
    assert (p["inserted"], p["failed"]) == (3, 0)
    with session() as s:
        a, b = by_email(s, "a@example.com"), by_email(s, "b@example.com")
        assert (a["firstname"], a["city"], a["points"]) == ("Ann", None, 0)
        assert (b["firstname"], b["city"], b["points"]) == (None, "Oslo", 3)
        cyd = s.execute(sa.text("SELECT is_identified FROM contacts WHERE firstname = 'Cyd'")).scalar_one()
        assert cyd


def test_update_by_email_empty_keeps_and_null_clears(session, queued):
    with session() as s:
        cid, _ = contacts.create(session=s, values={"email": "Ada@Example.com", "firstname": "Ada", "city": "London", "phone": "123456"})
    p = do_import(session, b"email,firstname,city,phone\nADA@example.com,,Paris,NULL\n")
    assert (p["inserted"], p["updated"]) == (0, 1)
    with session() as s:
        row = contacts.read(session=s, contact_id=cid)
        assert (row["firstname"], row["city"], row["phone"]) == ("Ada", "Paris", None)
        event = s.exec(select(ContactEvent).where(ContactEvent.contact_id == cid, ContactEvent.event_type == "imported")).one()
        assert event.details["action"] == "updated" and event.details["fields"] == ["city", "phone"]


def test_id_column_updates_that_contact(session, queued):
    with session() as s:
        cid, _ = contacts.create(session=s, values={"email": "old@example.com"})
    p = do_import(session, f"id,email,lastname,lastActive,dateModified\n{cid},new@example.com,Hopper,2022-02-03 04:05:06,2023-01-01\n".encode())
    assert (p["inserted"], p["updated"]) == (0, 1)
    with session() as s:
        row = contacts.read(session=s, contact_id=cid)
        assert (row["email"], row["lastname"]) == ("new@example.com", "Hopper")
        assert row["last_active"] == datetime(2022, 2, 3, 4, 5, 6, tzinfo=UTC)
        assert row["date_modified"] == datetime(2023, 1, 1, tzinfo=UTC)


def test_skip_if_exists_counts_ignored(session, queued):
    with session() as s:
        cid, _ = contacts.create(session=s, values={"email": "keep@example.com", "city": "Rome"})
    p = do_import(session, b"email,city\nkeep@example.com,Oslo\nfresh@example.com,Oslo\n", options={"skip_if_exists": True})
    assert (p["inserted"], p["updated"], p["ignored"]) == (1, 0, 1)
    with session() as s:
        assert contacts.read(session=s, contact_id=cid)["city"] == "Rome"


def test_duplicate_rows_in_one_batch_make_one_contact(session, queued):
    p = do_import(session, b"email,firstname,city\ndup@example.com,Dup,\nDUP@example.com,,Lyon\n")
    assert (p["inserted"], p["updated"]) == (1, 1)
    with session() as s:
        row = by_email(s, "dup@example.com")
        assert (row["firstname"], row["city"]) == ("Dup", "Lyon")


def test_special_columns(session, queued):
    with session() as s:
        users.save_user(session=s, user_id=None, username="sales", password="sales-password-1", first_name="Sam",
                        last_name="Sales", email="sales@example.com")
        old, _ = contacts.create(session=s, values={"email": "old@example.com", "points": 7})
        admin_id = s.exec(sa.text("SELECT id FROM users WHERE username = 'admin'")).scalar()
    data = (
        b"email,tags,stage,ownerusername,doNotEmail,points,ip,dateAdded,lastActive\n"
        b"new@example.com,vip|webinar,Prospect,sales,1,15,\"192.0.2.1, 2001:db8::1\",2020-01-02 03:04:05,2021-05-06\n"
        b"old@example.com,vip,prospect,,yes,99,192.0.2.1,,\n"
    )
    p = do_import(session, data, options={"tags": "imported", "default_owner_id": admin_id})
    assert (p["inserted"], p["updated"], p["failed"]) == (1, 1, 0)
    with session() as s:
        new = by_email(s, "new@example.com")
        details = contacts.details(session=s, contact_id=new["id"])
        assert details["tags"] == ["imported", "vip", "webinar"]
        assert details["stage"]["name"] == "Prospect" and details["owner"]["username"] == "sales"
        assert [d["channel"] for d in details["do_not_contact"]] == ["email"] and details["do_not_contact"][0]["reason"] == 3
        assert sorted(i["ip"] for i in details["ip_addresses"]) == ["192.0.2.1", "2001:db8::1"]
        assert new["points"] == 15
        assert new["date_added"] == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert new["last_active"] == datetime(2021, 5, 6, tzinfo=UTC)
        old_row = contacts.read(session=s, contact_id=old)
        old_details = contacts.details(session=s, contact_id=old)
        assert old_row["points"] == 7  # points only for new contacts
        assert old_details["tags"] == ["imported", "vip"] and old_details["stage"]["name"] == "Prospect"
        assert old_details["owner"]["username"] == "admin"
        assert len(s.exec(select(Stage)).all()) == 1
        assert len(s.exec(select(DoNotContact)).all()) == 2
    # doNotEmail 0 removes the manual DNC again.
    do_import(session, b"email,doNotEmail\nold@example.com,0\n")
    with session() as s:
        assert contacts.details(session=s, contact_id=old)["do_not_contact"] == []


def test_company_columns_create_or_link(session, queued):
    from mautic_app.services import companies

    with session() as s:
        globex = companies.create(session=s, values={"companyname": "Globex"})
        cid, _ = contacts.create(session=s, values={"email": "hank@example.com"})
    data = (
        b"email,Company Name,companycity,company\n"
        b"hank@example.com,globex,,\n"
        b"ann@example.com,Initech,Austin,\n"
        b"bob@example.com,INITECH,,\n"
        b"cat@example.com,,,Hooli\n"
    )
    p = do_import(session, data)
    assert (p["inserted"], p["updated"], p["failed"]) == (3, 1, 0)
    with session() as s:
        initech = s.exec(select(Company).where(Company.companyname == "Initech")).one()
        assert initech.companycity == "Austin"
        links = {(link.contact_id, link.company_id, link.is_primary) for link in s.exec(select(CompanyContact)).all()}
        ann, bob, cat = (by_email(s, e) for e in ("ann@example.com", "bob@example.com", "cat@example.com"))
        hooli = s.exec(select(Company).where(Company.companyname == "Hooli")).one()
        assert links == {(cid, globex, True), (ann["id"], initech.id, True), (bob["id"], initech.id, True), (cat["id"], hooli.id, True)}
        assert contacts.read(session=s, contact_id=cid)["company"] == "globex"
        assert (ann["company"], cat["company"]) == ("Initech", "Hooli")


def test_bad_rows_are_reported_and_the_rest_imported(session, queued):
    data = (
        b"email,firstname,ownerusername\n"
        b"good1@example.com,One,\n"
        b"not-an-email,Tw\xc3\xb6,\n"
        b"good3@example.com,Three,,extra\n"
        b"good4@example.com,\xff\xfeFour,\n"
        b"\n"
        b"good6@example.com,Six,nobody\n"
        b"good7@example.com,Seven,\n"
    )
    p = do_import(session, data)
    assert (p["inserted"], p["failed"], p["processed_rows"], p["ignored"]) == (2, 4, 7, 1)
    with session() as s:
        rows = imports.failures(session=s, import_id=p["id"])
    assert [r["row"] for r in rows] == [3, 4, 5, 7]
    reasons = [r["reason"] for r in rows]
    assert "Email" in reasons[0] and "valid e-mail" in reasons[0]
    assert "4 columns" in reasons[1] and "not valid utf-8" in reasons[2] and '"nobody"' in reasons[3]
    assert rows[0]["raw"] == "not-an-email,Twö,"


def test_batches_resume_from_the_byte_offset(session, queued):
    data = "email,firstname\n" + "".join(f"p{i}@example.com,Person {i}\n" for i in range(25))
    import_id = upload(session, data.encode())
    offsets = []
    with session() as s:
        first = imports.run_batch(session=s, import_id=import_id, expected_offset=0, batch_size=10)
    assert first.more and first.rows == 10
    with session() as s:
        # A duplicate task still holding the old offset does nothing.
        stale = imports.run_batch(session=s, import_id=import_id, expected_offset=0, batch_size=10)
        assert not stale.more and stale.rows == 0
        p = imports.progress(session=s, import_id=import_id)
        assert (p["status"], p["processed_rows"], p["total_rows"], p["percent"]) == ("in_progress", 10, 25, 40)
    offset = first.offset
    while True:
        with session() as s:
            r = imports.run_batch(session=s, import_id=import_id, expected_offset=offset, batch_size=10)
        offsets.append(r.offset)
        offset = r.offset
        if not r.more:
            break
    assert len(offsets) == 2 and offsets[-1] == len(data)
    with session() as s:
        p = imports.progress(session=s, import_id=import_id)
        assert (p["status"], p["inserted"]) == ("imported", 25)
        assert s.execute(sa.text("SELECT count(*) FROM contacts")).scalar() == 25


def test_failed_batch_rolls_back_whole(session, queued, monkeypatch):
    import_id = upload(session, b"email\na@example.com\nb@example.com\n")

    def boom(*_a, **_k):
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as m, pytest.raises(RuntimeError), session() as s:
        m.setattr(imports._Batch, "_events", boom)
        imports.run_batch(session=s, import_id=import_id)
    with session() as s:
        assert s.execute(sa.text("SELECT count(*) FROM contacts")).scalar() == 0
        assert imports.progress(session=s, import_id=import_id)["processed_rows"] == 0
    run_all(session, import_id)
    with session() as s:
        assert imports.progress(session=s, import_id=import_id)["inserted"] == 2


def test_stop_and_stalled(session, queued):
    data = "email\n" + "".join(f"s{i}@example.com\n" for i in range(5))
    import_id = upload(session, data.encode())
    other = upload(session, data.encode())
    with session() as s:
        imports.run_batch(session=s, import_id=import_id, batch_size=2)
    with session() as s:
        assert imports.stop_import(session=s, import_id=import_id)
    with session() as s:
        assert not imports.run_batch(session=s, import_id=import_id, batch_size=2).more
        assert imports.progress(session=s, import_id=import_id)["status"] == "stopped"
        assert imports.stalled(session=s) == []
        later = datetime.now(UTC) + timedelta(minutes=3)
        assert imports.stalled(session=s, now=later) == [(other, 0)]
    with session() as s:
        assert imports.stalled(session=s, now=later + timedelta(seconds=30)) == []


def test_legacy_encoding_semicolons_and_mac_line_endings(session, queued):
    data = "email;firstname;city\rzoe@example.com;Zoé;Besançon\rana@example.com;Ana;São Paulo\r".encode("cp1252")
    with session() as s:
        imp = imports.create_import(session=s, original_name="export.txt", data=data)
        pv = imports.preview(session=s, import_id=imp.id)
    assert (pv["delimiter"], pv["encoding"], pv["headers"]) == (";", "cp1252", ["email", "firstname", "city"])
    assert pv["rows"][0]["cells"] == ["zoe@example.com", "Zoé", "Besançon"]
    with session() as s:
        imports.start_import(session=s, import_id=imp.id, mapping=pv["mapping"])
    run_all(session, imp.id)
    with session() as s:
        assert by_email(s, "ana@example.com")["city"] == "São Paulo"


def test_utf16_file_is_converted(session, queued):
    p = do_import(session, "email,lastname\nkurt@example.com,Gödel\n".encode("utf-16"))
    assert p["inserted"] == 1
    with session() as s:
        assert by_email(s, "kurt@example.com")["lastname"] == "Gödel"


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"PK\x03\x04rest-of-a-zip", "Excel"),
    (b"\x00\x01\x02binary\x00stuff", "binary"),
    (b"email\n" + b"x@example.com\n" * 200, "larger than"),
])
def test_rejected_uploads(session, queued, data, message):
    with session() as s, pytest.raises(imports.CsvImportError) as err:
        imports.create_import(session=s, original_name="x.csv", data=data, max_bytes=1024)
    assert message in err.value.errors["file"]


def test_mapping_is_checked(session, queued):
    with session() as s:
        imp = imports.create_import(session=s, original_name="x.csv", data=b"email,name\na@example.com,A\n")
        with pytest.raises(imports.CsvImportError) as err:
            imports.start_import(session=s, import_id=imp.id, mapping={"email": "email", "name": "email"})
        assert "more than one column" in err.value.errors["mapping"]
        with pytest.raises(imports.CsvImportError) as err:
            imports.start_import(session=s, import_id=imp.id, mapping={"email": "nonsense"}, options={"default_owner_id": 999})
        assert set(err.value.errors) == {"mapping", "default_owner_id"}
        assert s.get(ContactImport, imp.id).status == "new"


def test_export_streams_and_neutralises_formulas(session, queued):
    with session() as s:
        contacts.create(session=s, values={"email": "evil@example.com", "firstname": "=HYPERLINK(\"x\")", "lastname": "+1", "points": -5})
        contacts.create(session=s, values={"email": "plain@example.com", "firstname": "Plain", "city": "@home"})
    with session() as s:
        text = "".join(exports.export_contacts(session=s, columns=["email", "firstname", "lastname", "city", "points"],
                                               order_by="email", direction="asc", page_size=1))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [
        ["email", "firstname", "lastname", "city", "points"],
        ["evil@example.com", "'=HYPERLINK(\"x\")", "'+1", "", "-5"],
        ["plain@example.com", "Plain", "", "'@home", "0"],
    ]
    with session() as s:
        only = "".join(exports.export_contacts(session=s, search="email:plain", columns=["email"], bom=False))
    assert only.splitlines() == ["email", "plain@example.com"]
    with session() as s, pytest.raises(exports.ExportError):
        list(exports.export_contacts(session=s, columns=["password_hash"]))


def test_an_imports_contacts_are_found_by_its_number_and_join_the_chosen_segment(session, queued):
    with session() as s:
        contacts.create(session=s, values={"email": "cyd@example.com", "firstname": "Cyd"})
        segment = segments.save_segment(session=s, segment_id=None, values={"name": "Webinar 2026", "alias": "webinar-2026"})
        segment_id = segment.id
    with pytest.raises(imports.CsvImportError) as refused:
        upload(session, b"email\nx@example.com\n", options={"segment_id": 999_999})
    assert set(refused.value.errors) == {"segment_id"}
    first = upload(session, b"email,firstname\nada@example.com,Ada\ncyd@example.com,Cydney\n", options={"segment_id": segment_id})
    run_all(session, first)
    p = do_import(session, b"email\nalan@example.com\n")
    assert p["inserted"] == 1
    with session() as s:
        found = contacts.list_contacts(session=s, search=f"import_id:{first}")
        assert sorted(r["email"] for r in found.rows) == ["ada@example.com", "cyd@example.com"]  # created and updated
        assert contacts.list_contacts(session=s, search=f"!import_id:{first} email:alan").total == 1
        members = contacts.list_contacts(session=s, search="segment:webinar-2026")
        assert sorted(r["email"] for r in members.rows) == ["ada@example.com", "cyd@example.com"]
