"""E-mails as marketers keep them (saving, checks, clone, delete, statistics) and the transports: the SMTP pool
against a real server, Mailgun's API, the outbox, and the settings with the environment's DSN on top."""

from __future__ import annotations

import email as email_lib

import httpx
import pytest
from sqlmodel import select

from mautic_app.domain.email_message import build_message
from mautic_app.models import Email, EmailSegment
from mautic_app.services import emails, mailer, segments
from tests.integration.smtp_sink import smtp_sink


def _segment(s, name="Readers"):
    return segments.save_segment(session=s, values={"name": name}).id


def test_save_compiles_mjml_and_keeps_segments(session):
    with session() as s:
        a, b = _segment(s, "A"), _segment(s, "B")
        e = emails.save_email(session=s, values={"name": "News", "subject": "Hi", "email_type": "list",
                                                 "content_mjml": "<mjml><mj-body><mj-section><mj-column><mj-text>Hi {contactfield=firstname}"
                                                                 "</mj-text></mj-column></mj-section></mj-body></mjml>",
                                                 "utm_tags": {"utmSource": "mautic", "bogus": "x"}, "headers": {"X-Tag": "autumn"}},
                              segment_ids=[a], excluded_ids=[b])
        assert "Hi {contactfield=firstname}" in e.custom_html and "<table" in e.custom_html
        assert e.utm_tags == {"utmSource": "mautic"} and e.headers == {"X-Tag": "autumn"}
        assert emails.segments_of(session=s, email_id=e.id) == ([a], [b])


@pytest.mark.parametrize(("values", "field"), [
    ({"name": ""}, "name"),
    ({"subject": "Hi\r\nBcc: x@y.z"}, "subject"),
    ({"from_name": "A\nB"}, "from_name"),
    ({"from_address": "not an address"}, "from_address"),
    ({"reply_to": "a@b.c\nBcc: v@x.y"}, "reply_to"),
    ({"headers": {"X-A": "1\r\nBcc: v@x.y"}}, "headers"),
    ({"headers": {"Subject": "other"}}, "headers"),
    ({"content_mjml": "<mjml><mj-body><mj-sec"}, "content"),
    ({"email_type": "list"}, "segments"),
    ({"email_type": "bulk"}, "email_type"),
])
def test_save_refuses_bad_input_with_a_field_error(session, values, field):
    with session() as s:
        with pytest.raises(emails.EmailError) as caught:
            emails.save_email(session=s, values={"name": "N", "subject": "S", "custom_html": "<p>x</p>"} | values)
        assert field in caught.value.errors
        assert s.exec(select(Email)).all() == []


def test_clone_list_search_and_delete(session):
    with session() as s:
        seg = _segment(s)
        e = emails.save_email(session=s, values={"name": "Autumn", "subject": "Offers", "email_type": "list", "custom_html": "<p>x</p>",
                                                 "category": "seasonal"}, segment_ids=[seg])
        e.sent_count, e.read_count = 10, 4
        copy = emails.clone_email(session=s, email_id=e.id)
        assert (copy.name, copy.sent_count, copy.is_published) == ("Copy of Autumn", 0, False)
        assert emails.segments_of(session=s, email_id=copy.id) == ([seg], [])
        total, rows = emails.list_emails(session=s, search="seasonal")
        assert total == 2 and {r["name"] for r in rows} == {"Autumn", "Copy of Autumn"}
        assert next(r for r in rows if r["name"] == "Autumn")["read_rate"] == "40.0%"
        emails.delete_email(session=s, email_id=e.id)
    with session() as s:
        assert [r["name"] for r in emails.list_emails(session=s)[1]] == ["Copy of Autumn"]
        assert s.exec(select(EmailSegment).where(EmailSegment.email_id == e.id)).all() == []
        with pytest.raises(emails.EmailError):
            emails.get_email(session=s, email_id=e.id)


def _msg(to: str):
    return build_message(from_address="news@shop.example", from_name="Shop", to_address=to, to_name="", subject="Hi",
                         html="<p>Hi</p>", text="Hi", message_id=f"<{to}@shop.example>")


