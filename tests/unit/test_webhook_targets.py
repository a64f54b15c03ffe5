"""Where a webhook may point (SSRF): schemes, private / loopback / link-local / other non-public addresses in
IPv4 and IPv6 and hidden inside IPv6, DNS names resolving to them; and the POST itself: connected to the
checked address (DNS rebinding), TLS verified for the name, the 5-second budget, no redirects."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from ghostid.logic import webhook_targets
from ghostid.logic.webhook_targets import UnsafeTarget, check, post
from ghostid.models.alerts import AttemptOutcome

from tests.support.receiver import always, receiving


def resolving_to(*addresses: str) -> webhook_targets.Resolver:
    def resolve(host: str, port: int) -> Sequence[str]:
        return list(addresses)

    return resolve


REFUSED_IN_PUBLIC = {
    "127.0.0.1": "a loopback address",
    "127.8.9.10": "a loopback address",
    "0.0.0.0": "an unspecified address",
    "10.0.0.1": "a private address",
    "172.16.5.4": "a private address",
    "192.168.1.1": "a private address",
    "169.254.169.254": "a link-local address",
    "100.64.0.1": "not a public address",
    "192.0.2.10": "a private address",
    "224.0.0.251": "a multicast address",
    "240.0.0.1": "a private address",
    "255.255.255.255": "a private address",
    "::1": "a loopback address",
    "::": "an unspecified address",
    "fe80::1": "a link-local address",
    "fc00::1": "a private address",
    "fd12:3456::1": "a private address",
    "ff02::1": "a multicast address",
    "::ffff:127.0.0.1": "a loopback address (inside the IPv6 address ::ffff:7f00:1)",
    "::ffff:10.1.1.1": "a private address (inside the IPv6 address ::ffff:a01:101)",
    "::ffff:169.254.169.254": "a link-local address (inside",
    "2002:a00:1::1": "a private address (inside the IPv6 address 2002:a00:1::1)",  # 6to4 of 10.0.0.1
    "64:ff9b::a9fe:a9fe": "a link-local address (inside",  # NAT64 of 169.254.169.254
    "2001:db8::1": "a private address",
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", sorted(REFUSED_IN_PUBLIC))
def test_a_name_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(UnsafeTarget) as refused:
        check("https://hooks.example.com/ghost", "public", resolving_to(address))
    assert REFUSED_IN_PUBLIC[address] in str(refused.value)
    assert "webhooks go to public addresses only" in str(refused.value)


@pytest.mark.parametrize("address", sorted(REFUSED_IN_PUBLIC))
def test_an_address_literal_that_is_not_public_is_refused(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeTarget, match="public addresses only"):
        check(f"https://{host}/ghost", "public", resolving_to("93.184.216.34"))  # the resolver is not asked


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    target = check("https://hooks.example.com:8443/ghost?token=x", "public", resolving_to(address))
    assert (target.host, target.port, target.path, target.addresses) == (
        "hooks.example.com",
        8443,
        "/ghost?token=x",
        (str(ipaddress.ip_address(address)),),
    )


def test_one_bad_address_among_good_ones_is_enough_to_refuse() -> None:
    with pytest.raises(UnsafeTarget, match=r"10\.9\.9\.9"):
        check("https://hooks.example.com/", "public", resolving_to("93.184.216.34", "10.9.9.9"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.1/",  # inet_aton forms reach the resolver, which says what they are
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://localhost:3000/hook",
    ],
)
def test_shorthand_loopback_names_are_loopback_in_public_mode(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check(url.replace("http://", "https://"), "public")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.example.com/", "must start with https://"),
        ("ftp://hooks.example.com/", "must start with https://"),
        ("https://user:pw@hooks.example.com/", "user name or password"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.com:99999/", "not valid"),
        ("https://hooks.example.com/a b", "without spaces"),
        ("https://hooks.example.com/" + "a" * 2048, "at most 2048 characters"),
        ("https://no-such-host.invalid/", "does not resolve"),
    ],
)
def test_malformed_urls_are_refused(url: str, words: str) -> None:
    with pytest.raises(UnsafeTarget, match=words):
        check(url, "public")


def test_the_local_stack_allows_http_and_loopback_but_nothing_else_private() -> None:
    assert check("http://127.0.0.1:8787/hook", "local").addresses == ("127.0.0.1",)
    assert check("http://[::1]:8787/hook", "local").addresses == ("::1",)
    assert check("http://localhost:8787/", "local").addresses  # resolves to loopback only
    for address in ("10.0.0.1", "169.254.169.254", "fe80::1"):
        with pytest.raises(UnsafeTarget):
            check("http://hooks.test/", "local", resolving_to(address))
    with pytest.raises(UnsafeTarget, match="use http"):
        check("gopher://127.0.0.1/", "local")


# ------------------------------------------------------------------ the POST


def test_the_post_goes_to_the_checked_address_whatever_the_name_resolves_to_later() -> None:
    with receiving() as receiver:
        port = receiver.server.server_address[1]
        target = check(f"http://rebind.example.test:{port}/x", "local", resolving_to("127.0.0.1"))
        outcome = post(target, b"{}", {"Content-Type": "application/json"})  # no DNS lookup happens here
        assert (outcome.status, outcome.error) == (200, None)
        assert receiver.posts[0].headers["host"] == f"rebind.example.test:{port}"


def test_a_slow_receiver_times_out_within_the_budget() -> None:
    with receiving(always(200, delay_s=3)) as receiver:
        target = check(receiver.url(), "local")
        started = time.monotonic()
        outcome = post(target, b"{}", {}, timeout_s=0.5)
        assert time.monotonic() - started < 1.5
    assert (outcome.status, outcome.error) == (None, "timed out after 0.5 s")


def test_a_receiver_trickling_its_answer_is_cut_at_the_deadline() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
                if stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(0.1)  # each read stays under the socket timeout; the whole does not

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    target = check(f"http://127.0.0.1:{server.getsockname()[1]}/", "local")
    started = time.monotonic()
    outcome = post(target, b"{}", {}, timeout_s=0.6)
    elapsed = time.monotonic() - started
    stop.set()
    server.close()
    assert elapsed < 1.5
    assert outcome == AttemptOutcome(None, "timed out after 0.6 s")


def test_a_refused_connection_tries_the_next_checked_address() -> None:
    with receiving() as receiver:
        port = receiver.server.server_address[1]
        target = check(f"http://multi.example.test:{port}/", "local", resolving_to("::1", "127.0.0.1"))
        assert post(target, b"{}", {}).status in (200, None)  # ::1 may be refused; 127.0.0.1 answers
        assert len(receiver.posts) == 1


# ------------------------------------------------------------------ TLS to a pinned address


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext]]:
    """An HTTPS server on 127.0.0.1 with a certificate for hooks.example.test, and a client context
    trusting it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(cert_file, key_file)
    server.socket = serving.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = ssl.create_default_context(cafile=str(cert_file))
    try:
        yield server.server_address[1], client
    finally:
        server.shutdown()
        server.server_close()


def test_https_to_a_pinned_address_verifies_the_certificate_for_the_name(
    tls_receiver: tuple[int, ssl.SSLContext],
) -> None:
    port, trusted = tls_receiver
    good = check(f"https://hooks.example.test:{port}/x", "local", resolving_to("127.0.0.1"))
    assert post(good, b"{}", {}, tls=trusted).status == 204
    wrong_name = check(f"https://other.example.test:{port}/x", "local", resolving_to("127.0.0.1"))
    outcome = post(wrong_name, b"{}", {}, tls=trusted)
    assert outcome.status is None and (outcome.error or "").startswith("TLS:")
    untrusted = post(good, b"{}", {})  # the system's CAs do not know this certificate
    assert untrusted.status is None and "CERTIFICATE_VERIFY_FAILED" in (untrusted.error or "")
