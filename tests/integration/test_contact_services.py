"""Contact, company and stage services against SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mautic_app.models import ContactEvent, MergeRecord
from mautic_app.services import companies, contacts, fields, stages, timeline


def event_types(session, contact_id):
    return [e.event_type for e in timeline.events(session=session, contact_id=contact_id, limit=100)]


def test_create_validates_and_logs(session):
    with session() as s:
        with pytest.raises(contacts.ContactError) as err:
            contacts.create(session=s, values={"email": "nope", "country": "Atlantis"})
        assert set(err.value.errors) == {"email", "country"}
    with session() as s:
        cid, created = contacts.create(session=s, values={"email": "Ada@Example.com", "firstname": "<b>Ada</b>"}, tags=["vip"])
    with session() as s:
        row = contacts.read(session=s, contact_id=cid)
        assert created and row["email"] == "Ada@example.com" and row["firstname"] == "<b>Ada</b>"
        assert row["is_identified"] and row["date_identified"] is not None
        assert contacts.details(session=s, contact_id=cid)["tags"] == ["vip"]
        assert {"created", "identified"} <= set(event_types(s, cid))


def test_existing_email_merges_instead_of_duplicating(session):
    with session() as s:
        first, _ = contacts.create(session=s, values={"email": "dup@example.com"})
    with session() as s:
        again, created = contacts.create(session=s, values={"email": "DUP@example.com", "city": "Paris"}, merge_existing=True)
    assert again == first and not created
    with session() as s:
        assert contacts.read(session=s, contact_id=first)["city"] == "Paris"


def test_update_blank_does_not_overwrite_unless_asked(session):
    with session() as s:
        cid, _ = contacts.create(session=s, values={"email": "a@example.com", "city": "Paris"})
    with session() as s:
        assert contacts.update(session=s, contact_id=cid, values={"city": ""}) == {}
        changed = contacts.update(session=s, contact_id=cid, values={"city": ""}, overwrite_with_blank=True)
        assert changed["city"] == ("Paris", None)
    with session() as s:
        assert "updated" in event_types(s, cid)


def test_search_syntax(session):
    with session() as s:
        lead = stages.save_stage(session=s, stage_id=None, name="Lead").id
        a, _ = contacts.create(session=s, values={"email": "alice@acme.example.com", "firstname": "Alice"}, tags=["vip"], stage_id=lead)
        b, _ = contacts.create(session=s, values={"email": "bob@globex.example.com", "lastname": "Builder"})
        c, _ = contacts.create(session=s, values={"city": "Nowhere"})
        companies.link_contact(session=s, company_id=companies.create(session=s, values={"companyname": "Globex"}), contact_id=b)

    def ids(q, user_id=None):
        with session() as s:
            return {r["id"] for r in contacts.list_contacts(session=s, search=q, user_id=user_id, limit=50).rows}

    assert ids("email:alice") == {a}
    assert ids("tag:VIP") == {a}
    assert ids("!tag:vip") == {b, c}
    assert ids("stage:lead") == {a}
    assert ids("company:glob") == {b}
    assert ids("is:anonymous") == {c}
    assert ids("is:unowned") == {a, b, c}
    assert ids("builder") == {b}
    assert ids("nowhere") == {c}  # free text looks where contacts live too (city, state, country)
    assert ids(f"ids:{a},{c}") == {a, c}
    assert ids("email:100%") == set()  # wildcards are literal
    assert ids("' OR 1=1 --") == set()


def test_paging_sorting_and_count(session):
    with session() as s:
        for i in range(12):
            contacts.create(session=s, values={"email": f"p{i:02d}@example.com", "points": i})
    with session() as s:
        page = contacts.list_contacts(session=s, order_by="points", direction="desc", start=5, limit=5)
        assert [r["points"] for r in page.rows] == [6, 5, 4, 3, 2]
        assert page.total == 12 and not page.total_capped
        capped = contacts.list_contacts(session=s, limit=1, count_cap=10)
        assert capped.total == 10 and capped.total_capped
        assert contacts.list_contacts(session=s, order_by="no_such; drop table", limit=1).rows


def test_points_stage_owner_dnc_notes_utm_are_logged(session):
    with session() as s:
        cid, _ = contacts.create(session=s, values={"email": "log@example.com"})
        stage = stages.save_stage(session=s, stage_id=None, name="Customer", weight=40)
    with session() as s:
        assert contacts.change_points(session=s, contact_id=cid, operation="plus", amount=10) == 10
        assert contacts.change_points(session=s, contact_id=cid, operation="times", amount=3) == 30
        contacts.set_stage(session=s, contact_ids=[cid], stage_id=stage.id)
        contacts.set_owner(session=s, contact_ids=[cid], owner_id=1)
        contacts.add_dnc(session=s, contact_id=cid, channel="email", reason=1, comments="clicked unsubscribe")
        contacts.add_dnc(session=s, contact_id=cid, channel="email", reason=3)  # does not overwrite an unsubscribe
        contacts.add_note(session=s, contact_id=cid, text="Called", type="call")
        contacts.add_utm(session=s, contact_id=cid, data={"utm_source": "newsletter"})
        with pytest.raises(contacts.ContactError):
            contacts.change_points(session=s, contact_id=cid, operation="divide", amount=0)
    with session() as s:
        d = contacts.details(session=s, contact_id=cid)
        assert d["stage"]["name"] == "Customer" and d["owner"]["username"] == "admin"
        assert d["do_not_contact"][0]["reason"] == 1
        assert {"points", "stage", "owner", "dnc", "note", "utm"} <= set(event_types(s, cid))
        texts = [timeline.describe(e) for e in timeline.events(session=s, contact_id=cid)]
        assert any("Points 10 → 30" in t for t in texts)


def test_merge_follows_the_spec(session):
    with session() as s:
        w, _ = contacts.create(session=s, values={"email": "win@example.com", "firstname": "Win", "points": 5}, tags=["a"], ip="10.0.0.1")
        lo, _ = contacts.create(session=s, values={"firstname": "Loser", "city": "Oslo", "points": 7}, tags=["b"], ip="10.0.0.2")
        contacts.add_note(session=s, contact_id=lo, text="loser's note")
    with session() as s:
        contacts.merge(session=s, winner_id=w, loser_id=lo)
    with session() as s:
        row = contacts.read(session=s, contact_id=w)
        assert row["points"] == 12 and row["city"] == "Oslo" and row["email"] == "win@example.com"
        assert row["firstname"] == "Loser"  # the more recently modified contact wins per field
        d = contacts.details(session=s, contact_id=w)
        assert d["tags"] == ["a", "b"] and {i["ip"] for i in d["ip_addresses"]} == {"10.0.0.1", "10.0.0.2"}
        assert [n.text for n in d["notes"]] == ["loser's note"]
        assert contacts.read(session=s, contact_id=lo) is None
        assert contacts.resolve_merged_id(session=s, contact_id=lo) == w
        assert s.exec(select(MergeRecord)).one().merged_id == lo
        assert s.exec(select(ContactEvent).where(ContactEvent.contact_id == lo)).first() is None


def test_companies_primary_link_fills_contact_field(session):
    with session() as s:
        cid, _ = contacts.create(session=s, values={"email": "emp@example.com"})
        acme = companies.create(session=s, values={"companyname": "Acme"})
        globex = companies.create(session=s, values={"companyname": "Globex"})
        with pytest.raises(companies.CompanyError):
            companies.create(session=s, values={"companyname": "acme"})
    with session() as s:
        companies.link_contact(session=s, company_id=acme, contact_id=cid)
        companies.link_contact(session=s, company_id=globex, contact_id=cid)
    with session() as s:
        assert contacts.read(session=s, contact_id=cid)["company"] == "Acme"
        companies.unlink_contact(session=s, company_id=acme, contact_id=cid)
    with session() as s:
        assert contacts.read(session=s, contact_id=cid)["company"] == "Globex"
        companies.update(session=s, company_id=globex, values={"companyname": "Globex Corp"})
    with session() as s:
        assert contacts.read(session=s, contact_id=cid)["company"] == "Globex Corp"


def test_custom_fields_are_real_columns(session):
    with session() as s:
        f = fields.create_field(session=s, obj="contact", label="Favourite colour", type="select",
                                properties={"list": ["red", "blue"]}, is_indexed=True)
        with pytest.raises(fields.FieldError):
            fields.create_field(session=s, obj="contact", label="Email", alias="email", type="text")
    with session() as s:
        cid, _ = contacts.create(session=s, values={"email": "c@example.com", "favourite_colour": "red"})
        with pytest.raises(contacts.ContactError) as err:
            contacts.update(session=s, contact_id=cid, values={"favourite_colour": "green"})
        assert "favourite_colour" in err.value.errors
    with session() as s:
        assert contacts.read(session=s, contact_id=cid)["favourite_colour"] == "red"
        fields.move_field(session=s, field_id=f.id, step=-1)
        fields.delete_field(session=s, field_id=f.id)
    with session() as s:
        assert "favourite_colour" not in contacts.read(session=s, contact_id=cid)
        core = next(x for x in fields.specs(session=s) if x.alias == "email")
        assert core.is_fixed


def test_ids_of_deleted_contacts_are_never_reused(session):
    with session() as s:
        first, _ = contacts.create(session=s, values={"email": "gone1@example.com"})
    with session() as s:
        contacts.delete(session=s, contact_ids=[first])
    with session() as s:
        again, _ = contacts.create(session=s, values={"email": "new1@example.com"})
    assert again > first
