"""The pure e-mail modules: content (MJML, CSS, text, links), tokens, the message itself, the mailer DSN and the
starter templates."""

from __future__ import annotations

import email
from datetime import date, datetime
from email import policy

import pytest

from mautic_app.domain import email_content, email_message, email_templates, email_tokens, mailer_dsn

MJML = ('<mjml><mj-head><mj-style>.x { color: red; }</mj-style></mj-head><mj-body><mj-section><mj-column>'
        '<mj-text css-class="x">Hi {contactfield=firstname|friend}</mj-text>'
        '<mj-button href="{unsubscribe_url}">Unsubscribe</mj-button></mj-column></mj-section></mj-body></mjml>')


def test_mjml_compiles_without_web_fonts_and_keeps_tokens():
    html = email_content.compile_mjml(MJML)
    assert "Hi {contactfield=firstname|friend}" in html and 'href="{unsubscribe_url}"' in html
    assert "fonts.googleapis" not in html


@pytest.mark.parametrize("source", ["<mjml><mj-body><mj-section>", "<p>plain html</p>", ""])
def test_mjml_that_does_not_compile_says_why(source):
    with pytest.raises(email_content.ContentError) as caught:
        email_content.compile_mjml(source)
    assert str(caught.value)


def test_css_is_inlined_and_tokens_in_attributes_survive():
    html = email_content.finish_html('<html><head><style>p { color: red }</style></head><body><p>x '
                                     '<a href="{webview_url}">v</a> <img src="{contactfield=photo}"></p></body></html>')
    assert 'style="color: red;"' in html
    assert 'href="{webview_url}"' in html and 'src="{contactfield=photo}"' in html


def test_plain_text_keeps_links_readable():
    text = email_content.plain_text('<html><body><h1>Sale</h1><p>See <a href="https://shop.example/a">the offers</a></p></body></html>')
    assert "Sale" in text and "the offers" in text and "https://shop.example/a" in text
    assert email_content.plain_text("") == ""


def test_links_found_once_in_order_and_rewritten():
    html = ('<a href="https://a.example/x?y=1&amp;z=2">A</a> <a href=\'http://b.example\'>B</a> <a href="mailto:m@x.y">M</a>'
            '<a href="#top">T</a> <a href="{unsubscribe_url}">U</a> <a href="https://shop.example/?e={contactfield=email}">E</a>'
            '<a href="https://a.example/x?y=1&amp;z=2">again</a>')
    assert email_content.links_in(html) == ["https://a.example/x?y=1&z=2", "http://b.example"]
    out = email_content.rewrite_links(html, lambda url: "https://t.example/r/1?ct=a&b" if url.startswith("https://a.") else None)
    assert out.count('href="https://t.example/r/1?ct=a&amp;b"') == 2
    assert "href='http://b.example'" in out and 'href="mailto:m@x.y"' in out and 'href="{unsubscribe_url}"' in out


def _ctx(**kw):
    return email_tokens.TokenContext(
        contact=kw.pop("contact", {"firstname": "Ann", "email": "ann@example.com", "born": "1990-04-02", "city": ""}),
        company={"city": "Lyon", "companyname": "Acme"}, owner={"first_name": "Olga", "email": "olga@shop.example"},
        urls={"unsubscribe_url": "https://m.example/email/unsubscribe/h", "webview_url": "https://m.example/email/view/h",
              "tracking_pixel_url": "https://m.example/email/h.gif", "dnc_url": "https://m.example/email/unsubscribe/h"},
        signature="Best regards,\nOlga", subject="News & more", today=date(2026, 12, 5), **kw)


