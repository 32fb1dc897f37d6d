"""Point actions, groups and triggers against SQLite and PostgreSQL: scoring, group scores, triggers firing once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mautic_app.models import GroupContactScore, PointActionLog, PointTriggerEvent, PointTriggerLog
from mautic_app.models.base import utcnow
from mautic_app.services import contacts, points, timeline

PRICING = "https://example.com/pricing"


def new_contact(s, email: str, **values) -> int:
    return contacts.create(session=s, values={"email": email, **values})[0]


def visit(session, cid: int, url: str = PRICING, hits: int = 1, since: float | None = None, at=None) -> int:
    with session() as s:
        return points.score(session=s, contact_id=cid, action_type="url.hit",
                            context={"url": url, "hits": hits, "seconds_since_last": since}, at=at)


def total(session, cid: int) -> int:
    with session() as s:
        return contacts.read(session=s, contact_id=cid)["points"]


def tags(session, cid: int) -> list[str]:
    with session() as s:
        return contacts.details(session=s, contact_id=cid)["tags"]


def events(session, cid: int, kind: str) -> list[str]:
    with session() as s:
        return [timeline.describe(e) for e in timeline.events(session=s, contact_id=cid, limit=100, types=[kind])]


def test_once_and_repeatable_actions(session):
    with session() as s:
        cid = new_contact(s, "visitor@example.com")
        points.save_action(session=s, action_id=None, name="Saw pricing", type="url.hit", delta=10,
                           properties={"page_url": "https://example.com/pricing*"})
        points.save_action(session=s, action_id=None, name="Keeps reading", type="url.hit", delta=2, repeatable=True,
                           properties={"page_url": "*example.com/*"})
        points.save_action(session=s, action_id=None, name="Switched off", type="url.hit", delta=100, is_published=False,
                           properties={"page_url": "*"})
        points.save_action(session=s, action_id=None, name="Not yet", type="url.hit", delta=100,
                           publish_up=utcnow() + timedelta(days=1), properties={"page_url": "*"})
        points.save_action(session=s, action_id=None, name="Was once", type="url.hit", delta=100,
                           publish_down=utcnow() - timedelta(days=1), properties={"page_url": "*"})
    assert visit(session, cid) == 12
    assert visit(session, cid, hits=2, since=30) == 2
    assert visit(session, cid, url="https://example.com/about") == 2
    assert visit(session, cid, url="https://other.example/") == 0
    assert total(session, cid) == 16
    with session() as s:
        logs = {r.action_id: r.times for r in s.exec(sa.select(PointActionLog).where(PointActionLog.contact_id == cid)).scalars()}
    assert sorted(logs.values()) == [1, 3]
    # Each change is on the timeline with the action's name as the reason.
    assert events(session, cid, "points")[-2:] == ["Points 10 → 12 (Keeps reading)", "Points 0 → 10 (Saw pricing)"]
    # Scoring a hit for an unknown contact is refused without writing anything.
    with pytest.raises(contacts.ContactError):
        visit(session, 999999)


def test_visit_conditions_come_from_the_tracking_context(session):
    with session() as s:
        cid = new_contact(s, "returner@example.com")
        points.save_action(session=s, action_id=None, name="Third visit", type="url.hit", delta=5,
                           properties={"page_url": PRICING, "page_hits": 3})
        points.save_action(session=s, action_id=None, name="Back within a day", type="url.hit", delta=7, repeatable=True,
                           properties={"page_url": PRICING, "returns_within": 86400})
    assert visit(session, cid, hits=1) == 0
    assert visit(session, cid, hits=2, since=90000) == 0
    assert visit(session, cid, hits=3, since=3600) == 12
    assert visit(session, cid, hits=4, since=60) == 7


def test_group_actions_score_the_group_not_the_total(session):
    with session() as s:
        cid = new_contact(s, "grouped@example.com")
        product = points.save_group(session=s, group_id=None, name="Product A").id
        points.save_action(session=s, action_id=None, name="Product A page", type="url.hit", delta=4, group_id=product,
                           repeatable=True, properties={"page_url": "*/product-a*"})
    assert visit(session, cid, url="https://example.com/product-a") == 0
    visit(session, cid, url="https://example.com/product-a/specs")
    assert total(session, cid) == 0
    with session() as s:
        assert points.group_scores(session=s, contact_id=cid) == [{"group_id": product, "name": "Product A", "score": 8}]
    assert events(session, cid, "group_points")[0] == "Product A points 4 → 8 (Product A page)"
    with session() as s:
        assert points.adjust(session=s, contact_id=cid, delta=-3, reason="Correction", group_id=product) == 5
        with pytest.raises(points.PointError) as err:
            points.adjust(session=s, contact_id=cid, delta=1, reason="x", group_id=424242)
        assert set(err.value.errors) == {"group"}
    with session() as s:
        points.delete_groups(session=s, group_ids=[product])
    with session() as s:
        assert points.group_scores(session=s, contact_id=cid) == []
        assert s.execute(sa.select(sa.func.count()).select_from(GroupContactScore)).scalar() == 0


def test_trigger_fires_once_and_modifies_tags(session):
    with session() as s:
        cid = new_contact(s, "hot@example.com")
        other = new_contact(s, "cold@example.com")
        contacts.modify_tags(session=s, contact_ids=[cid], tags=["cold"])
        trigger = points.save_trigger(session=s, trigger_id=None, name="Hot lead", points=20, color="ff0000", events=[
            {"type": "tags.modify", "properties": {"add_tags": "hot, sales-ready", "remove_tags": "cold"}},
        ])
        assert trigger.color == "#ff0000"
        event_id = points.events_of(session=s, trigger_ids=[trigger.id])[trigger.id][0].id
    with session() as s:
        assert points.adjust(session=s, contact_id=cid, delta=15, reason="Call") == 15
    assert tags(session, cid) == ["cold"]
    with session() as s:
        points.adjust(session=s, contact_id=cid, delta=5, reason="Demo booked")
    assert tags(session, cid) == ["hot", "sales-ready"]
    # Taken below the threshold and back above it, the trigger does not fire again.
    with session() as s:
        contacts.modify_tags(session=s, contact_ids=[cid], tags=["-hot"])
        points.adjust(session=s, contact_id=cid, delta=-10, reason="Refund")
        points.adjust(session=s, contact_id=cid, delta=30, reason="Upsell")
    assert tags(session, cid) == ["sales-ready"]
    with session() as s:
        assert s.execute(sa.select(PointTriggerLog.contact_id).where(PointTriggerLog.event_id == event_id)).scalars().all() == [cid]
        assert points.trigger_counts(session=s, trigger_ids=[trigger.id]) == {trigger.id: 1}
    assert tags(session, other) == []
    with session() as s:
        with pytest.raises(contacts.ContactError) as err:
            points.adjust(session=s, contact_id=999999, delta=1, reason="x")
        assert err.value.status == 404


def test_trigger_moves_the_contact_between_segments(session):
    """A "modify segments" event adds and removes by hand, as the segment page's buttons do."""
    from mautic_app.services import segments

    with session() as s:
        cid = new_contact(s, "lead@example.com")
        leads = segments.save_segment(session=s, values={"name": "Leads", "filters": []}).id
        sales = segments.save_segment(session=s, values={"name": "Sales ready", "filters": []}).id
        segments.add_contacts(session=s, segment_id=leads, contact_ids=[cid])
        points.save_trigger(session=s, trigger_id=None, name="Hand to sales", points=10, events=[
            {"type": "lead.changelists", "properties": {"add_to_segments": str(sales), "remove_from_segments": [leads]}},
        ])
    with session() as s:
        points.adjust(session=s, contact_id=cid, delta=10, reason="Demo booked")
    with session() as s:
        member_of = {seg.name: manual for seg, _, manual in segments.memberships(session=s, contact_id=cid)}
        assert member_of == {"Sales ready": True}


