"""Bounce reports as real mail servers write them (flufl.bounce's samples) and RFC 5965's abuse report."""

from __future__ import annotations

from pathlib import Path

import pytest

from mautic_app.domain import bounces

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"


@pytest.mark.parametrize(("name", "expected"), [
    ("dsn_01.txt", {("hard", "userx@example.com")}),  # the address we sent to (Original-Recipient), not the rewritten one
    ("dsn_05.txt", {("soft", "userx@example.cz")}),  # delayed: a soft bounce
    ("dsn_11.txt", {("hard", "joem@example.com")}),
    ("dsn_14.txt", {("hard", "userx@example.com.dk")}),
    ("postfix_01.txt", {("hard", "xxxxx@local.ie")}),  # not a DSN: flufl.bounce finds the address
    ("exim_01.txt", {("hard", "userx@its.example.nl")}),
    ("microsoft_01.txt", {("hard", "userx@example.com")}),
    ("qmail_01.txt", {("hard", "userx@example.de")}),
    ("arf_01.txt", {("complaint", "user@example.com")}),
])
def test_real_reports(name, expected):
    found = bounces.parse_report((FIXTURES / name).read_bytes())
    assert {(b.kind, b.email_address) for b in found} == expected


def test_a_dsn_carries_the_status_diagnostic_and_the_original_message_ids():
    found = bounces.parse_report((FIXTURES / "dsn_14.txt").read_bytes())
    assert found[0].reason.startswith("5.0.0") and "User unknown" in found[0].reason
    raw = bounces.build_dsn(recipient="ann@example.com", status="5.1.1", diagnostic="550 5.1.1 no such user")
    raw = raw.replace(b"Subject: (original)", b"Message-ID: <1.abc@shop.example>\nX-Mautic-Stat: HASH123\nSubject: (original)")
    (bounce,) = bounces.parse_report(raw)
    assert (bounce.kind, bounce.email_address, bounce.message_id, bounce.stat_hash) == ("hard", "ann@example.com", "<1.abc@shop.example>", "HASH123")
    assert bounce.reason == "5.1.1 smtp; 550 5.1.1 no such user"


def test_what_is_no_failure_is_nothing():
    assert bounces.parse_report(bounces.build_dsn(recipient="a@example.com", status="2.0.0", diagnostic="ok", action="delivered")) == []
    assert bounces.parse_report(b"From: a@b.c\nSubject: Out of office\n\nI am away until Monday.\n") == []