@pytest.mark.parametrize(("text", "html", "expected"), [
    ("{contactfield=firstname}", True, "Ann"),
    ("{leadfield=firstname}", False, "Ann"),
    ("{contactfield=lastname|there}", False, "there"),
    ("{contactfield=email|true}", False, "ann%40example.com"),
    ("{contactfield=born|date}", False, "April 2, 1990"),
    ("{contactfield=city}", False, "Lyon"),  # blank on the contact: its primary company's
    ("{contactfield=companyname}", False, "Acme"),
    ("{ownerfield=firstname} <{ownerfield=email}>", False, "Olga <olga@shop.example>"),
    ("{unsubscribe_url}", True, "https://m.example/email/unsubscribe/h"),
    ("{dnc_url}", False, "https://m.example/email/unsubscribe/h"),
    ("{webview_url}", False, "https://m.example/email/view/h"),
    ("{subject}", True, "News &amp; more"),
    ("{today}", False, "December 5, 2026"),
    ("{signature}", True, "Best regards,<br>Olga"),
    ("{pagelink=3}{assetlink=4}{dynamiccontent=\"Hero\"}", True, ""),
    ("{unknown_token}", True, "{unknown_token}"),
    ("{code}", False, "X-1"),
])
def test_tokens(text, html, expected):
    assert email_tokens.render(email_tokens.prepare(text), _ctx(extra={"{code}": "X-1"}), html=html) == expected


def test_contact_values_are_escaped_in_html_only():
    ctx = _ctx(contact={"firstname": '<script>alert("x")</script>'})
    prepared = email_tokens.prepare("<p>{contactfield=firstname}</p>")
    assert email_tokens.render(prepared, ctx, html=True) == "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>"
    assert email_tokens.render(prepared, ctx, html=False) == '<p><script>alert("x")</script></p>'


def test_contact_fields_are_those_the_tokens_show():
    parts = [email_tokens.prepare(t) for t in ("Hi {contactfield=FirstName|friend}", "<p>{leadfield=city} {ownerfield=email}</p>",
                                                   "{unsubscribe_url} {contactfield=firstname}")]
    assert email_tokens.contact_fields(*parts) == {"firstname", "city"}
    assert email_tokens.contact_fields(email_tokens.prepare("no tokens")) == frozenset()


def test_link_tokens_in_html_and_text():
    ctx = _ctx()
    assert email_tokens.render(email_tokens.prepare("{unsubscribe_text}"), ctx, html=True).startswith('<a href="https://m.example/email/unsubscribe/h">')
    assert email_tokens.render(email_tokens.prepare("{unsubscribe_text}"), ctx, html=False) == "Unsubscribe: https://m.example/email/unsubscribe/h"
    assert 'src="https://m.example/email/h.gif"' in email_tokens.render(email_tokens.prepare("{tracking_pixel}"), ctx, html=True)
    assert email_tokens.render(email_tokens.prepare("{tracking_pixel}"), ctx, html=False) == ""


def test_every_picker_token_renders():
    for token, _label in email_tokens.TOKENS:
        assert email_tokens.render(email_tokens.prepare(token), _ctx(), html=True) != token


def _message(**kw):
    args = {"from_address": "news@shop.example", "from_name": "Shöp", "to_address": "ann@example.com", "to_name": "Ann Ünal",
            "subject": "Héllo Ann", "html": "<html><body><p>Hi ✓</p></body></html>", "text": "Hi ✓", "message_id": "<1.abc@shop.example>"}
    return email_message.build_message(**(args | kw))


def test_message_parses_back_with_both_parts_and_utf8():
    out = _message(reply_to="help@shop.example", headers={"X-Campaign": "autumn"}, list_unsubscribe_url="https://m.example/u/h",
                   list_unsubscribe_post=True, preheader="Read me first", bcc="archive@shop.example")
    parsed = email.message_from_bytes(out.data, policy=policy.default)
    assert parsed["Subject"] == "Héllo Ann" and parsed["From"].addresses[0].display_name == "Shöp"
    assert parsed["To"].addresses[0].display_name == "Ann Ünal" and parsed["Reply-To"] == "help@shop.example"
    assert parsed["X-Campaign"] == "autumn" and parsed["Message-ID"] == "<1.abc@shop.example>"
    assert parsed["List-Unsubscribe"] == "<https://m.example/u/h>" and parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Bcc" not in parsed and out.recipients == ("ann@example.com", "archive@shop.example")
    parts = {p.get_content_type(): p.get_content() for p in parsed.walk() if not p.is_multipart()}
    assert parts["text/plain"].strip() == "Hi ✓"
    assert "Hi ✓" in parts["text/html"] and "Read me first" in parts["text/html"]
    assert all(len(line) <= 998 for line in out.data.split(b"\r\n"))


