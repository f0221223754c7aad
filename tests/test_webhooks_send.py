"""Sending one webhook attempt: signatures, the SSRF guard, and how answers are judged.

No database. The sending tests post to a small HTTP receiver on 127.0.0.1 that records
what reaches it; loopback is refused by default, so they allow it explicitly. Signatures
are checked the way a receiver checks them, with the ``standardwebhooks`` package.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from mcgraph.automation.webhooks import (
    WebhookRefused,
    WebhookRequest,
    check_destination,
    send,
    sign,
)
from mcgraph.domain import webhook_secrets
from mcgraph.domain.secrets import MASK

KEY = b"s3cret-signing-key-0123456789abcdef"
KEY_B64 = base64.b64encode(KEY).decode()
SECRET = f"whsec_{KEY_B64}"  # as a user saves it, and as the receiver's library is given it
LOOPBACK = ["127.0.0.1"]
BODY = b'{"event":"task.completed","data":{"id":7}}'


def webhook(url: str, **changes: Any) -> WebhookRequest:
    """A request signed now (a receiver refuses a timestamp more than five minutes off)."""
    request = WebhookRequest(url=url, body=BODY, secret=SECRET.encode(), delivery_id="msg_2x8Kq1", timestamp=int(time.time()))
    return replace(request, **changes)


def verifies(secret: str | bytes, received: Received) -> bool:
    """Whether a Standard Webhooks receiver with ``secret`` accepts the request."""
    try:
        Webhook(secret).verify(received.body, received.headers)
    except WebhookVerificationError:
        return False
    return True


# --- A local receiver ----------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP/1.1 server that records each request and answers according to its path:
    ``/status/N`` answers N, ``/redirect`` a 302 to ``/target``, ``/slow`` waits until the
    test ends, ``/echo-secret`` a 401 whose body prints the secret, ``/big`` 10 000 bytes."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Received(method, path, headers, body))
            if path == "/slow":
                await self.release.wait()
                return
            writer.write(self.answer(path))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    def answer(path: str) -> bytes:
        status, extra, body = 200, "", b"ok"
        if path.startswith("/status/"):
            status, body = int(path.removeprefix("/status/")), f"answer {path}".encode()
        elif path == "/redirect":
            status, extra, body = 302, "Location: /target\r\n", b"moved"
        elif path == "/echo-secret":
            status, body = 401, f"bad signature; expected {SECRET}, key {KEY.decode()} ({KEY_B64})".encode()
        elif path == "/big":
            body = b"x" * 10_000
        head = f"HTTP/1.1 {status} Whatever\r\nContent-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
        return head.encode() + body


@contextlib.asynccontextmanager
async def serving(context: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """A receiver on a free port of 127.0.0.1; its waiting handlers end with the block."""
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0, ssl=context)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.close()
        await server.wait_closed()
        await asyncio.gather(*receiver.handlers)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving() as receiver:
        yield receiver


def certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and its key, made with the openssl tool."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
async def tls_receiver(tmp_path: Path) -> AsyncIterator[tuple[Receiver, ssl.SSLContext]]:
    """A receiver over HTTPS with a certificate for hooks.test, and a context that trusts it."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl tool makes the test certificate")
    cert, key = certificate(tmp_path, "hooks.test")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    async with serving(server_context) as receiver:
        yield receiver, ssl.create_default_context(cafile=str(cert))


