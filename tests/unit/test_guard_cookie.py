"""The guard reads the session cookie from the socket's handshake as browsers and the HTTP routes do."""

from __future__ import annotations

from mautic_app.ui.guard import first_cookie, session_token


def test_a_malformed_neighbour_does_not_hide_the_session():
    assert first_cookie('pref=a b; theme="dark; mautic_session=tok-1; json={"a": 1}', "mautic_session") == "tok-1"


def test_the_first_of_two_wins_as_browsers_send_the_sites_own_first():
    assert first_cookie("mautic_session=mine; other=1; mautic_session=planted", "mautic_session") == "mine"


def test_no_cookie_or_only_a_look_alike_is_no_session():
    assert session_token({"cookie": "x_mautic_session=a; mautic_session_old=b"}) == ""
    assert session_token({}) == "" and session_token(None) == ""