def test_smtp_pool_reuses_connections_and_tells_refusals_apart(monkeypatch):
    with smtp_sink() as sink:
        sink.refuse.add("bad@example.com")
        sink.refuse_once.add("later@example.com")
        cfg = mailer.TransportConfig(kind="smtp", host=sink.host, port=sink.port, security="auto", pool_size=2)
        with mailer.open_transport(cfg) as transport:
            first = transport.send_many([(_msg(f"p{i}@example.com"), i) for i in range(10)])
            second = transport.send_many([(_msg("bad@example.com"), 1), (_msg("later@example.com"), 2), (_msg("ok@example.com"), 3)])
        assert [r.outcome for r in first] == ["sent"] * 10 and first[0].answer.startswith("250")
        assert [r.outcome for r in second] == ["permanent", "temporary", "sent"]
        assert second[0].answer.startswith("550") and second[1].answer.startswith("451")
        assert sink.connections <= 2  # two pooled connections carried all thirteen
        assert sorted(sink.to()) == sorted([f"p{i}@example.com" for i in range(10)] + ["ok@example.com"])


def test_unreachable_smtp_server_is_a_temporary_failure():
    cfg = mailer.TransportConfig(kind="smtp", host="127.0.0.1", port=1, pool_size=1)
    with mailer.open_transport(cfg) as transport:
        (result,) = transport.send_many([(_msg("a@example.com"), 1)])
    assert result.outcome == "temporary"


def test_mailgun_api_gets_the_raw_message(monkeypatch):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if b"bad@example.com" in request.content:
            return httpx.Response(400, json={"message": "'to' parameter is not a valid address"})
        return httpx.Response(200, json={"id": "<x@mg>", "message": "Queued. Thank you."})

    cfg = mailer.TransportConfig(kind="mailgun", api_key="key-1", domain="mg.shop.example", region="eu", pool_size=1)
    client = httpx.Client(transport=httpx.MockTransport(handler), auth=("api", cfg.api_key))
    transport = mailer.MailgunTransport(cfg, client=client)
    try:
        results = transport.send_many([(_msg("a@example.com"), 1), (_msg("bad@example.com"), 2)])
    finally:
        transport.close()
    assert [r.outcome for r in results] == ["sent", "permanent"] and "Queued" in results[0].answer
    assert str(seen[0].url) == "https://api.eu.mailgun.net/v3/mg.shop.example/messages.mime"
    assert seen[0].headers["authorization"].startswith("Basic ") and b"Subject: Hi" in seen[0].content


def test_outbox_keeps_messages_and_reads_them_back(session):
    with mailer.open_transport(mailer.TransportConfig()) as transport:
        (result,) = transport.send_many([(_msg("a@example.com"), None)])
    assert result.outcome == "sent" and "outbox" in result.answer
    with session() as s:
        total, rows = mailer.outbox_page(session=s)
        shown = mailer.outbox_message(session=s, message_id=rows[0].id)
    assert total == 1 and shown["to"] == "a@example.com" and shown["html"] == "<p>Hi</p>"
    assert email_lib.message_from_string(rows[0].message)["Subject"] == "Hi"


def test_settings_never_give_back_secrets_and_the_environment_wins(session, monkeypatch):
    monkeypatch.delenv("MAUTIC_MAILER_DSN", raising=False)
    with session() as s:
        assert mailer.config(session=s).kind == "outbox"
        assert mailer.save_settings(session=s, values={"kind": "smtp", "host": ""}) == {"host": "The SMTP server's host is required."}
        assert "port" in mailer.save_settings(session=s, values={"kind": "smtp", "host": "h", "port": "99999"})
        assert mailer.save_settings(session=s, values={"kind": "smtp", "host": "mail.example", "port": "587", "username": "u",
                                                       "password": "secret", "frequency_number": "2", "frequency_time": "WEEK"}) == {}
    with session() as s:
        shown = mailer.settings_values(session=s)
        assert shown["password_set"] and "secret" not in str(shown)
        assert mailer.save_settings(session=s, values={"kind": "smtp", "host": "mail.example", "password": ""}) == {}
    with session() as s:
        cfg = mailer.config(session=s)
        assert (cfg.kind, cfg.host, cfg.password, cfg.source) == ("smtp", "mail.example", "secret", "settings")
        monkeypatch.setenv("MAUTIC_MAILER_DSN", "smtp://x:y@relay.example:2525")
        cfg = mailer.config(session=s)
        assert (cfg.host, cfg.port, cfg.username, cfg.source) == ("relay.example", 2525, "x", "environment")
