"""Signing in and out over HTTP, as a browser and as an attacker send it: the session cookie's flags,
no open redirect, no cross-site posts, rate limits, and sessions that end when they should."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from mautic_app import throttle
from mautic_app.models import User, UserSession
from mautic_app.services import users
from mautic_app.settings import get_settings
from tests.integration.conftest import ADMIN_PASSWORD, ADMIN_USER

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture(autouse=True)
def own_limits(monkeypatch, database):
    """Sign-in counts of this test's own (memory, or Redis keyed by this test's database)."""
    monkeypatch.setattr(throttle, "_memory", throttle._MemoryStore())


def post_login(client, username=ADMIN_USER, password=ADMIN_PASSWORD, next_path=None, headers=ORIGIN, **extra):
    form = {"username": username, "password": password} | ({"next": next_path} if next_path is not None else {})
    return client.post("/auth/login", data=form | extra, headers=headers, follow_redirects=False)


def error_of(reply) -> dict[str, list[str]]:
    assert reply.status_code == 303
    location = urlsplit(reply.headers["location"])
    assert location.path == "/login" and not location.netloc
    return parse_qs(location.query)


def session_cookie(reply) -> str:
    return next(h for h in reply.headers.get_list("set-cookie") if h.startswith(f"{users.SESSION_COOKIE}="))


def test_a_good_sign_in_sets_an_http_only_strict_cookie_and_goes_on(client, session):
    reply = post_login(client, next_path="/contacts?search=vip")
    assert reply.status_code == 303 and reply.headers["location"] == "/contacts?search=vip"
    cookie = session_cookie(reply).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie and "secure" not in cookie
    token = session_cookie(reply).split(";", 1)[0].split("=", 1)[1]
    with session() as s:
        assert users.user_for_token(session=s, token=token).username == ADMIN_USER


def test_the_cookie_is_secure_over_https_and_a_forged_proto_header_is_not_believed(client):
    reply = client.post("https://testserver/auth/login", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
                        headers={"Origin": "https://testserver"}, follow_redirects=False)
    assert "secure" in session_cookie(reply).lower()
    forged = post_login(client, headers=ORIGIN | {"X-Forwarded-Proto": "https"})  # not from one of our proxies
    assert "secure" not in session_cookie(forged).lower()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
                                    "javascript:alert(1)", "/contacts\r\nSet-Cookie: x=1", "evil.example"])
def test_next_never_leaves_the_site(client, target):
    reply = post_login(client, next_path=target)
    assert reply.status_code == 303 and reply.headers["location"] == "/"
    bad = post_login(client, password="wrong-password", next_path=target)
    assert error_of(bad).get("next", ["/"])[0] in ("/",)


def test_a_wrong_password_goes_back_with_a_code_not_the_text_sent(client):
    reply = post_login(client, password="<script>alert(1)</script>", next_path="/segments")
    assert error_of(reply) == {"error": ["wrong"], "next": ["/segments"]}
    assert "set-cookie" not in reply.headers
    assert error_of(post_login(client, password="")) == {"error": ["missing"]}


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"}])
def test_sign_in_and_out_from_another_site_are_refused(client, headers):
    reply = post_login(client, headers=headers)
    assert reply.status_code == 403 and "set-cookie" not in reply.headers
    signed_in = post_login(client)
    client.cookies.set(users.SESSION_COOKIE, session_cookie(signed_in).split(";", 1)[0].split("=", 1)[1])
    assert client.post("/auth/logout", headers=headers, follow_redirects=False).status_code == 403


def test_a_huge_or_broken_form_is_refused(client):
    assert client.post("/auth/login", content=b"username=" + b"a" * 20_000, headers=ORIGIN | {
        "Content-Type": "application/x-www-form-urlencoded"}, follow_redirects=False).status_code == 400
    assert client.post("/auth/login", content=b"\xff\xfe", headers=ORIGIN | {
        "Content-Type": "application/x-www-form-urlencoded"}, follow_redirects=False).status_code == 400


def test_signing_out_ends_the_session_and_clears_the_cookie(client, session):
    token = session_cookie(post_login(client)).split(";", 1)[0].split("=", 1)[1]
    client.cookies.set(users.SESSION_COOKIE, token)
    reply = client.post("/auth/logout", headers=ORIGIN, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/login"
    assert 'max-age=0' in session_cookie(reply).lower() or "expires=" in session_cookie(reply).lower()
    with session() as s:
        assert users.user_for_token(session=s, token=token) is None


def test_after_five_wrong_passwords_the_account_waits_and_its_password_is_not_checked(client, monkeypatch):
    for _ in range(5):
        assert error_of(post_login(client, password="guess-123456")) == {"error": ["wrong"]}
    assert error_of(post_login(client, password="guess-123456")) == {"error": ["wait"], "seconds": ["1"]}
    checked = []
    monkeypatch.setattr(users, "authenticate", lambda **kw: checked.append(kw) or None)
    assert error_of(post_login(client)) == {"error": ["wait"], "seconds": ["1"]}  # even the right password
    assert checked == []


def test_a_burst_of_guesses_checks_only_the_free_ones(client, monkeypatch):
    """Tries are counted before their passwords are checked: concurrent guesses cannot all slip through."""
    monkeypatch.setattr(throttle, "FIRST_WAIT_SECONDS", 60)  # the first wait outlasts the burst on a slow machine
    checked = []
    real = users.authenticate
    monkeypatch.setattr(users, "authenticate", lambda **kw: checked.append(1) or real(**kw))
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda n: post_login(client, password=f"guess-{n:06d}"), range(40)))
    codes = sorted(error_of(r)["error"][0] for r in replies)
    assert len(checked) == 6 and codes.count("wait") >= 34


def test_the_limit_is_shared_through_redis_when_it_is_configured(client, database):
    if database.backend != "postgresql":
        pytest.skip("the PostgreSQL deployment runs with Redis")
    for _ in range(6):
        post_login(client, password="guess-123456")
    another_process = throttle._RedisStore(get_settings().redis_url)
    assert another_process.wait(throttle._keys(ADMIN_USER, "")) == 1


def test_a_new_password_signs_the_user_out_everywhere_but_here(client, session):
    tokens = [session_cookie(post_login(client)).split(";", 1)[0].split("=", 1)[1] for _ in range(3)]
    with session() as s:
        admin = s.exec(select(User).where(User.username == ADMIN_USER)).one()
        users.save_user(session=s, user_id=admin.id, username=ADMIN_USER, password="a-new-password-1", is_admin=True,
                        keep_session=tokens[0])
    with session() as s:
        assert [users.user_for_token(session=s, token=t) is not None for t in tokens] == [True, False, False]
        assert len(s.exec(select(UserSession).where(UserSession.user_id == admin.id)).all()) == 1


def test_my_account_changes_only_my_name_and_my_password_once_proven(client, session):
    tokens = [session_cookie(post_login(client)).split(";", 1)[0].split("=", 1)[1] for _ in range(2)]
    with session() as s:
        admin = s.exec(select(User).where(User.username == ADMIN_USER)).one()
        users.save_own_profile(session=s, user_id=admin.id, first_name=" Ada ", last_name="Lovelace", email="ada@example.com ")
    with session() as s:
        with pytest.raises(users.UserError) as wrong:
            users.change_own_password(session=s, user_id=admin.id, current="not-it-at-all", new="a-new-password-1",
                                      keep_session=tokens[0])
        assert set(wrong.value.errors) == {"current"}
        with pytest.raises(users.UserError) as short:
            users.change_own_password(session=s, user_id=admin.id, current=ADMIN_PASSWORD, new="short", keep_session=tokens[0])
        assert set(short.value.errors) == {"password"}
    with session() as s:
        users.change_own_password(session=s, user_id=admin.id, current=ADMIN_PASSWORD, new="a-new-password-1",
                                  keep_session=tokens[0])
    with session() as s:
        me = s.get(User, admin.id)
        assert (me.display_name, me.email, me.username, me.is_admin) == ("Ada Lovelace", "ada@example.com", ADMIN_USER, True)
        assert users.authenticate(session=s, username=ADMIN_USER, password="a-new-password-1") is not None
        assert [users.user_for_token(session=s, token=t) is not None for t in tokens] == [True, False]