def test_group_trigger_watches_the_group_score(session):
    with session() as s:
        cid = new_contact(s, "fan@example.com", points=500)
        group = points.save_group(session=s, group_id=None, name="Webinars").id
        points.save_trigger(session=s, trigger_id=None, name="Webinar fan", points=10, group_id=group,
                            events=[{"type": "tags.modify", "properties": {"add_tags": ["webinar-fan"]}}])
        points.save_action(session=s, action_id=None, name="Webinar page", type="url.hit", delta=6, group_id=group,
                           repeatable=True, properties={"page_url": "*/webinars/*"})
    visit(session, cid, url="https://example.com/webinars/1")
    with session() as s:
        points.adjust(session=s, contact_id=cid, delta=100, reason="Big total")
    assert tags(session, cid) == []  # a high total does not count for a group trigger
    visit(session, cid, url="https://example.com/webinars/2")
    assert tags(session, cid) == ["webinar-fan"]


def test_unpublished_and_scheduled_triggers_wait(session):
    with session() as s:
        cid = new_contact(s, "later@example.com")
        points.save_trigger(session=s, trigger_id=None, name="Off", points=1, is_published=False,
                            events=[{"type": "tags.modify", "properties": {"add_tags": ["off"]}}])
        points.save_trigger(session=s, trigger_id=None, name="Tomorrow", points=1, publish_up=utcnow() + timedelta(days=1),
                            events=[{"type": "tags.modify", "properties": {"add_tags": ["tomorrow"]}}])
        points.adjust(session=s, contact_id=cid, delta=5, reason="x")
    assert tags(session, cid) == []


