"""Segments against SQLite and PostgreSQL: Mautic's own segment behaviours, membership, rebuilds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from mautic_app.models import Contact, ContactEvent, PageHit, SegmentContact
from mautic_app.services import contacts, segments


def make(s, **values):
    tags = values.pop("tags", None)
    cid, _ = contacts.create(session=s, values=values, tags=tags, check_required=False)
    return cid


def segment(s, filters, name="Test segment"):
    return segments.save_segment(session=s, values={"name": name, "filters": filters}).id


def f(field, operator, value=None, glue="and"):
    return {"glue": glue, "field": field, "operator": operator, "value": value}


def members(session, segment_id):
    with session() as s:
        return set(s.execute(sa.select(SegmentContact.contact_id).where(
            SegmentContact.segment_id == segment_id, SegmentContact.manually_removed.is_(False))).scalars())


def rebuild(session, segment_id):
    with session() as s:
        return segments.rebuild(session=s, segment_id=segment_id)


def set_column(session, contact_id, **values):
    with session() as s:
        s.execute(sa.update(Contact).where(Contact.id == contact_id).values(**values))


# ------------------------------------------------------------------ Mautic's own checks


def test_city_starts_with(session):
    with session() as s:
        a, b, c = make(s, city="Prague"), make(s, city="Prague 11"), make(s, city="Praha")
        sid = segment(s, [f("city", "startsWith", "Prague")])
    rebuild(session, sid)
    assert members(session, sid) == {a, b} and c not in members(session, sid)


def test_points_gte(session):
    with session() as s:
        ids = {p: make(s, email=f"p{p}@example.com") for p in (10, 20, 25)}
    for p, cid in ids.items():
        set_column(session, cid, points=p)
    with session() as s:
        sid = segment(s, [f("points", "gte", 20)])
    rebuild(session, sid)
    assert members(session, sid) == {ids[20], ids[25]}


def test_multiselect_excluding_includes_empty_values(session):
    from mautic_app.services import fields

    with session() as s:
        fields.create_field(session=s, obj="contact", label="Colours", type="multiselect", alias="colours",
                            properties={"list": ["red", "green", "blue"]})
    with session() as s:
        red, both, none = make(s, colours=["red"]), make(s, colours=["red", "green"]), make(s, email="none@example.com")
        excluding = segment(s, [f("colours", "!in", ["green"])], "No green")
        all_of = segment(s, [f("colours", "in", ["red", "green"])], "Red and green")
    rebuild(session, excluding)
    rebuild(session, all_of)
    assert members(session, excluding) == {red, none}
    assert members(session, all_of) == {both}  # Mautic: every listed value


def test_clearing_values_empties_a_segment_on_rebuild(session):
    with session() as s:
        ids = [make(s, title="Mr.", email=f"m{i}@example.com") for i in range(3)]
        sid = segment(s, [f("title", "=", "Mr.")])
    assert rebuild(session, sid)["added"] == 3
    with session() as s:
        s.execute(sa.update(Contact).values(title=None))
    result = rebuild(session, sid)
    assert result["removed"] == 3 and members(session, sid) == set()
    with session() as s:
        lines = s.exec(select(ContactEvent).where(ContactEvent.contact_id == ids[0], ContactEvent.event_type == "segment")).all()
        assert [(e.details["action"], e.details["by"]) for e in lines] == [("added", "filter"), ("removed", "filter")]


def test_changing_a_page_hit_url_empties_a_hit_url_segment(session):
    with session() as s:
        cid = make(s, email="visitor@example.com")
        s.add(PageHit(contact_id=cid, url="https://shop.example/pricing", url_hash="x", tracking_id="t"))
        sid = segment(s, [f("hit_url", "contains", "/pricing")])
    rebuild(session, sid)
    assert members(session, sid) == {cid}
    with session() as s:
        s.execute(sa.update(PageHit).values(url="https://shop.example/other"))
    rebuild(session, sid)
    assert members(session, sid) == set()


@pytest.mark.parametrize("value, offset", [
    ("today", timedelta(seconds=10)),  # midnight + 10 s
    ("yesterday", timedelta(seconds=-10)),  # midnight - 10 s
])
def test_relative_days(session, value, offset):
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with session() as s:
        hit = make(s, email="hit@example.com")
        miss = make(s, email="miss@example.com")
        sid = segment(s, [f("date_identified", "=", value)])
    set_column(session, hit, date_identified=midnight + offset)
    set_column(session, miss, date_identified=midnight + offset + timedelta(days=3))
    rebuild(session, sid)
    assert members(session, sid) == {hit}


def test_relative_periods_and_offsets(session):
    now = datetime.now(UTC)
    monday = (now - timedelta(days=now.weekday())).replace(hour=12, minute=0, second=0, microsecond=0)
    with session() as s:
        last_week, plus5, minus4 = make(s, email="a@example.com"), make(s, email="b@example.com"), make(s, email="c@example.com")
        sids = [segment(s, [f("date_identified", "=", v)], v) for v in ("last week", "+5 days", "-4 days")]
    set_column(session, last_week, date_identified=monday - timedelta(days=7) + timedelta(days=2))
    set_column(session, plus5, date_identified=now + timedelta(days=5))
    set_column(session, minus4, date_identified=now - timedelta(days=4))
    for sid in sids:
        rebuild(session, sid)
    assert [members(session, sid) for sid in sids] == [{last_week}, {plus5}, {minus4}]


# ------------------------------------------------------------------ membership rules


def test_manual_members_stay_and_manual_removals_stay_out(session):
    with session() as s:
        paris = [make(s, city="Paris", email=f"p{i}@example.com") for i in range(3)]
        london = make(s, city="London")
        sid = segment(s, [f("city", "=", "paris")])  # text matches case-insensitively, as in Mautic
    rebuild(session, sid)
    assert members(session, sid) == set(paris)
    with session() as s:
        assert segments.add_contacts(session=s, segment_id=sid, contact_ids=[london]) == 1
        assert segments.remove_contacts(session=s, segment_id=sid, contact_ids=[paris[0]]) == 1
    rebuild(session, sid)
    assert members(session, sid) == {paris[1], paris[2], london}
    with session() as s:
        assert [(seg.name, manual) for seg, _added, manual in segments.memberships(session=s, contact_id=london)] == [("Test segment", True)]
        assert segments.memberships(session=s, contact_id=paris[0]) == []
        lines = s.exec(select(ContactEvent).where(ContactEvent.contact_id == london, ContactEvent.event_type == "segment")).all()
        assert [(e.details["action"], e.details["by"]) for e in lines] == [("added", "manual")]


def test_a_segment_without_filters_has_no_filtered_members(session):
    with session() as s:
        make(s, email="x@example.com")
        sid = segment(s, [])
    assert rebuild(session, sid)["total"] == 0


def test_or_groups_and_negative_operators_on_related_rows(session):
    with session() as s:
        vip = make(s, email="vip@example.com", tags=["VIP"])
        paris = make(s, city="Paris", tags=["newsletter"])
        plain = make(s, email="plain@example.com")
        either = segment(s, [f("tags", "in", ["vip"]), f("city", "=", "Paris", glue="or")], "Either")
        not_vip = segment(s, [f("tags", "!in", ["vip"])], "Not VIP")
        untagged = segment(s, [f("tags", "empty")], "Untagged")
    for sid in (either, not_vip, untagged):
        rebuild(session, sid)
    assert members(session, either) == {vip, paris}
    assert members(session, not_vip) == {paris, plain}
    assert members(session, untagged) == {plain}


def test_segment_in_segment_and_circles_are_refused(session):
    with session() as s:
        a = make(s, city="Oslo", email="a@example.com")
        b = make(s, city="Oslo", email="b@example.com")
        c = make(s, city="Rome")
        oslo = segment(s, [f("city", "=", "Oslo")], "Oslo")
        segments.remove_contacts(session=s, segment_id=oslo, contact_ids=[b])
        segments.add_contacts(session=s, segment_id=oslo, contact_ids=[c])
        outer = segment(s, [f("leadlist", "in", [oslo])], "In Oslo")
        outside = segment(s, [f("leadlist", "!in", [oslo])], "Not in Oslo")
    rebuild(session, outer)
    rebuild(session, outside)
    assert members(session, outer) == {a, c}  # its filters, plus added, minus removed
    assert members(session, outside) == {b}
    with session() as s, pytest.raises(segments.SegmentError, match="circle"):
        segments.save_segment(session=s, segment_id=oslo, values={"name": "Oslo", "filters": [f("leadlist", "in", [outer])]})
    with session() as s, pytest.raises(segments.SegmentError, match="circle"):
        segments.save_segment(session=s, segment_id=oslo, values={"name": "Oslo", "filters": [f("leadlist", "in", [oslo])]})
    with session() as s, pytest.raises(segments.SegmentError, match="use this one"):
        segments.delete_segment(session=s, segment_id=oslo)


def test_values_are_data_never_sql(session):
    with session() as s:
        quote = make(s, city="O'Brien; DROP TABLE contacts; --")
        percent = make(s, city="50% off")
        other = make(s, city="500 off")
        literal = segment(s, [f("city", "=", "O'Brien; DROP TABLE contacts; --")], "Literal")
        starts = segment(s, [f("city", "startsWith", "50%")], "Starts")
    rebuild(session, literal)
    rebuild(session, starts)
    assert members(session, literal) == {quote}
    assert members(session, starts) == {percent} and other not in members(session, starts)
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Contact)).scalar_one() == 3


def test_bad_filters_get_clear_errors(session):
    with session() as s:
        for filters, message in (
            ([f("nosuch", "=", "x")], "Unknown field"),
            ([f("city", "regexp", "(")], "regular expression"),
            ([f("city", "regexp", "a" * 256)], "255"),
            ([f("points", "gt", "many")], "Enter a number"),
            ([f("leadlist", "in", [999])], "does not exist"),
        ):
            with pytest.raises(segments.SegmentError, match=message):
                segments.save_segment(session=s, values={"name": "Bad", "filters": filters})


def test_preview_counts_and_samples(session):
    with session() as s:
        for i in range(12):
            make(s, city="Lyon", email=f"l{i}@example.com")
        make(s, city="Nice")
        result = segments.preview(session=s, filters=[f("city", "=", "Lyon")])
    assert result["total"] == 12 and len(result["sample"]) == 10
    assert result["sample"][0]["email"].endswith("@example.com")


def test_changed_contacts_are_re_evaluated(session):
    with session() as s:
        a = make(s, city="Bern", email="a@example.com")
        b = make(s, city="Basel", email="b@example.com")
        sid = segment(s, [f("city", "=", "Bern")])
    rebuild(session, sid)
    set_column(session, a, city="Zug")
    set_column(session, b, city="Bern")
    with session() as s:
        assert segments.update_contacts(session=s, contact_ids=[a, b]) == {sid: (1, 1)}
    assert members(session, sid) == {b}
    with session() as s:
        assert segments.update_contacts(session=s, contact_ids=[a, b]) == {}


def test_a_contact_changed_anywhere_is_re_evaluated_after_commit(session, monkeypatch):
    from mautic_app.tasks import segments as segment_tasks

    queued = []
    monkeypatch.setattr(segment_tasks.update_contacts, "delay", lambda ids: queued.append(ids) or segment_tasks.update_contacts(ids))
    with session() as s:
        cid = make(s, city="Graz", email="g@example.com")
        sid = segment(s, [f("city", "=", "Vienna")])
    rebuild(session, sid)
    assert members(session, sid) == set()
    with session() as s:
        contacts.update(session=s, contact_id=cid, values={"city": "Vienna"})
    assert queued and cid in queued[-1]
    assert members(session, sid) == {cid}