@dataclass
class FakeDNS:
    """Names the running loop resolves to given addresses (an empty list: no such name);
    other names resolve as usual. ``lookups`` records the faked names asked for."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)


@pytest.fixture
async def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    dns = FakeDNS()

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in dns.answers:
            return await real(host, port, *args, **kwargs)
        dns.lookups.append(name)
        if not dns.answers[name]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in dns.answers[name]
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return dns


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Signing -------------------------------------------------------------------------


def test_signature_matches_the_standard_webhooks_example() -> None:
    # The example in the Standard Webhooks specification and its reference libraries: the
    # key is the base64 after whsec_, not the secret's own bytes.
    request = WebhookRequest(
        url="https://example.com/hook",
        body=b'{"test": 2432232314}',
        secret=b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        delivery_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
    )
    headers = sign(request)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert headers["webhook-timestamp"] == "1614265330"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "mcgraph-webhooks/1"


def test_a_secret_saved_before_the_whsec_form_signs_with_its_own_bytes() -> None:
    # What mcgraph always did with such a secret, so the receivers of stored rules go on
    # verifying; a Standard Webhooks library takes it as raw bytes or as whsec_ + base64.
    legacy = webhook("https://example.com/hook", secret=b"s3cret-old-value")
    headers = sign(legacy)
    content = f"{legacy.delivery_id}.{legacy.timestamp}.".encode() + BODY
    expected = base64.b64encode(hmac.new(b"s3cret-old-value", content, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    received = Received("POST", "/", headers, BODY)
    assert verifies(b"s3cret-old-value", received)
    assert verifies("whsec_" + base64.b64encode(b"s3cret-old-value").decode(), received)
    assert not verifies(b"s3cret-new-value", received)


def test_a_webhook_without_a_secret_is_sent_unsigned() -> None:
    headers = sign(webhook("https://example.com/hook", secret=b""))
    assert "webhook-signature" not in headers
    assert headers["webhook-id"] == "msg_2x8Kq1" and headers["webhook-timestamp"].isdigit()


def test_new_secrets_must_have_the_whsec_form() -> None:
    generated = {webhook_secrets.generate() for _ in range(3)}
    assert len(generated) == 3
    for secret in generated:
        assert secret.startswith("whsec_") and webhook_secrets.problem(secret) is None
        assert len(webhook_secrets.signing_key(secret)) == 32
        Webhook(secret)  # the library reads it
    assert webhook_secrets.problem(SECRET) is None
    assert webhook_secrets.problem(None) is None and webhook_secrets.problem("") is None
    assert webhook_secrets.problem(MASK, keep=MASK) is None
    refused = {
        "s3cret-old-value": "send whsec_ + the base64 of its bytes",
        MASK: "whsec_",
        "whsec_not base64!": "not padded standard base64",
        "whsec_" + KEY_B64.rstrip("="): "not padded standard base64",
        "whsec_" + base64.b64encode(b"short").decode(): "decodes to 5 bytes",
        "whsec_" + base64.b64encode(bytes(65)).decode(): "decodes to 65 bytes",
    }
    for secret, why in refused.items():
        problem = webhook_secrets.problem(secret)
        assert problem is not None and why in problem, (secret, problem)
        assert secret not in problem


# --- Sending -------------------------------------------------------------------------


async def test_send_posts_the_signed_body(receiver: Receiver) -> None:
    request = webhook(receiver.url("/status/200"))
    attempt = await send(request, allow=LOOPBACK)
    assert attempt.ok and attempt.status == 200 and attempt.error is None and not attempt.retryable
    assert attempt.response_excerpt == "answer /status/200"
    assert attempt.duration_ms > 0
    [received] = receiver.requests
    assert (received.method, received.body) == ("POST", BODY)
    assert received.headers["webhook-id"] == "msg_2x8Kq1"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == "mcgraph-webhooks/1"
    assert received.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert received.headers["connection"] == "close"
    assert verifies(SECRET, received)


async def test_a_standard_webhooks_receiver_verifies_the_delivery_and_nothing_else(receiver: Receiver) -> None:
    await send(webhook(receiver.url("/status/200")), allow=LOOPBACK)
    [received] = receiver.requests
    assert Webhook(SECRET).verify(received.body, received.headers) == {"event": "task.completed", "data": {"id": 7}}
    assert verifies(KEY, received)  # the key as raw bytes: the same thing
    tampered = [
        replace(received, body=received.body.replace(b"7", b"8")),
        replace(received, body=received.body + b" "),
        replace(received, headers=received.headers | {"webhook-id": "msg_other"}),
        replace(received, headers=received.headers | {"webhook-timestamp": str(int(received.headers["webhook-timestamp"]) + 1)}),
        replace(received, headers={k: v for k, v in received.headers.items() if k != "webhook-signature"}),
    ]
    for forged in tampered:
        assert not verifies(SECRET, forged)
    assert not verifies(webhook_secrets.generate(), received)  # another secret
    # The bug this form fixes: the secret's literal bytes are not the key.
    assert not verifies(SECRET.encode(), received)


async def test_retries_keep_the_delivery_id_and_sign_afresh(receiver: Receiver) -> None:
    first = webhook(receiver.url("/status/500"))
    second = replace(first, timestamp=first.timestamp + 60)
    assert not (await send(first, allow=LOOPBACK)).ok
    assert (await send(second, allow=LOOPBACK)).retryable
    one, two = receiver.requests
    assert one.headers["webhook-id"] == two.headers["webhook-id"] == "msg_2x8Kq1"
    assert one.headers["webhook-signature"] != two.headers["webhook-signature"]
    assert verifies(SECRET, one) and verifies(SECRET, two)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(200, False), (204, False), (500, True), (503, True), (429, True), (404, False), (400, False), (410, False)],
)
async def test_the_status_decides_success_and_retry(receiver: Receiver, status: int, retryable: bool) -> None:
    attempt = await send(webhook(receiver.url(f"/status/{status}")), allow=LOOPBACK)
    assert attempt.status == status
    assert attempt.ok is (status < 300)
    assert attempt.retryable is retryable
    assert attempt.error == (None if status < 300 else f"HTTP {status}")
    assert attempt.response_excerpt == ("" if status == 204 else f"answer /status/{status}")
    assert receiver.paths == [f"/status/{status}"]


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    attempt = await send(webhook(receiver.url("/redirect")), allow=LOOPBACK)
    assert (attempt.ok, attempt.status, attempt.retryable) == (False, 302, False)
    assert attempt.error is not None and "redirects are not followed" in attempt.error
    assert receiver.paths == ["/redirect"]  # the target recorded nothing


async def test_redirects_are_not_followed_even_by_a_client_that_would(receiver: Receiver) -> None:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        attempt = await send(webhook(receiver.url("/redirect")), allow=LOOPBACK, client=client)
    assert (attempt.ok, attempt.status, attempt.retryable) == (False, 302, False)
    assert receiver.paths == ["/redirect"]


async def test_a_slow_receiver_times_out_and_is_retryable(receiver: Receiver) -> None:
    attempt = await send(webhook(receiver.url("/slow")), allow=LOOPBACK, timeout=0.2)
    assert (attempt.ok, attempt.status, attempt.retryable) == (False, None, True)
    assert attempt.error is not None and "timeout" in attempt.error
    assert attempt.duration_ms < 5_000
    assert receiver.paths == ["/slow"]


async def test_a_refused_connection_is_retryable() -> None:
    attempt = await send(webhook(f"http://127.0.0.1:{closed_port()}/hook"), allow=LOOPBACK)
    assert (attempt.ok, attempt.status, attempt.retryable) == (False, None, True)
    assert attempt.error is not None and attempt.error.startswith("connection error")
    assert "\n" not in attempt.error


async def test_the_excerpt_is_the_first_500_characters(receiver: Receiver) -> None:
    attempt = await send(webhook(receiver.url("/big")), allow=LOOPBACK)
    assert attempt.ok and attempt.response_excerpt == "x" * 500


async def test_the_secret_never_appears_in_the_attempt(receiver: Receiver) -> None:
    echoed = await send(webhook(receiver.url("/echo-secret")), allow=LOOPBACK)
    assert (echoed.ok, echoed.status, echoed.retryable) == (False, 401, False)
    assert echoed.response_excerpt.startswith("bad signature; expected [redacted], key [redacted] ([redacted])")
    failures = [
        echoed,
        await send(webhook(receiver.url("/slow")), allow=LOOPBACK, timeout=0.2),
        await send(webhook(f"http://127.0.0.1:{closed_port()}/"), allow=LOOPBACK),
        await send(webhook(receiver.url("/status/200"))),
        await send(webhook(f"http://user:{KEY.decode()}@example.com/")),
    ]
    for attempt in failures:
        assert not attempt.ok
        for text in (attempt.error or "", attempt.response_excerpt):
            assert SECRET not in text and KEY_B64 not in text and KEY.decode() not in text


# --- The SSRF guard ------------------------------------------------------------------


REFUSED = [
    ("http://127.0.0.1:{port}/status/200", "127.0.0.1 is a loopback address"),
    ("http://localhost:{port}/status/200", "localhost resolves to 127.0.0.1, a loopback address"),
    ("http://LocalHost:{port}/status/200", "a loopback address"),
    ("http://10.0.0.5/hook", "10.0.0.5 is a private address"),
    ("http://172.16.0.1/hook", "172.16.0.1 is a private address"),
    ("http://192.168.1.10/hook", "192.168.1.10 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://metadata.google.internal/computeMetadata/v1/", "a cloud metadata service"),
    ("http://[::1]:{port}/status/200", "::1 is a loopback address"),
    ("http://[fe80::1]/hook", "fe80::1 is a link-local address"),
    ("http://[fd00::5]/hook", "fd00::5 is a private address"),
    ("http://[::ffff:127.0.0.1]:{port}/status/200", "::ffff:127.0.0.1 is a loopback address"),
    ("http://[::ffff:169.254.169.254]/", "a link-local address"),
    ("http://[2002:7f00:1::]/hook", "a loopback address"),  # 6to4 around 127.0.0.1
    ("http://100.64.0.1/hook", "100.64.0.1 is a carrier-grade NAT address"),
    ("http://0.0.0.0:{port}/status/200", "0.0.0.0 is an unspecified address"),
    ("http://2130706433:{port}/status/200", "resolves to 127.0.0.1, a loopback address"),
    ("http://224.0.0.1/hook", "224.0.0.1 is a multicast address"),
    ("http://[ff02::1]/hook", "ff02::1 is a multicast address"),
    ("http://[fec0::1]/hook", "fec0::1 is a site-local address"),
    ("http://240.0.0.1/hook", "240.0.0.1 is a reserved address"),
    ("file:///etc/passwd", "only http and https"),
    ("ftp://127.0.0.1:{port}/status/200", "only http and https"),
    ("http:///status/200", "no host"),
    ("not a url", "only http and https"),
]


@pytest.mark.parametrize(("template", "reason"), REFUSED)
async def test_inside_destinations_are_refused(receiver: Receiver, template: str, reason: str) -> None:
    url = template.format(port=receiver.port)
    with pytest.raises(WebhookRefused, match=reason.replace(".", r"\.")):
        await check_destination(url)
    attempt = await send(webhook(url))
    assert (attempt.ok, attempt.status, attempt.retryable) == (False, None, False)
    assert attempt.error is not None and attempt.error.startswith("refused: ") and reason in attempt.error
    assert receiver.requests == []


async def test_credentials_in_the_url_are_refused_even_when_allowed(receiver: Receiver) -> None:
    url = f"http://user:hunter2@127.0.0.1:{receiver.port}/status/200"
    with pytest.raises(WebhookRefused, match="credentials"):
        await check_destination(url, allow=LOOPBACK)
    attempt = await send(webhook(url), allow=LOOPBACK)
    assert (attempt.ok, attempt.retryable) == (False, False)
    assert "hunter2" not in (attempt.error or "")
    assert receiver.requests == []


async def test_a_name_is_refused_when_any_address_is_inside(fake_dns: FakeDNS) -> None:
    fake_dns.answers["mixed.test"] = ["93.184.216.34", "10.0.0.5"]
    fake_dns.answers["public.test"] = ["93.184.216.34", "2606:4700::1111"]
    with pytest.raises(WebhookRefused, match=r"mixed\.test resolves to 10\.0\.0\.5, a private address"):
        await check_destination("https://mixed.test/hook")
    assert await check_destination("https://public.test/hook") == ["93.184.216.34", "2606:4700::1111"]


async def test_public_literals_pass_without_a_lookup(fake_dns: FakeDNS) -> None:
    assert await check_destination("https://93.184.216.34/hook") == ["93.184.216.34"]
    assert await check_destination("https://[2606:4700::1111]:8443/hook") == ["2606:4700::1111"]
    assert fake_dns.lookups == []


@pytest.mark.parametrize(
    ("allow", "host"),
    [
        (["localhost"], "localhost"),
        (["LOCALHOST."], "localhost"),
        (["127.0.0.1"], "127.0.0.1"),
        (["127.0.0.0/8"], "127.0.0.1"),
        (["127.0.0.0/8"], "localhost"),
        (["hooks.internal", " 127.0.0.1 "], "127.0.0.1"),
    ],
)
async def test_the_allow_list_lets_a_destination_through(receiver: Receiver, allow: list[str], host: str) -> None:
    attempt = await send(webhook(receiver.url("/status/200", host=host)), allow=allow)
    assert attempt.ok, attempt.error
    assert receiver.paths == ["/status/200"]


async def test_the_allow_list_covers_only_what_it_names() -> None:
    assert await check_destination("http://[::ffff:127.0.0.1]/", allow=["127.0.0.0/8"]) == ["::ffff:127.0.0.1"]
    assert await check_destination("http://[::1]/", allow=["::1"]) == ["::1"]
    for allow in (["10.0.0.0/8"], ["127.0.0.2"], ["hooks.internal"], ["::1"]):
        with pytest.raises(WebhookRefused, match="loopback"):
            await check_destination("http://127.0.0.1/", allow=allow)
    with pytest.raises(WebhookRefused, match="link-local"):
        await check_destination("http://169.254.169.254/", allow=["127.0.0.0/8", "localhost"])


async def test_a_malformed_network_in_the_allow_list_is_an_error() -> None:
    with pytest.raises(ValueError):
        await check_destination("http://127.0.0.1/", allow=["127.0.0.0/33"])


async def test_the_connection_goes_to_the_checked_address(
    receiver: Receiver, fake_dns: FakeDNS
) -> None:
    # hooks.test exists only in the fake resolver, which is asked once: the connection uses
    # the address that was checked, so a second (rebound) answer could not redirect it.
    fake_dns.answers["hooks.test"] = ["127.0.0.1"]
    attempt = await send(webhook(receiver.url("/status/200", host="hooks.test")), allow=LOOPBACK)
    assert attempt.ok, attempt.error
    assert fake_dns.lookups == ["hooks.test"]
    [received] = receiver.requests
    assert received.headers["host"] == f"hooks.test:{receiver.port}"
    assert verifies(SECRET, received)


async def test_the_next_checked_address_is_tried_when_one_refuses(
    receiver: Receiver, fake_dns: FakeDNS
) -> None:
    fake_dns.answers["two.test"] = ["127.0.0.2", "127.0.0.1"]  # nothing listens on 127.0.0.2
    attempt = await send(webhook(receiver.url("/status/200", host="two.test")), allow=["127.0.0.0/8"])
    assert attempt.ok, attempt.error
    assert receiver.paths == ["/status/200"]


async def test_an_unresolvable_host_is_a_retryable_failure(fake_dns: FakeDNS) -> None:
    fake_dns.answers["gone.test"] = []
    with pytest.raises(OSError):
        await check_destination("https://gone.test/hook")
    attempt = await send(webhook("https://gone.test/hook"))
    assert (attempt.ok, attempt.status, attempt.retryable) == (False, None, True)
    assert attempt.error is not None and attempt.error.startswith("could not resolve the host")


async def test_https_to_the_checked_address_verifies_the_name_of_the_url(
    tls_receiver: tuple[Receiver, ssl.SSLContext], fake_dns: FakeDNS
) -> None:
    receiver, trusting = tls_receiver
    fake_dns.answers["hooks.test"] = ["127.0.0.1"]
    fake_dns.answers["other.test"] = ["127.0.0.1"]
    async with httpx.AsyncClient(verify=trusting) as client:
        good = await send(webhook(f"https://hooks.test:{receiver.port}/status/200"), allow=LOOPBACK, client=client)
        # The same server under a name its certificate does not carry: the TLS check fails.
        wrong = await send(webhook(f"https://other.test:{receiver.port}/status/200"), allow=LOOPBACK, client=client)
    assert good.ok, good.error
    assert (wrong.ok, wrong.status, wrong.retryable) == (False, None, True)
    assert wrong.error is not None and "certificate" in wrong.error.lower()
    [received] = receiver.requests
    assert received.headers["host"] == f"hooks.test:{receiver.port}"
