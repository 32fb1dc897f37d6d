"""Forms end to end through the public routes: embedding, submitting, contacts, actions, results, abuse."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mautic_app.domain.forms import FormError
from mautic_app.models import (
    Company,
    CompanyContact,
    Contact,
    ContactDevice,
    ContactEvent,
    ContactTag,
    FormSubmission,
    SegmentContact,
    Tag,
)
from mautic_app.queues import form_posts, hits, redis_queue
from mautic_app.services import contacts, forms, points, segments, tracking
from tests.integration.conftest import visitor_browser

SITE = "https://shop.example"
VISITOR_IP = "203.0.113.9"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


@pytest.fixture
def site(database, monkeypatch, override_settings) -> Iterator:
    override_settings(form_submits_per_minute=0)
    with visitor_browser(monkeypatch, origin=SITE, ip=VISITOR_IP) as c:
        yield c


FIELDS = [
    {"label": "E-mail", "alias": "email", "type": "email", "is_required": True, "mapped_object": "contact", "mapped_field": "email"},
    {"label": "First name", "alias": "firstname", "type": "text", "mapped_object": "contact", "mapped_field": "firstname"},
    {"label": "Company", "alias": "company", "type": "text", "mapped_object": "contact", "mapped_field": "company",
     "show_when_value_exists": False},
    {"label": "Interest", "alias": "interest", "type": "select", "properties": {"options": "Cars\nBikes"}},
    {"label": "Bike model", "alias": "bike", "type": "text", "is_required": True, "parent_alias": "interest",
     "conditions": {"values": ["Bikes"]}},
    {"label": "Submit", "alias": "submit", "type": "button"},
]


def make_form(session, *, fields=None, actions=None, **values) -> int:
    with session() as s:
        form = forms.save_form(session=s, form_id=None, values={"name": "Newsletter", **values},
                               fields=fields if fields is not None else FIELDS, actions=actions or [])
        s.commit()
        return form.id


def send(site, data: dict, ajax: bool = True):
    """Post as a browser does, then let the queued writer (PostgreSQL runs have Redis) store it."""
    reply = site.post("/form/submit" + ("?ajax=1" if ajax else ""), data=data, follow_redirects=False)
    if redis_queue.enabled():
        form_posts.drain_submissions(linger=0)
    return reply


def post(site, form_id: int, ajax: bool = True, **fields):
    data = {f"mauticform[{k}]": v for k, v in fields.items()} | {"mauticform[formId]": str(form_id)}
    return send(site, data, ajax)


def test_embed_script_and_page_render_the_form_escaped(site, session):
    form_id = make_form(session, fields=FIELDS + [{"label": "<img src=x onerror=alert(1)>", "alias": "evil", "type": "text"}])
    js = site.get(f"/form/generate.js?id={form_id}")
    assert js.status_code == 200 and js.headers["content-type"].startswith("application/javascript")
    assert "<img" not in js.text and "\\u003cimg" not in js.text
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in js.text  # escaped in the HTML, then made script-safe
    assert "</script" not in js.text
    assert site.get("/form/generate.js?id=999").status_code == 404
    assert site.get("/form/generate.js?id=abc").status_code == 404
    page = site.get(f"/form/{form_id}?firstname=Ann")
    assert page.status_code == 200 and f"/form/generate.js?id={form_id}" in page.text
    assert site.get("/form/999").status_code == 404


def test_submission_creates_contact_keeps_values_and_runs_actions(site, session):
    with session() as s:
        seg = segments.save_segment(session=s, segment_id=None, values={"name": "Leads", "filters": []})
        s.commit()
        seg_id = seg.id
    form_id = make_form(session, actions=[
        {"type": "lead.pointschange", "properties": {"points": 7}},
        {"type": "lead.changetags", "properties": {"add_tags": "newsletter"}},
        {"type": "lead.changelist", "properties": {"addToLists": [seg_id]}},
    ])
    r = post(site, form_id, email="Ann@Example.com", firstname="<b>Ann</b>", interest="Cars")
    assert r.status_code == 200 and r.json()["success"] == 1, r.text
    with session() as s:
        sub = s.execute(sa.select(FormSubmission)).scalar_one()
        assert sub.values == {"email": "Ann@example.com", "firstname": "<b>Ann</b>", "interest": "Cars"}
        assert sub.ip_address == VISITOR_IP
        c = s.get(Contact, sub.contact_id)
        assert c.email == "Ann@example.com" and c.firstname == "<b>Ann</b>" and c.points == 7
        tags = s.execute(sa.select(Tag.tag).join(ContactTag).where(ContactTag.contact_id == c.id)).scalars().all()
        assert tags == ["newsletter"]
        assert s.execute(sa.select(SegmentContact).where(SegmentContact.contact_id == c.id)).first()
        kinds = s.execute(sa.select(ContactEvent.event_type).where(ContactEvent.contact_id == c.id)).scalars().all()
        assert "form_submitted" in kinds
    # The same e-mail again is the same contact; a segment deleted since is skipped, not an error.
    with session() as s:
        segments.delete_segment(session=s, segment_id=seg_id)
        s.commit()
    assert post(site, form_id, email="ann@example.com", interest="Cars").json()["success"] == 1
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Contact)).scalar() == 1
        total, rows = forms.results(session=s, form_id=form_id, search="ann@")
        assert total == 2
        assert s.get(Contact, c.id).points == 14  # the other actions ran


def test_uploaded_files_download_for_marketers_only_and_refused_posts_keep_none(site, session):
    from mautic_app.services import users
    from mautic_app.settings import get_settings

    form_id = make_form(session, fields=[FIELDS[0], {"label": "CV", "alias": "cv", "type": "file",
                                                     "properties": {"allowed_extensions": ["pdf", "html"]}}])
    folder = get_settings().data_dir / "form_uploads" / str(form_id)

    assert _multipart(site, form_id, "", "cv.pdf").json()["validationErrors"] == {"email": "E-mail is required."}
    assert not folder.exists() or list(folder.iterdir()) == []  # the refused post's file is gone
    assert _multipart(site, form_id, "cv@example.com", "<script>évil</script>.html").json()["success"] == 1
    assert [p.name.split("_", 1)[1] for p in folder.iterdir()] == ["script.html"]  # a random name, not theirs
    with session() as s:
        sub = s.execute(sa.select(FormSubmission)).scalar_one()
        token = users.start_session(session=s, user=users.authenticate(session=s, username="admin", password="admin-password-123"))
    url = f"/forms/{form_id}/results/{sub.id}/files/cv"
    assert site.get(url).status_code == 401
    site.cookies.set("mautic_session", token)
    r = site.get(url)
    assert r.status_code == 200 and r.content == b"<html><script>alert(1)</script></html>"
    assert r.headers["content-type"] == "application/octet-stream" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment;") and "sandbox" in r.headers["content-security-policy"]
    assert site.get(f"/forms/{form_id}/results/{sub.id}/files/email").status_code == 404
    assert site.get(f"/forms/{form_id + 1}/results/{sub.id}/files/cv").status_code == 404
    assert site.get(f"/forms/{form_id}/results/{sub.id}/files/..%2F..%2Fsecret").status_code == 404


def _multipart(site, form_id: int, email: str, filename: str):
    reply = site.post("/form/submit?ajax=1", data={"mauticform[formId]": str(form_id), "mauticform[email]": email},
                      files={"mauticform[cv]": (filename, b"<html><script>alert(1)</script></html>", "text/html")})
    if redis_queue.enabled():
        form_posts.drain_submissions(linger=0)
    return reply


def test_per_field_errors_conditional_required_and_never_a_500(site, session):
    form_id = make_form(session)
    r = post(site, form_id, email="not-an-email", interest="Bikes")
    body = r.json()
    assert body["success"] == 0 and set(body["validationErrors"]) == {"email", "bike"}
    # The conditional field counts only when its parent shows it.
    assert post(site, form_id, email="bo@example.com", interest="Cars").json()["success"] == 1
    assert post(site, form_id, email="bo@example.com", interest="Planes").json()["validationErrors"] == {"interest": "Choose from the list."}
    # Unknown fields are ignored; non-AJAX errors come back on a page.
    page = post(site, form_id, ajax=False, email="", nonsense="x")
    assert page.status_code == 400 and "E-mail is required." in page.text
    assert send(site, {"mauticform[formId]": "999"}).status_code == 404
    assert send(site, {"x": "1"}).status_code == 400
    assert site.post("/form/submit?ajax=1", content=b"{}", headers={"Content-Type": "application/json"}).status_code == 415
    huge = send(site, {"mauticform[formId]": str(form_id), "mauticform[email]": "a" * 100_000})
    assert huge.status_code in (400, 413)


def test_return_and_redirects_never_leave_for_unknown_sites(site, session):
    form_id = make_form(session, post_action="return")
    evil = post(site, form_id, ajax=False, email="cy@example.com", interest="Cars", **{"return": "https://evil.example/phish"})
    assert evil.status_code == 200 and "evil.example" not in evil.text
    ok = post(site, form_id, ajax=False, email="cy@example.com", interest="Cars", **{"return": SITE + "/thanks"})
    assert ok.status_code == 303 and ok.headers["location"] == SITE + "/thanks"
    assert post(site, form_id, email="cy@example.com", interest="Cars", **{"return": "javascript:alert(1)"}).json()["redirect"] is None
    with session() as s:
        tracking.save_settings(session=s, values={"allowed_hosts": ["*.partner.example"]})
        s.commit()
    allowed = post(site, form_id, email="cy@example.com", interest="Cars", **{"return": "https://www.partner.example/x"})
    assert allowed.json()["redirect"] == "https://www.partner.example/x"


def test_honeypot_and_rate_limit(site, session, override_settings):
    form_id = make_form(session)
    r = post(site, form_id, email="bot@example.com", interest="Cars", mfhp_website="http://spam")
    assert r.json()["success"] == 1
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(FormSubmission)).scalar() == 0
    override_settings(form_submits_per_minute=2)
    if redis_queue.enabled():
        redis_queue.sync_client().delete(f"mautic:forms:rate:{VISITOR_IP}:{form_id}")
    codes = [post(site, form_id, email=f"p{i}@example.com", interest="Cars").status_code for i in range(3)]
    assert codes == [200, 200, 429]


def _tracked_visitor(site) -> tuple[str, int]:
    r = site.post("/mtc/event", data={"page_url": SITE + "/pricing"})
    device = r.json()["device_id"]
    if redis_queue.enabled():
        hits.drain(linger=0)
    return device


def test_visitor_merges_into_the_contact_found_by_email(site, session):
    with session() as s:
        known, _ = contacts.create(session=s, values={"email": "dee@example.com", "firstname": "Dee"})
        s.commit()
    device = _tracked_visitor(site)
    with session() as s:
        visitor = forms.contact_of_device(session=s, device_id=device)
    assert visitor != known
    form_id = make_form(session)
    r = send(site, {"mauticform[formId]": form_id, "mauticform[email]": "dee@example.com",
                                                "mauticform[interest]": "Cars", "mautic_device_id": device})
    assert r.json()["success"] == 1
    with session() as s:
        assert forms.contact_of_device(session=s, device_id=device) == known
        assert s.get(Contact, visitor) is None  # merged away, its hits kept on the known contact
        assert s.execute(sa.select(FormSubmission.contact_id)).scalar() == known


def test_conflicting_identity_starts_a_new_contact_and_kiosk_mode_ignores_the_visitor(site, session):
    device = _tracked_visitor(site)
    form_id = make_form(session)
    send(site, {"mauticform[formId]": form_id, "mauticform[email]": "eve@example.com",
                                           "mauticform[interest]": "Cars", "mautic_device_id": device})
    with session() as s:
        eve = forms.contact_of_device(session=s, device_id=device)
    send(site, {"mauticform[formId]": form_id, "mauticform[email]": "fay@example.com",
                                           "mauticform[interest]": "Cars", "mautic_device_id": device})
    with session() as s:
        fay = forms.contact_of_device(session=s, device_id=device)
        assert fay != eve and s.get(Contact, fay).email == "fay@example.com" and s.get(Contact, eve).email == "eve@example.com"
    kiosk = make_form(session, name="Kiosk", alias="kiosk", in_kiosk_mode=True)
    send(site, {"mauticform[formId]": kiosk, "mauticform[email]": "gus@example.com",
                                           "mauticform[interest]": "Cars", "mautic_device_id": device})
    with session() as s:
        assert forms.contact_of_device(session=s, device_id=device) == fay  # the kiosk's device is nobody
        sub = s.execute(sa.select(FormSubmission).where(FormSubmission.form_id == kiosk)).scalar_one()
        assert sub.ip_address is None and sub.tracking_id is None
        assert s.get(Contact, sub.contact_id).email == "gus@example.com"


def test_progressive_profiling_and_prefill_only_for_allowed_sites(site, session):
    fields = [dict(f) for f in FIELDS]
    fields[1] |= {"is_auto_fill": True}
    form_id = make_form(session, fields=fields)
    device = _tracked_visitor(site)
    send(site, {"mauticform[formId]": form_id, "mauticform[email]": "hal@example.com",
                                           "mauticform[firstname]": "Hal", "mauticform[company]": "Acme",
                                           "mauticform[interest]": "Cars", "mautic_device_id": device})
    js = site.get(f"/form/generate.js?id={form_id}&mautic_device_id={device}").text
    assert "mauticform[company]" not in js  # known, and set to hide when known
    assert "mauticform[firstname]" in js and "Hal" not in js  # auto-fill values never ride in the script
    refused = site.get(f"/form/prefill?id={form_id}&mautic_device_id={device}", headers={"Origin": "https://evil.example"})
    assert refused.json() == {"hide": ["company"], "values": {}}  # which fields to hide for the id it names, never a value
    with session() as s:
        tracking.save_settings(session=s, values={"allowed_hosts": ["shop.example"]})
        s.commit()
    ok = site.get(f"/form/prefill?id={form_id}&mautic_device_id={device}")
    assert ok.json() == {"hide": ["company"], "values": {"firstname": "Hal"}}


def test_form_submit_point_action_and_submitted_form_results_csv(site, session):
    form_id = make_form(session)
    with session() as s:
        points.save_action(session=s, action_id=None, name="Form", type="form.submit", delta=3, properties={"forms": [form_id]})
        s.commit()
    post(site, form_id, email="=cmd@example.com", firstname="=HYPERLINK(1)", interest="Cars")
    with session() as s:
        contact = s.execute(sa.select(Contact)).scalar_one()
        assert contact.points == 3
        csv_text = "".join(forms.export_csv(session=s, form_id=form_id))
    assert "'=HYPERLINK(1)" in csv_text and "First name" in csv_text


def test_devices_follow_the_submission(site, session):
    device = _tracked_visitor(site)
    form_id = make_form(session)
    send(site, {"mauticform[formId]": form_id, "mauticform[email]": "ivy@example.com",
                                           "mauticform[interest]": "Cars", "mautic_device_id": device})
    with session() as s:
        owner = s.execute(sa.select(ContactDevice.contact_id).where(ContactDevice.tracking_id == device)).scalar()
        assert s.get(Contact, owner).email == "ivy@example.com"


def test_submitted_form_segment_filter(site, session):
    form_id = make_form(session)
    other = make_form(session, name="Other", alias="other")
    post(site, form_id, email="jo@example.com", interest="Cars")
    post(site, other, email="kim@example.com", interest="Cars")
    with session() as s:
        seg = segments.save_segment(session=s, values={"name": "Submitted newsletter", "filters": [
            {"glue": "and", "field": "form_submit", "operator": "in", "value": [str(form_id)]}]})
        s.commit()
        segments.rebuild(session=s, segment_id=seg.id)
        s.commit()
        members = s.execute(sa.select(Contact.email).join(SegmentContact, SegmentContact.contact_id == Contact.id)
                            .where(SegmentContact.segment_id == seg.id)).scalars().all()
        assert members == ["jo@example.com"]
        none_of = segments.preview(session=s, filters=[{"glue": "and", "field": "form_submit", "operator": "!in", "value": [str(form_id)]}])
    assert none_of["total"] == 1


def test_with_redis_the_answer_comes_first_and_the_writer_stores_every_accepted_post(site, session):
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    fields = FIELDS[:4] + [{"label": "Employees", "alias": "staff", "type": "text", "mapped_object": "contact",
                            "mapped_field": "attribution"}]
    form_id = make_form(session, fields=fields)
    data = {"mauticform[formId]": str(form_id), "mauticform[email]": "lee@example.com", "mauticform[interest]": "Cars",
            "mauticform[staff]": "many"}
    reply = site.post("/form/submit?ajax=1", data=data)
    assert reply.json()["success"] == 1 and redis_queue.sync_client().llen(form_posts.QUEUE) == 1
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(FormSubmission)).scalar() == 0
    taken, more = form_posts.drain_submissions(linger=0)
    assert (taken, more) == (1, False)
    with session() as s:
        sub = s.execute(sa.select(FormSubmission)).scalar_one()
        # "many" cannot be an attribution (a number): kept in the results, left off the contact, never lost.
        assert sub.values["staff"] == "many" and s.get(Contact, sub.contact_id).email == "lee@example.com"


def test_a_shown_required_field_left_empty_is_refused_even_with_progressive_profiling(site, session):
    form_id = make_form(session, progressive_profiling_limit=2)
    r = post(site, form_id, email="", firstname="Al", interest="Cars")
    assert r.json()["validationErrors"] == {"email": "E-mail is required."}


def test_the_queued_writer_stores_a_mixed_batch_as_one_by_one_posts_would(site, session):
    """New, repeated, known and merging visitors in one batch: the set-based writer keeps every rule."""
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    with session() as s:
        known, _ = contacts.create(session=s, values={"email": "known@example.com", "firstname": "Old"})
        other, _ = contacts.create(session=s, values={"email": "other@example.com"})
        s.commit()
    device = _tracked_visitor(site)
    site.cookies.clear()  # the other posts come from browsers nobody tracked
    with session() as s:
        visitor = forms.contact_of_device(session=s, device_id=device)
    form_id = make_form(session, actions=[{"type": "lead.pointschange", "properties": {"points": 5}},
                                          {"type": "lead.changetags", "properties": {"add_tags": "batch"}}])

    def queue(email, **extra):
        data = {"mauticform[formId]": str(form_id), "mauticform[email]": email, "mauticform[interest]": "Cars",
                **{f"mauticform[{k}]": v for k, v in extra.items() if k != "device"}}
        if extra.get("device"):
            data["mautic_device_id"] = extra["device"]
        assert site.post("/form/submit?ajax=1", data=data).json()["success"] == 1

    queue("dup@example.com", firstname="Dee", company="Acme")
    queue("DUP@example.com", firstname="Dot")
    queue("known@example.com", firstname="New")
    queue("other@example.com", device=device)  # the visitor merges into "other": handled alone, in order
    queue("dup@example.com")
    queue("fresh@example.com", company="acme")
    assert form_posts.drain_submissions(linger=0) == (6, False)
    with session() as s:
        people = {c.email.lower(): c for c in s.execute(sa.select(Contact).where(Contact.email.is_not(None))).scalars()}
        assert set(people) == {"dup@example.com", "known@example.com", "other@example.com", "fresh@example.com"}
        dup = people["dup@example.com"]
        assert dup.firstname == "Dot" and dup.points == 15 and dup.company == "Acme"  # three posts, +5 each
        assert people["known@example.com"].firstname == "New" and people["known@example.com"].id == known
        assert s.get(Contact, visitor) is None and forms.contact_of_device(session=s, device_id=device) == other
        assert people["fresh@example.com"].company == "Acme"  # linked to the existing company, its own spelling
        per_contact = dict(s.execute(sa.select(FormSubmission.contact_id, sa.func.count()).group_by(FormSubmission.contact_id)).all())
        assert per_contact == {dup.id: 3, known: 1, other: 1, people["fresh@example.com"].id: 1}
        tagged = s.execute(sa.select(sa.func.count()).select_from(ContactTag).join(Tag).where(Tag.tag == "batch")).scalar()
        assert tagged == 4
        kinds = Counter(s.execute(sa.select(ContactEvent.event_type).where(ContactEvent.contact_id == dup.id)).scalars())
        assert kinds["form_submitted"] == 3 and kinds["created"] == 1 and kinds["points"] == 3 and kinds["company"] == 1


def test_the_queued_writer_links_known_contacts_to_the_companies_they_type(site, session):
    """A known contact's first company becomes primary; a later one is linked beside it, as one by one."""
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    with session() as s:
        employed, _ = contacts.create(session=s, values={"email": "employed@example.com", "company": "Old Co"})
        loner, _ = contacts.create(session=s, values={"email": "loner@example.com"})
        s.commit()
    form_id = make_form(session)
    for email, company in (("employed@example.com", "New Co"), ("loner@example.com", "old co"), ("loner@example.com", "Old Co")):
        assert site.post("/form/submit?ajax=1", data={"mauticform[formId]": str(form_id), "mauticform[email]": email,
                                                      "mauticform[interest]": "Cars", "mauticform[company]": company}
                         ).json()["success"] == 1
    assert form_posts.drain_submissions(linger=0) == (3, False)
    with session() as s:
        links = {(c, name): primary for c, name, primary in s.execute(
            sa.select(CompanyContact.contact_id, Company.companyname, CompanyContact.is_primary).join(Company))}
        assert links == {(employed, "Old Co"): True, (employed, "New Co"): False, (loner, "Old Co"): True}
        assert s.get(Contact, employed).company == "New Co"  # what they typed; the primary link stays
        assert s.get(Contact, loner).company == "Old Co"  # the company's own spelling
        assert s.execute(sa.select(sa.func.count()).select_from(Company)).scalar() == 2


