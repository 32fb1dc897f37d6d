"""Campaign rules: what follows an event, what stops a campaign from being published, decisions matching what a
contact did, conditions as segment filters, webhook addresses."""

from __future__ import annotations

from mautic_app.domain import campaigns as rules
from mautic_app.domain.campaign_schedule import Timing


def ev(ident, type_, parent=None, path=None, timing=Timing(), **props):
    return rules.Event(id=ident, kind=rules.EVENT_TYPES[type_].kind, type=type_, name=ident, parent=parent, path=path,
                       properties=props, timing=timing)


WAIT = Timing(mode="interval", interval=1, unit="d")


def graph():
    return rules.Graph.of([
        ev("send", "email.send", email=3),
        ev("open", "email.open", "send"),
        ev("points", "lead.changepoints", "open", "yes", points=5),
        ev("reminder", "email.send", "open", "no", WAIT, email=4),
        ev("country", "lead.field_value", "points", field="country", operator="=", value="US"),
        ev("tag", "lead.changetags", "country", "yes", add_tags=["us"]),
    ])


def test_what_follows_an_event():
    g = graph()
    nxt, waiting = rules.after_run(g, g.events["send"], None)
    assert [e.id for e in waiting] == ["open"] and [e.id for e in nxt] == ["reminder"]  # the no path waits as a deadline
    assert [e.id for e in rules.after_run(g, g.events["open"], rules.YES)[0]] == ["points"]
    assert [e.id for e in rules.after_run(g, g.events["country"], rules.YES)[0]] == ["tag"]
    assert rules.after_run(g, g.events["country"], rules.NO) == ([], [])
    assert g.decision_of(g.events["reminder"]).id == "open" and g.decision_of(g.events["tag"]) is None


def test_a_valid_campaign_has_no_problems_and_each_broken_rule_is_named_on_its_event():
    assert rules.problems(graph(), sources=1) == []
    broken = rules.Graph.of([
        ev("send", "email.send"),  # no e-mail chosen
        ev("open", "email.open"),  # not after a send
        ev("now", "lead.changetags", "send", "no", add_tags=["x"]),  # a path under an action
        ev("open2", "email.open", "send"),
        ev("quick", "lead.changetags", "open2", "no", add_tags=["x"]),  # immediate on a no path
        ev("tags", "lead.changetags", "send"),  # nothing to add or remove
        ev("jump", "campaign.jump_to_event", "send", jumpToEvent="jump"),
        ev("hook", "campaign.sendwebhook", "send", url="ftp://example.com"),
        ev("re", "lead.field_value", "send", field="city", operator="regexp", value="(a"),
    ])
    found = {(p.event, p.message) for p in rules.problems(broken, sources=0)}
    messages = {e: " ".join(m for x, m in found if x == e) for e in [None, *broken.events]}
    assert "Add a source" in messages[None]
    assert "E-mail" in messages["send"]
    assert "must follow" in messages["open"]
    assert "no yes or no path" in messages["now"]
    assert "needs a wait" in messages["quick"]
    assert "tags to add or remove" in messages["tags"]
    assert "jump to itself" in messages["jump"]
    assert "http://" in messages["hook"]
    assert messages["re"]


def test_decisions_match_what_the_contact_did():
    g = graph()
    opened = g.events["open"]
    assert rules.decision_matches(opened, {"event_id": "send"})
    assert not rules.decision_matches(opened, {"event_id": "other"})  # an e-mail from another event or campaign
    click = ev("click", "email.click", "send", urls=["https://shop.example/*"])
    assert rules.decision_matches(click, {"event_id": "send", "url": "https://shop.example/sale?x=1"})
    assert not rules.decision_matches(click, {"event_id": "send", "url": "https://evil.example/"})
    form = ev("form", "form.submit", forms=[2, "3"])
    assert rules.decision_matches(form, {"form_id": 3}) and not rules.decision_matches(form, {"form_id": 4})
    visit = ev("visit", "page.pagehit", url="*/pricing*", referer="")
    assert rules.decision_matches(visit, {"url": "https://x.example/pricing"}) and not rules.decision_matches(visit, {"url": "https://x.example/"})
    device = ev("dev", "page.devicehit", device_type=["smartphone"])
    assert rules.decision_matches(device, {"device_type": "Smartphone"}) and not rules.decision_matches(device, {"device_type": "desktop"})


def test_conditions_become_segment_filters():
    assert rules.condition_filters(ev("c", "lead.field_value", field="city", operator="in", value=["a", "b"])) == [
        {"field": "city", "operator": "in", "filter": ["a", "b"]}]
    assert rules.condition_filters(ev("c", "lead.points", operator="gte", score=10, group=None)) == [
        {"field": "points", "operator": "gte", "filter": 10}]
    assert rules.condition_filters(ev("c", "lead.points", operator="lt", score=3, group="2"))[0]["field"] == "group_points_2"
    assert rules.condition_filters(ev("c", "lead.tags", tags="vip, trial"))[0]["filter"] == ["vip", "trial"]
    assert rules.condition_filters(ev("c", "lead.pageHit", page_url="https://x.example/a_b*"))[0]["filter"] == r"https://x.example/a\_b%"
    assert rules.condition_filters(ev("c", "email.validate.address")) is None


def test_form_values_and_addresses():
    assert rules.value_matches("Paris", "eq", "paris") and rules.value_matches("", "empty", None)
    assert rules.value_matches("12", "gt", "3") and not rules.value_matches("x", "gt", "3")
    assert rules.value_matches("b", "in", "a, b") and rules.value_matches("hello world", "like", "%world%")
    assert rules.valid_email("ann@example.com") and not rules.valid_email("ann@") and not rules.valid_email(None)
    assert rules.webhook_url_problem("https://hooks.example/x") == ""
    assert rules.webhook_url_problem("javascript:alert(1)") and rules.webhook_url_problem("https://user:pw@x.example/")
    assert rules.ids_of({"list": ["1", 2, "x", 2]}) == [1, 2] and rules.texts_of("a, ,b") == ["a", "b"]


def test_a_wait_past_a_hundred_years_is_refused():
    g = rules.Graph.of([ev("t", "lead.changetags", timing=Timing(mode="interval", interval=99_999_999, unit="d"), add_tags=["x"])])
    assert any("too long" in p.message for p in rules.problems(g, sources=1))
