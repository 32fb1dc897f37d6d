"""Requests the server sends to other sites (a form's re-post now, webhooks later): public addresses only.

Whoever can save a URL (a marketer, an API client, the owner of a DNS name) could otherwise make
the server reach what only it can reach: its own ports, the database, the cloud metadata service.
So every outgoing request goes through :func:`send`, which:

- takes http(s) URLs only;
- resolves the host once and refuses it if any of its addresses is not public (loopback, private,
  link-local, multicast, reserved, unspecified, or one of those inside an IPv6 address), then
  connects to the address it checked, the name going in ``Host`` and TLS SNI: a second DNS answer
  cannot send it elsewhere;
- follows redirects itself, each hop checked the same way, at most :data:`MAX_REDIRECTS`;
- always has a connect timeout and a total deadline, so a server trickling bytes cannot hold a worker.

``MAUTIC_OUTGOING_ALLOW_PRIVATE`` lists ranges (``10.0.0.0/8``) and host names an administrator
allows anyway. The cloud metadata address is never allowed.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from mautic_app.settings import get_settings

MAX_REDIRECTS = 3
CONNECT_SECONDS = 5.0
TOTAL_SECONDS = 15.0
MAX_BODY = 64 * 1024  # of an answer: callers want its status and a glimpse, never a download
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """The URL is not one the server sends to; the message says why, for the marketer."""


@dataclass(frozen=True)
class Allowance:
    """Private ranges and host names an administrator lets the server reach."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=8)
def allowance(entries: tuple[str, ...]) -> Allowance:
    """``MAUTIC_OUTGOING_ALLOW_PRIVATE``'s entries: an address or CIDR range, else a host name."""
    networks, hosts = [], set()
    for entry in (e.strip().lower() for e in entries):
        try:
            networks.append(ipaddress.ip_network(entry.replace("[", "").replace("]", ""), strict=False))
        except ValueError:
            if entry:
                hosts.add(entry.rstrip("."))
    return Allowance(tuple(networks), frozenset(hosts))


def address_refusal(address: str | IPAddress, *, host: str = "", allowed: Allowance = Allowance()) -> str | None:
    """Why the server must not connect to ``address`` (reached as ``host``), or None when it may."""
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])  # an IPv6 zone says which link, not which host
    except ValueError:
        return "not an IP address"
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:a.b.c.d is a.b.c.d
    # A 6to4 address reaches the IPv4 address inside it; other IPv6 forms that carry one are in refused ranges.
    both: list[IPAddress] = [ip, ip.sixtofour] if ip.version == 6 and ip.sixtofour else [ip]
    if METADATA.intersection(both):
        return "the cloud metadata address"
    if host.lower().rstrip(".") in allowed.hosts or any(a in n for a in both for n in allowed.networks if a.version == n.version):
        return None
    return next((reason for a in reversed(both) if (reason := _not_public(a))), None)


def _not_public(ip: IPAddress) -> str | None:
    for test, reason in (("is_unspecified", "the unspecified address"), ("is_loopback", "a loopback address"),
                         ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
                         ("is_reserved", "a reserved address"), ("is_private", "a private address")):
        if getattr(ip, test):
            return reason
    return None if ip.is_global else "not a public address"


def url_refusal(url: str) -> str | None:
    """Why a URL being saved will not be sent to, or None (a host that cannot be found now may be
    later: it is checked again at every send)."""
    try:
        _, host, port = _parse(url)
        _check(host, _resolve(host, port))
    except Refused as exc:
        return str(exc)
    except OSError:  # not found
        pass
    return None


@dataclass(frozen=True)
class Reply:
    status: int
    url: str  # the last hop's
    body: bytes  # its first MAX_BODY bytes

    @property
    def ok(self) -> bool:
        return self.status < 400


def send(method: str, url: str, *, content: bytes = b"", headers: Mapping[str, str] | None = None,
         connect_seconds: float = CONNECT_SECONDS, total_seconds: float = TOTAL_SECONDS) -> Reply:
    """Send a request to a public address (see the module's rules), for workers.

    Raises :class:`Refused` for an address it will not reach, ``TimeoutError`` past the deadline,
    and ``httpx.HTTPError`` for network failures.
    """
    return asyncio.run(_send(method.upper(), url, content, dict(headers or {}), connect_seconds, total_seconds))


async def _send(method: str, url: str, content: bytes, headers: dict[str, str], connect_seconds: float,
                total_seconds: float) -> Reply:
    timeout = httpx.Timeout(total_seconds, connect=connect_seconds)
    redirects = 0
    async with asyncio.timeout(total_seconds):
        while True:
            parsed, host, port = _parse(url)
            address = _check(host, await asyncio.to_thread(_resolve, host, port))
            request_headers = headers | {"Host": parsed.netloc.decode("ascii")}
            # A client per hop: its connection (and TLS session) is for this host's checked address only.
            async with httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=timeout) as client:
                request = client.build_request(
                    method, parsed.copy_with(host=address), content=content or None, headers=request_headers,
                    extensions={"sni_hostname": host} if parsed.scheme == "https" and not _is_ip(host) else {})
                response = await client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code not in _REDIRECTS or not location:
                        body = b""
                        async for chunk in response.aiter_bytes():
                            body += chunk
                            if len(body) >= MAX_BODY:
                                break
                        return Reply(response.status_code, url, body[:MAX_BODY])
                finally:
                    await response.aclose()
            redirects += 1
            if redirects > MAX_REDIRECTS:
                raise Refused(f"More than {MAX_REDIRECTS} redirects.")
            url = urljoin(url, location)
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, content = "GET", b""  # as browsers do
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}


def _parse(url: str) -> tuple[httpx.URL, str, int]:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise Refused("Not a valid web address.") from exc
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise Refused("Only http:// and https:// addresses can be used.")
    return parsed, parsed.raw_host.decode("ascii").lower(), parsed.port or (443 if parsed.scheme == "https" else 80)


def _resolve(host: str, port: int) -> list[str]:
    """Every address of ``host``, in the system's order of preference (raises OSError when there is none)."""
    return list(dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


def _check(host: str, addresses: Iterable[str]) -> str:
    """The address to connect to, once every address of the host has been found public."""
    found = list(addresses)
    if not found:
        raise Refused(f"{host} cannot be found.")
    allowed = allowance(get_settings().outgoing_allow_private)
    for address in found:
        if reason := address_refusal(address, host=host, allowed=allowed):
            shown = host if host == address else f"{host} ({address})"
            raise Refused(f"{shown} is {reason}: the server does not send to it"
                          + ("." if reason == "the cloud metadata address"
                             else " unless an administrator allows it (MAUTIC_OUTGOING_ALLOW_PRIVATE)."))
    return found[0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