def test_one_browser_posting_two_identities_in_one_batch_starts_a_second_contact(site, session):
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    device = _tracked_visitor(site)
    form_id = make_form(session)
    for email in ("ann@example.com", "bob@example.com"):
        site.post("/form/submit?ajax=1", data={"mauticform[formId]": str(form_id), "mauticform[email]": email,
                                               "mauticform[interest]": "Cars", "mautic_device_id": device})
    assert form_posts.drain_submissions(linger=0) == (2, False)
    with session() as s:
        emails = sorted(s.execute(sa.select(Contact.email).where(Contact.email.is_not(None))).scalars())
        assert emails == ["ann@example.com", "bob@example.com"]  # bob contradicts ann: a new contact, the device follows
        assert s.get(Contact, forms.contact_of_device(session=s, device_id=device)).email == "bob@example.com"


def test_the_queued_writer_creates_many_new_contacts_in_one_batch(site, session):
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    form_id = make_form(session)
    for i in range(25):
        site.post("/form/submit?ajax=1", data={"mauticform[formId]": str(form_id), "mauticform[email]": f"n{i}@example.com",
                                               "mauticform[firstname]": f"N{i}", "mauticform[interest]": "Cars"})
    assert form_posts.drain_submissions(linger=0) == (25, False)
    with session() as s:
        pairs = s.execute(sa.select(Contact.email, Contact.firstname, FormSubmission.values)
                          .join(FormSubmission, FormSubmission.contact_id == Contact.id)).all()
    assert len(pairs) == 25 and all(e == v["email"] and f == v["firstname"] for e, f, v in pairs)