@pytest.mark.parametrize("field", ["subject", "from_name", "to_name", "from_address", "to_address", "message_id", "reply_to"])
def test_line_breaks_in_any_header_are_refused(field):
    with pytest.raises(email_message.HeaderError, match="line break"):
        _message(**{field: "x\r\nBcc: victim@example.com" if "address" not in field and field != "reply_to" else "a@b.c\nBcc: v@x.y"})


def test_custom_headers_are_checked_and_cannot_replace_the_messages_own():
    with pytest.raises(email_message.HeaderError):
        _message(headers={"X-A": "1\nBcc: v@x.y"})
    with pytest.raises(email_message.HeaderError):
        _message(headers={"X A": "1"})
    parsed = email.message_from_bytes(_message(headers={"Subject": "other", "To": "evil@x.y"}).data, policy=policy.default)
    assert parsed["Subject"] == "Héllo Ann" and parsed.get_all("To") == ["Ann Ünal <ann@example.com>"]


def test_message_id_is_the_same_for_the_same_send():
    a = email_message.message_id(3, 7, "b12", "shop.example")
    assert a == email_message.message_id(3, 7, "b12", "shop.example") and a.endswith("@shop.example>")
    assert a != email_message.message_id(3, 8, "b12", "shop.example") != email_message.message_id(3, 7, "b13", "shop.example")


@pytest.mark.parametrize(("dsn", "expected"), [
    ("smtp://user:p%40ss@mail.example:587", {"kind": "smtp", "host": "mail.example", "port": 587, "security": "auto",
                                             "username": "user", "password": "p@ss"}),
    ("smtp://mail.example", {"kind": "smtp", "port": 25}),
    ("smtps://u:p@mail.example", {"kind": "smtp", "port": 465, "security": "tls"}),
    ("smtp://mail.example:25?encryption=none&pool_size=8", {"security": "none", "pool_size": 8}),
    ("mailgun+api://KEY:mg.shop.example@default?region=eu", {"kind": "mailgun", "api_key": "KEY", "domain": "mg.shop.example", "region": "eu"}),
    ("null://null", {"kind": "outbox"}),
])
def test_mailer_dsn(dsn, expected):
    parsed = mailer_dsn.parse(dsn)
    assert {k: getattr(parsed, k) for k in expected} == expected


@pytest.mark.parametrize("dsn", ["ftp://x", "smtp://", "smtp://h:notaport", "mailgun+api://KEYONLY@default", "smtp://h\r\n", "smtp://h?pool_size=x"])
def test_bad_mailer_dsn(dsn):
    with pytest.raises(mailer_dsn.DsnError):
        mailer_dsn.parse(dsn)


def test_starter_templates_compile():
    for choice in email_templates.choices():
        html = email_content.finish_html(email_content.compile_mjml(email_templates.source(choice["value"])))
        assert "{unsubscribe_text}" in html


def test_render_speed(capsys):
    """Not asserted (timings never are): printed with -s for the closing note."""
    prepared = email_tokens.prepare(email_content.compile_mjml(email_templates.source("newsletter")))
    ctx = _ctx()
    t0 = datetime.now()
    for _ in range(2000):
        email_tokens.render(prepared, ctx, html=True)
    print(f"render: {(datetime.now() - t0).total_seconds() / 2000 * 1e6:.1f} us per message")