def test_trigger_existing_applies_to_contacts_already_there(session):
    with session() as s:
        rich = [new_contact(s, f"rich{i}@example.com", points=50 + i) for i in range(3)]
        poor = new_contact(s, "poor@example.com", points=5)
        trigger = points.save_trigger(session=s, trigger_id=None, name="Existing", points=50, trigger_existing=True,
                                      events=[{"type": "tags.modify", "properties": {"add_tags": ["qualified"]}}])
    for cid in rich:
        assert tags(session, cid) == ["qualified"]
    assert tags(session, poor) == []
    with session() as s:
        assert points.apply_trigger_to_existing(session=s, trigger_id=trigger.id) == 0  # nobody twice
        # A new event added later runs for everyone already there; the old one keeps its log.
        old = points.events_of(session=s, trigger_ids=[trigger.id])[trigger.id][0]
        points.save_trigger(session=s, trigger_id=trigger.id, name="Existing", points=50, trigger_existing=True, events=[
            {"id": old.id, "type": "tags.modify", "properties": {"add_tags": ["qualified"]}},
            {"type": "tags.modify", "properties": {"add_tags": ["second"]}},
        ])
    for cid in rich:
        assert tags(session, cid) == ["qualified", "second"]
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(PointTriggerLog)).scalar() == 6
        # Dropping an event from the list deletes it and its log.
        points.save_trigger(session=s, trigger_id=trigger.id, name="Existing", points=50, events=[
            {"id": old.id, "type": "tags.modify", "properties": {"add_tags": ["qualified"]}}])
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(PointTriggerEvent)).scalar() == 1
        assert s.execute(sa.select(sa.func.count()).select_from(PointTriggerLog)).scalar() == 3
        points.delete_triggers(session=s, trigger_ids=[trigger.id])
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(PointTriggerLog)).scalar() == 0


def test_validation_names_every_bad_field(session):
    with session() as s:
        with pytest.raises(points.PointError) as err:
            points.save_action(session=s, action_id=None, name="", type="url.hit", delta="lots", group_id=99,
                               properties={"page_url": ""}, publish_up="2025-02-01", publish_down="2025-01-01")
        assert set(err.value.errors) == {"name", "delta", "group", "page_url", "publish_down"}
        with pytest.raises(points.PointError) as err:
            points.save_action(session=s, action_id=None, name="Got it", type="asset.download", delta=1)
        assert set(err.value.errors) == {"type"}
        with pytest.raises(points.PointError) as err:
            points.save_trigger(session=s, trigger_id=None, name=["x"], points="1.5", color="blue", events=[
                {"type": "segments.modify", "properties": {"add_to_segments": [1]}},
                {"type": "tags.modify", "properties": {}},
                "junk",
            ])
        assert set(err.value.errors) == {"name", "points", "color", "events.0.add_to_segments", "events.1.add_tags", "events.2"}
        assert err.value.errors["events.0.add_to_segments"] == "No segment has the id 1."
        with pytest.raises(points.PointError) as err:
            points.save_action(session=s, action_id=4242, name="Gone", type="url.hit", delta=1, properties={"page_url": "*"})
        assert err.value.status == 404
        points.save_group(session=s, group_id=None, name="Scores")
        with pytest.raises(points.PointError) as err:
            points.save_group(session=s, group_id=None, name="SCORES")
        assert err.value.errors == {"name": "Another point group has this name."}


def test_lists_page_search_and_sort(session):
    with session() as s:
        for i in range(7):
            points.save_action(session=s, action_id=None, name=f"Action {i}", type="url.hit", delta=i,
                               properties={"page_url": f"*/{i}"}, is_published=i % 2 == 0)
        points.save_action(session=s, action_id=None, name="100% pure_fun", type="url.hit", delta=1, properties={"page_url": "*"})
    with session() as s:
        rows, n = points.list_actions(session=s, start=2, limit=3, order_by="delta", direction="desc")
        assert n == 8 and [r.delta for r in rows] == [4, 3, 2]
        rows, n = points.list_actions(session=s, search="action", published_only=True)
        assert n == 4 and [r.name for r in rows] == ["Action 0", "Action 2", "Action 4", "Action 6"]
        assert points.list_actions(session=s, search="100%")[1] == 1
        assert points.list_actions(session=s, search="_")[1] == 1  # wildcards are literal
        rows, _ = points.list_actions(session=s, search=f"ids:{rows[0].id}")
        assert [r.name for r in rows] == ["Action 0"]
        assert points.list_actions(session=s, order_by="1; DROP TABLE point_actions")[1] == 8


def test_concurrent_point_changes_all_count(session, database):
    """Two writers scoring one contact at once: neither change is lost."""
    if database.backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    import threading

    with session() as s:
        cid, _ = contacts.create(session=s, values={"email": "race@example.com"})

    def add_many():
        for _ in range(15):
            with session() as s:
                contacts.change_points(session=s, contact_id=cid, operation="plus", amount=1)

    workers = [threading.Thread(target=add_many) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    with session() as s:
        assert s.execute(sa.text("SELECT points FROM contacts WHERE id = :i"), {"i": cid}).scalar() == 45