def test_after_a_merge_in_a_batch_the_same_browser_posts_as_the_merged_contact(site, session):
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    with session() as s:
        other, _ = contacts.create(session=s, values={"email": "mo@example.com"})
        s.commit()
    device = _tracked_visitor(site)
    form_id = make_form(session, fields=[dict(FIELDS[0], is_required=False), *FIELDS[1:]])
    for extra in ({"mauticform[email]": "mo@example.com"}, {"mauticform[firstname]": "Mo"}):
        site.post("/form/submit?ajax=1", data={"mauticform[formId]": str(form_id), "mauticform[interest]": "Cars",
                                               "mautic_device_id": device, **extra})
    assert form_posts.drain_submissions(linger=0) == (2, False)
    with session() as s:
        assert s.get(Contact, other).firstname == "Mo"
        assert s.execute(sa.select(sa.func.count()).select_from(FormSubmission).where(FormSubmission.contact_id == other)).scalar() == 2


def test_a_submission_that_breaks_its_batch_does_not_hold_up_the_others(site, session, monkeypatch):
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    from mautic_app.services import form_batches

    write_run = form_batches._write_run

    def fragile(s, run, reposts):
        if any(i.contact.get("email") == "bad@example.com" for i in run.items):
            raise RuntimeError("broken submission")
        return write_run(s, run, reposts)

    monkeypatch.setattr(form_batches, "_write_run", fragile)
    form_id = make_form(session)
    site.cookies.clear()
    for email in ("a1@example.com", "bad@example.com", "a2@example.com"):
        site.post("/form/submit?ajax=1", data={"mauticform[formId]": str(form_id), "mauticform[email]": email,
                                               "mauticform[interest]": "Cars"})
    assert form_posts.drain_submissions(linger=0) == (3, False)
    with session() as s:
        stored = sorted(v["email"] for v in s.execute(sa.select(FormSubmission.values)).scalars())
    assert stored == ["a1@example.com", "a2@example.com"]


