"""Cross-site reads against the real server (Reflex's own layers included, which the integration tests'
client leaves out): another site's page may send requests with the visitor's cookies or a password the
browser remembers, but it never gets leave to read the replies, and gets no ids in them."""

from __future__ import annotations

import requests

from tests.e2e.conftest import ADMIN_PASSWORD

EVIL = "https://evil.example"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _granted(reply: requests.Response) -> bool:
    """Whether a browser would let the page at EVIL read this reply with credentials."""
    return (reply.headers.get("access-control-allow-origin") in (EVIL, "*")
            and reply.headers.get("access-control-allow-credentials") == "true")


def test_another_site_cannot_read_what_the_visitors_credentials_unlock(base_url):
    visitor = requests.Session()
    own = visitor.post(base_url + "/mtc/event", data={"page_url": base_url + "/welcome"},
                       headers={"Origin": base_url, "User-Agent": AGENT}, timeout=10)
    assert own.status_code == 200 and visitor.cookies.get("mautic_device_id")  # the control: our own page is answered

    reply = visitor.get(base_url + "/mtc", headers={"Origin": EVIL, "User-Agent": AGENT}, timeout=10)
    assert reply.json() == {"id": None, "sid": None, "device_id": None}
    assert not _granted(reply) and "access-control-allow-origin" not in reply.headers
    assert visitor.get(base_url + "/mtc", headers={"Origin": base_url}, timeout=10).json()["id"] == own.json()["id"]

    # A password the browser remembers for the API (it asked with WWW-Authenticate) is sent along too.
    api = requests.get(base_url + "/api/contacts", auth=("admin", ADMIN_PASSWORD), headers={"Origin": EVIL}, timeout=10)
    assert api.status_code == 200 and not _granted(api) and "access-control-allow-origin" not in api.headers


def test_another_site_gets_no_leave_for_the_apps_own_routes(base_url):
    for method, path in (("OPTIONS", "/_upload"), ("OPTIONS", "/api/contacts"), ("GET", "/ping")):
        reply = requests.request(method, base_url + path, timeout=10, headers={
            "Origin": EVIL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "reflex-client-token"})
        assert not _granted(reply) and "access-control-allow-origin" not in reply.headers, path
