"""Where the server may send requests (a form's re-post, later webhooks): public addresses only."""

from __future__ import annotations

import pytest

from mautic_app import outgoing


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.1.1", "a link-local address"),
    ("169.254.169.254", "the cloud metadata address"),
    ("224.0.0.1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("0.0.0.0", "the unspecified address"),
    ("100.64.0.1", "not a public address"),  # carrier-grade NAT
    ("::1", "a loopback address"),
    ("::", "the unspecified address"),
    ("fe80::1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("fc00::1", "a private address"),
    ("ff02::1", "a multicast address"),
    ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped
    ("::ffff:10.0.0.1", "a private address"),
    ("::ffff:169.254.169.254", "the cloud metadata address"),
    ("2002:7f00:1::", "a loopback address"),  # 6to4 around 127.0.0.1
    ("2002:a9fe:a9fe::", "the cloud metadata address"),
    ("fd00:ec2::254", "the cloud metadata address"),
    ("::127.0.0.1", "a reserved address"),  # IPv4-compatible (deprecated)
    ("not-an-address", "not an IP address"),
])
def test_addresses_only_the_server_can_reach_are_refused(address, reason):
    assert outgoing.address_refusal(address) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "2002:808:808::"])
def test_public_addresses_are_allowed(address):
    assert outgoing.address_refusal(address) is None


def test_an_administrator_allows_ranges_and_host_names_but_never_the_metadata_address():
    allowed = outgoing.allowance(("10.0.0.0/8", "192.168.5.5", "CRM.Internal.", "[fd12::]/16", "169.254.0.0/16"))
    assert outgoing.address_refusal("10.20.30.40", allowed=allowed) is None
    assert outgoing.address_refusal("::ffff:10.0.0.1", allowed=allowed) is None
    assert outgoing.address_refusal("192.168.5.5", allowed=allowed) is None
    assert outgoing.address_refusal("192.168.5.6", allowed=allowed) == "a private address"
    assert outgoing.address_refusal("fd12::5", allowed=allowed) is None
    assert outgoing.address_refusal("127.0.0.1", allowed=allowed) == "a loopback address"
    assert outgoing.address_refusal("172.20.0.9", host="crm.internal", allowed=allowed) is None
    assert outgoing.address_refusal("172.20.0.9", host="other.internal", allowed=allowed) == "a private address"
    assert outgoing.address_refusal("169.254.1.1", allowed=allowed) is None
    assert outgoing.address_refusal("169.254.169.254", allowed=allowed) == "the cloud metadata address"
    assert outgoing.address_refusal("169.254.169.254", host="crm.internal", allowed=allowed) == "the cloud metadata address"


@pytest.fixture
def dns(monkeypatch):
    """Names and the addresses they resolve to; any other name cannot be found."""
    names: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host in names:
            return names[host]
        if outgoing._is_ip(host):
            return [host]
        raise OSError(f"{host}: name not known")

    monkeypatch.setattr(outgoing, "_resolve", resolve)
    return names


def test_saved_urls_say_why_a_private_host_will_not_be_sent_to(dns, change_settings):
    dns |= {"public.example": ["93.184.215.14"], "sneaky.example": ["93.184.215.14", "10.0.0.5"],
            "inside.example": ["192.168.1.20"]}
    assert outgoing.url_refusal("https://public.example/hook") is None
    assert outgoing.url_refusal("ftp://public.example/") == "Only http:// and https:// addresses can be used."
    assert outgoing.url_refusal("file:///etc/passwd") == "Only http:// and https:// addresses can be used."
    assert outgoing.url_refusal("http://127.0.0.1:8000/admin").startswith("127.0.0.1 is a loopback address: the server does not send")
    assert "MAUTIC_OUTGOING_ALLOW_PRIVATE" in outgoing.url_refusal("http://[::1]/")
    assert outgoing.url_refusal("http://inside.example/").startswith("inside.example (192.168.1.20) is a private address")
    assert "10.0.0.5" in outgoing.url_refusal("http://sneaky.example/")  # one private answer is enough
    assert outgoing.url_refusal("http://169.254.169.254/latest/meta-data/").endswith("is the cloud metadata address: the server does not send to it.")
    assert outgoing.url_refusal("http://not-yet-live.example/") is None  # checked again when sending
    change_settings(outgoing_allow_private=("inside.example",))
    assert outgoing.url_refusal("http://inside.example/") is None


def test_send_refuses_before_connecting(dns):
    dns["rebound.example"] = ["127.0.0.1"]
    for url in ("gopher://public.example/", "http://rebound.example/", "http://[::ffff:7f00:1]/", "https://10.0.0.1/"):
        with pytest.raises(outgoing.Refused):
            outgoing.send("POST", url, content=b"x")