def test_saving_a_form_keeps_the_ids_of_the_fields_and_actions_it_keeps(session):
    form_id = make_form(session, actions=[{"type": "lead.pointschange", "properties": {"points": 1}}])
    with session() as s:
        before = {f.alias: f.id for f in forms.fields_of(session=s, form_id=form_id)}
        action_id = forms.actions_of(session=s, form_id=form_id)[0].id
        fields = [{"id": before["firstname"], "label": "E-mail", "alias": "email", "type": "email"},  # the two swap aliases
                  {"id": before["email"], "label": "First name", "alias": "firstname", "type": "text"},
                  {"label": "Phone", "alias": "phone", "type": "tel"}]
        forms.save_form(session=s, form_id=form_id, values={"name": "Newsletter"}, fields=fields,
                        actions=[{"id": action_id, "type": "lead.pointschange", "properties": {"points": 2}}])
        s.commit()
        after = {f.alias: f.id for f in forms.fields_of(session=s, form_id=form_id)}
        actions = forms.actions_of(session=s, form_id=form_id)
    assert after["email"] == before["firstname"] and after["firstname"] == before["email"]
    assert set(after) == {"email", "firstname", "phone"} and after["phone"] not in (before["email"], before["firstname"])
    assert [(a.id, a.properties) for a in actions] == [(action_id, {"points": 2})]


