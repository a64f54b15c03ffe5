"""Where a webhook may point (no SSRF), and the one POST to it.

Deployed (`WEBHOOK_TARGETS=public`), a URL must be `https` and every address its host resolves to must be
public: no private, loopback, link-local, shared, multicast, reserved or unspecified address, in IPv4 or
IPv6, including IPv4 embedded in IPv6 (mapped, 6to4, Teredo, NAT64). The check runs when a webhook is
added and again before every POST, and the POST connects to the very addresses just checked (the name is
not resolved a second time, so DNS rebinding cannot swap in another address); TLS still verifies the
certificate for the host name. Redirects are never followed. The local stack (`WEBHOOK_TARGETS=local`)
also allows `http` and loopback addresses, so a receiver on 127.0.0.1 can be tried.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ghostid.models.alerts import AttemptOutcome

Policy = Literal["public", "local"]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
MAX_URL = 2048
TIMEOUT_S = 5.0
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message says why, in words a person can act on."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # checked, in the resolver's order


def resolve(host: str, port: int) -> Sequence[str]:
    """Every address the host name resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address, policy: Policy) -> str | None:
    """Why this address may not receive webhooks under `policy`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := _embedded_ipv4(address)) is not None:
        reason = refusal(inner, policy)
        return f"{reason} (inside the IPv6 address {address})" if reason else None
    if address.is_loopback:
        return None if policy == "local" else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "not a public address"
    return None


def check(url: str, policy: Policy, resolver: Resolver | None = None) -> Target:
    """The URL's target with its resolved, checked addresses (`resolver` defaults to DNS); raises
    UnsafeTarget."""
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UnsafeTarget(
            f"the URL must be at most {MAX_URL} characters, without spaces or control characters"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeTarget(f"the URL is not valid ({error})") from None
    allowed = ("https",) if policy == "public" else ("https", "http")
    if parts.scheme not in allowed:
        raise UnsafeTarget("the URL must start with https://" if policy == "public" else "use http(s)://")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("the URL must not carry a user name or password; put a token in its path instead")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("the URL has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = (
            [ipaddress.ip_address(host)] if _is_literal(host) else _resolved(host, port, resolver or resolve)
        )
    except (OSError, UnicodeError) as error:
        raise UnsafeTarget(f"{host} does not resolve ({error})") from None
    if not addresses:
        raise UnsafeTarget(f"{host} does not resolve to any address")
    for address in addresses:
        reason = refusal(address, policy)
        if reason is not None:
            raise UnsafeTarget(
                f"{host} resolves to {address}, {reason}; webhooks go to public addresses only"
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, parts.scheme, host, port, path, tuple(str(a) for a in addresses))


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolved(host: str, port: int, resolver: Resolver) -> list[Address]:
    return [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host, port)]


# ------------------------------------------------------------------ the POST


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to an address checked beforehand; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(_PinnedHTTP):
    default_port = 443

    def __init__(self, host: str, port: int, address: str, timeout: float, tls: ssl.SSLContext) -> None:
        super().__init__(host, port, address, timeout)
        self.tls = tls

    def connect(self) -> None:
        super().connect()
        self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.host)  # verifies the name


def post(
    target: Target,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float = TIMEOUT_S,
    tls: ssl.SSLContext | None = None,
) -> AttemptOutcome:
    """One POST to the first checked address that accepts a connection, all within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    outcome = AttemptOutcome(None, "no address")
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return AttemptOutcome(None, f"timed out after {timeout_s:g} s")
        connection: _PinnedHTTP = (
            _PinnedHTTPS(target.host, target.port, address, remaining, tls or ssl.create_default_context())
            if target.scheme == "https"
            else _PinnedHTTP(target.host, target.port, address, remaining)
        )
        outcome = _exchange(connection, target.path, body, headers, remaining, timeout_s)
        if outcome.status is not None or "refused" not in (outcome.error or ""):
            return outcome  # only a refused connection is worth trying on the next address
    return outcome


def _exchange(
    connection: _PinnedHTTP, path: str, body: bytes, headers: dict[str, str], remaining: float, limit: float
) -> AttemptOutcome:
    # A receiver that trickles its answer could keep each read under the socket timeout forever:
    # the watchdog shuts the socket down at the deadline.
    fired = threading.Event()
    watchdog = threading.Timer(remaining, _shutdown, args=(connection, fired))
    watchdog.start()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(1024)
        status = response.status
    except TimeoutError:
        return AttemptOutcome(None, f"timed out after {limit:g} s")
    except ssl.SSLError as error:
        return AttemptOutcome(None, f"TLS: {error.reason or error}")
    except ConnectionRefusedError:
        return AttemptOutcome(None, "connection refused")
    except (OSError, http.client.HTTPException) as error:
        text = f"timed out after {limit:g} s" if fired.is_set() else f"{type(error).__name__}: {error}"
        return AttemptOutcome(None, text[:300])
    finally:
        watchdog.cancel()
        connection.close()
    if 300 <= status < 400:
        return AttemptOutcome(status, f"HTTP {status} (redirects are not followed)")
    return AttemptOutcome(status, None if 200 <= status < 300 else f"HTTP {status}")


def _shutdown(connection: _PinnedHTTP, fired: threading.Event) -> None:
    fired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