def test_send_to_a_user_and_email_the_results_reach_an_smtp_server(site, session, monkeypatch):
    """The two actions that mail people other than the contact: queued after the submission, sent by their tasks
    to a real SMTP server, the submitted values escaped."""
    from mautic_app import db
    from mautic_app.models import Email, User
    from mautic_app.tasks import emails as email_tasks
    from mautic_app.tasks import forms as form_tasks
    from tests.integration.smtp_sink import smtp_sink

    queued = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: queued.append((task, *args)) if task.startswith(("mautic.emails.", "mautic.forms.e")) else None)
    with session() as s:
        note = Email(name="New lead", subject="New lead: {contactfield=firstname}", custom_html="<p>{contactfield=email} signed up</p>",
                     from_address="app@example.org")
        sales = User(username="sales", email="sales@example.org", first_name="Sal", password_hash="x")
        gone = User(username="gone", email="gone@example.org", password_hash="x", is_active=False)
        s.add_all([note, sales, gone])
        s.flush()
        email_id, user_ids = note.id, [sales.id, gone.id]
    form_id = make_form(session, actions=[
        {"type": "email.send.user", "properties": {"email": email_id, "user_id": user_ids}},
        {"type": "form.email", "properties": {"to": "boss@example.org, team@example.org", "subject": "Someone signed up"}}])
    assert post(site, form_id, email="nia@example.com", firstname="<b>Nia</b>").json()["success"] == 1
    assert sorted(q[0] for q in queued) == ["mautic.emails.send_copy", "mautic.forms.email_results"]  # the inactive user gets nothing
    with smtp_sink() as sink:
        monkeypatch.setenv("MAUTIC_MAILER_DSN", sink.dsn)
        for task, *args in queued:
            (email_tasks.send_copy if task == "mautic.emails.send_copy" else form_tasks.email_results).run(*args)
    by_to = {str(m["To"]): m for m in sink.messages}
    assert set(by_to) == {"sales@example.org", "boss@example.org", "team@example.org"}
    assert by_to["sales@example.org"]["Subject"] == "New lead: <b>Nia</b>"
    results = next(p for p in by_to["boss@example.org"].walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert by_to["boss@example.org"]["Subject"] == "Someone signed up" and "&lt;b&gt;Nia&lt;/b&gt;" in results and "<b>Nia" not in results
    with session() as s:
        with pytest.raises(FormError) as err:
            forms.save_form(session=s, form_id=None, values={"name": "Broken"}, fields=FIELDS, actions=[
                {"type": "email.send.user", "properties": {"email": email_id}},
                {"type": "form.email", "properties": {"to": "not an address"}}])
        assert set(err.value.errors) == {"actions.0.user_id", "actions.1.to"}


def test_send_email_to_the_contact_action_queues_the_template_email(site, session, monkeypatch):
    from mautic_app import db
    from mautic_app.models import Email, EmailStat

    queued = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: queued.append((task, *args)) if task.startswith("mautic.emails.") else None)
    with session() as s:
        welcome = Email(name="Welcome", subject="Welcome {contactfield=firstname}", custom_html="<p>Hi</p>")
        s.add(welcome)
        s.flush()
        email_id = welcome.id
    form_id = make_form(session, actions=[{"type": "email.send.lead", "properties": {"email": email_id}}])
    assert post(site, form_id, email="new@example.com", firstname="Nia").json()["success"] == 1
    with session() as s:
        stat = s.execute(sa.select(EmailStat)).scalar_one()
        contact = s.execute(sa.select(Contact).where(Contact.email == "new@example.com")).scalar_one()
        assert (stat.email_id, stat.contact_id, stat.source, stat.source_id, stat.status) == (email_id, contact.id, "form", form_id, "queued")
    assert queued == [("mautic.emails.deliver", stat.id)]
    with session() as s:
        with pytest.raises(FormError, match="E-mail"):
            forms.save_form(session=s, form_id=None, values={"name": "Broken"}, fields=FIELDS,
                            actions=[{"type": "email.send.lead", "properties": {"email": ""}}])
