"""Send one webhook attempt: a signed POST to a user's URL, refused when the URL points inside.

Requests are signed the Standard Webhooks way (https://www.standardwebhooks.com), by the
``standardwebhooks`` package: the receiver recomputes an HMAC-SHA256 over the delivery id,
the timestamp and the body with the shared ``whsec_`` secret, so it can tell a genuine
delivery from a forged or replayed one. Receivers verify with a Standard Webhooks library
(``Webhook(secret).verify(body, headers)`` in Python); mcgraph itself verifies nothing.

The threat guarded against is server-side request forgery: the URL is chosen by a user,
and mcgraph sends the request from inside its own network. Left alone, a rule could POST
to the cloud metadata service (169.254.169.254), an admin port on localhost, or a
database on a private subnet, and the delivery log would show the answer. So before
sending, :func:`check_destination` resolves the host and refuses unless every address it
resolves to is public (or explicitly allowed by the operator). The request then goes to
the address that was checked, not to a second lookup of the name, so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot slip through; the
Host header and the TLS server name (SNI, and so certificate verification) stay those of
the URL. Redirects are not followed, since the target of a redirect was never checked.

This module is pure: no database, no retries. One call of :func:`send` is one attempt,
and it always comes back as a :class:`WebhookAttempt`, never as a network exception.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from mcgraph.domain import webhook_secrets

USER_AGENT = "mcgraph-webhooks/1"
EXCERPT_CHARACTERS = 500
# Enough bytes for 500 characters of UTF-8; the rest of an answer is never read.
EXCERPT_BYTES = EXCERPT_CHARACTERS * 4
ERROR_CHARACTERS = 300
# Names that reach instance metadata whatever they resolve to from where the check runs.
BLOCKED_HOSTNAMES = frozenset({"metadata.google.internal"})
CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    body: bytes  # the JSON body, already encoded
    # the secret as configured, UTF-8: "whsec_<base64>", or a secret saved before that form
    # was required, whose bytes are the key (see mcgraph.domain.webhook_secrets); b"": none
    secret: bytes
    delivery_id: str  # the same across retries of one delivery (run and action), e.g. "msg_..."
    timestamp: int  # unix seconds of this attempt


@dataclass(frozen=True)
class WebhookAttempt:
    ok: bool  # True for a 2xx answer
    status: int | None  # the HTTP status; None when there was no answer
    error: str | None  # why it failed, one line, never the secret
    duration_ms: float
    response_excerpt: str  # the first 500 characters of the answer's body
    retryable: bool  # worth trying again later: timeouts, connection errors, 429, 5xx


class WebhookRefused(Exception):
    """The URL, or an address its host resolves to, is not an allowed destination."""


# --- Signing -------------------------------------------------------------------------


def _webhook(secret: bytes) -> Webhook | None:
    """The Standard Webhooks signer for a secret as configured; None without a secret."""
    key = webhook_secrets.signing_key(secret)
    return Webhook(key) if key else None


def sign(request: WebhookRequest) -> dict[str, str]:
    """The headers of a request: Standard Webhooks id, timestamp and, with a secret, signature.

    The ``standardwebhooks`` package signs, so any Standard Webhooks library verifies the
    request with the same ``whsec_`` secret. A webhook saved without a secret is sent
    unsigned (no ``webhook-signature``): there is nothing a receiver could check it with.
    """
    headers = {
        "webhook-id": request.delivery_id,
        "webhook-timestamp": str(request.timestamp),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    signer = _webhook(request.secret)
    if signer is not None:
        sent_at = datetime.fromtimestamp(request.timestamp, UTC)
        headers["webhook-signature"] = signer.sign(request.delivery_id, sent_at, request.body)
    return headers


# --- The destination check -----------------------------------------------------------


@dataclass(frozen=True)
class _AllowList:
    hostnames: frozenset[str]
    networks: tuple[IPNetwork, ...]

    def allows_host(self, host: str) -> bool:
        return _normal_hostname(host) in self.hostnames

    def allows_address(self, address: IPAddress) -> bool:
        return any(form in network for form in _forms(address) for network in self.networks)


def _normal_hostname(host: str) -> str:
    return host.lower().rstrip(".")


def _parse_allow(entries: Sequence[str]) -> _AllowList:
    """Read the operator's exceptions: hostnames, IP addresses and CIDR networks.

    An entry with a ``/`` must be a valid network (``ValueError`` otherwise), so a typo in
    a network is not silently taken for a hostname.
    """
    hostnames: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        if "/" in entry:
            networks.append(ipaddress.ip_network(entry))
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]")))
        except ValueError:
            hostnames.add(_normal_hostname(entry))
    return _AllowList(frozenset(hostnames), tuple(networks))


def _forms(address: IPAddress) -> list[IPAddress]:
    """Any IPv4 address this one carries (IPv4-mapped or 6to4 IPv6), then the address."""
    forms: list[IPAddress] = []
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in (address.ipv4_mapped, address.sixtofour):
            if embedded is not None:
                forms.append(embedded)
    return [*forms, address]


def _why_not_public(address: IPAddress) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    for form in _forms(address):
        if form.is_unspecified:
            return "an unspecified address"
        if form.is_loopback:
            return "a loopback address"
        if form.is_link_local:
            return "a link-local address"
        if form in CARRIER_GRADE_NAT:
            return "a carrier-grade NAT address"
        if form.is_multicast:
            return "a multicast address"
        if isinstance(form, ipaddress.IPv6Address) and form.is_site_local:
            return "a site-local address"
        if form.is_reserved:
            return "a reserved address"
        if form.is_private:
            return "a private address"
        if not form.is_global:
            return "a non-public address"
    return None


def _parse_url(url: str) -> httpx.URL:
    """The URL, if it is one a webhook may be sent to; :class:`WebhookRefused` otherwise."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise WebhookRefused(f"not a valid URL: {error}") from None
    if parsed.scheme not in ("http", "https"):
        raise WebhookRefused(f"only http and https URLs are allowed, not {parsed.scheme or 'no scheme'}")
    if not parsed.host:
        raise WebhookRefused("the URL has no host")
    if parsed.userinfo:
        raise WebhookRefused("the URL must not contain credentials (user:password@)")
    return parsed


async def _resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order, without repeats."""
    try:
        ipaddress.ip_address(host)
        return [host]  # a literal address needs no lookup
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise socket.gaierror(f"{host} resolves to no address")
    return addresses


async def _check(parsed: httpx.URL, allow: Sequence[str]) -> list[str]:
    allowed = _parse_allow(allow)
    host = parsed.raw_host.decode("ascii")  # IDNA-encoded, as it is looked up
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if allowed.allows_host(host):
        return await _resolve(host, port)
    if _normal_hostname(host) in BLOCKED_HOSTNAMES:
        raise WebhookRefused(f"{host} is a cloud metadata service")
    addresses = await _resolve(host, port)
    for text in addresses:
        address = ipaddress.ip_address(text)
        reason = _why_not_public(address)
        if reason is not None and not allowed.allows_address(address):
            if text == host:
                raise WebhookRefused(f"{text} is {reason}")
            raise WebhookRefused(f"{host} resolves to {text}, {reason}")
    return addresses


async def check_destination(url: str, *, allow: Sequence[str] = ()) -> list[str]:
    """Refuse a URL that could reach inside the network; return the addresses it checked.

    Only http and https URLs with a host and without credentials pass, and only when every
    address the host resolves to is public: not loopback, private, link-local (which holds
    the cloud metadata address 169.254.169.254), unspecified, multicast, reserved or
    carrier-grade NAT, including IPv4 addresses wrapped in IPv6. ``allow`` lists the
    operator's exceptions: a hostname lets its URL through whatever it resolves to; an IP
    address or CIDR network lets through the addresses it contains.

    Raises :class:`WebhookRefused` saying why, or :class:`OSError` (``socket.gaierror``)
    when the host does not resolve, which is a failure to retry rather than a refusal.
    """
    return await _check(_parse_url(url), allow)


# --- Sending -------------------------------------------------------------------------


def _one_line(text: str, secret: bytes) -> str:
    line = " ".join(_redact(text, secret).split())
    return line if len(line) <= ERROR_CHARACTERS else line[: ERROR_CHARACTERS - 1] + "…"


def _redact(text: str, secret: bytes) -> str:
    """``text`` with the secret and its key, raw or base64-encoded, replaced: a receiver
    knows the secret, and its error page might print it into the delivery log."""
    if not secret:
        return text
    forms: set[str] = set()
    for value in (secret, webhook_secrets.signing_key(secret)):
        forms.add(base64.b64encode(value).decode("ascii"))
        try:
            forms.add(value.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    for form in sorted((form for form in forms if form), key=len, reverse=True):
        text = text.replace(form, "[redacted]")
    return text


def _pinned(parsed: httpx.URL, address: str) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL rewritten to the checked address, with the Host header and TLS server name
    of the original, so the connection goes where the check looked."""
    headers = {"host": parsed.netloc.decode("ascii")}
    extensions: dict[str, str] = {}
    host = parsed.raw_host.decode("ascii")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        extensions["sni_hostname"] = host
    return parsed.copy_with(host=address), headers, extensions


async def _read_excerpt(response: httpx.Response) -> str:
    """The start of the answer's body as text; the rest is not read (nor decompressed)."""
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= EXCERPT_BYTES:
            break
    return data[:EXCERPT_BYTES].decode("utf-8", "replace")[:EXCERPT_CHARACTERS]


def _judge(status: int, location: str | None) -> tuple[bool, str | None, bool]:
    """``(ok, error, retryable)`` for an answer's status."""
    if 200 <= status < 300:
        return True, None, False
    if 300 <= status < 400:
        where = f" (to {location})" if location else ""
        return False, f"HTTP {status}: redirects are not followed{where}", False
    if status == 429 or status >= 500:
        return False, f"HTTP {status}", True
    return False, f"HTTP {status}", False


async def _post(
    client: httpx.AsyncClient,
    request: WebhookRequest,
    parsed: httpx.URL,
    addresses: list[str],
    timeout: float,
) -> tuple[int, str | None, str]:
    """POST to the first address that accepts a connection; ``(status, location, excerpt)``.

    Only a refused connection moves on to the next address: nothing was sent then, so the
    receiver cannot see the delivery twice.
    """
    # One connection per attempt: a pool keyed by address could otherwise hand a TLS
    # connection verified for one hostname to a request for another on the same address.
    headers = sign(request) | {"accept-encoding": "identity", "connection": "close"}
    for index, address in enumerate(addresses):
        url, host_header, extensions = _pinned(parsed, address)
        try:
            async with client.stream(
                "POST",
                url,
                content=request.body,
                headers=headers | host_header,
                extensions=extensions,
                timeout=httpx.Timeout(timeout),
                follow_redirects=False,
            ) as response:
                excerpt = await _read_excerpt(response)
                return response.status_code, response.headers.get("location"), excerpt
        except httpx.ConnectError:
            if index == len(addresses) - 1:
                raise
    raise AssertionError("unreachable: addresses is never empty")


async def send(
    request: WebhookRequest,
    *,
    allow: Sequence[str] = (),
    timeout: float = 10.0,
    client: httpx.AsyncClient | None = None,
) -> WebhookAttempt:
    """Make one delivery attempt and say how it went; never raises for the network's sake.

    The destination is checked first (a refusal is a failed attempt, not retryable); then the
    signed body is POSTed to the checked address. ``timeout`` bounds the whole attempt, name
    lookup, connection and answer together. A 3xx answer is a failure: redirects are not
    followed. A ``client`` passed in is used as is (its proxies and TLS settings too) but
    never follows redirects here; without one, a fresh client that ignores proxy environment
    variables is used and closed. Connections are not kept alive between attempts.
    """
    started = time.perf_counter()

    def attempt(status: int | None, error: str | None, retryable: bool, excerpt: str = "") -> WebhookAttempt:
        return WebhookAttempt(
            ok=error is None,
            status=status,
            error=None if error is None else _one_line(error, request.secret),
            duration_ms=(time.perf_counter() - started) * 1000,
            response_excerpt=_redact(excerpt, request.secret)[:EXCERPT_CHARACTERS],
            retryable=retryable,
        )

    try:
        async with asyncio.timeout(timeout):
            parsed = _parse_url(request.url)
            addresses = await _check(parsed, allow)
            if client is None:
                async with httpx.AsyncClient(trust_env=False) as own_client:
                    status, location, excerpt = await _post(own_client, request, parsed, addresses, timeout)
            else:
                status, location, excerpt = await _post(client, request, parsed, addresses, timeout)
    except WebhookRefused as refusal:
        return attempt(None, f"refused: {refusal}", False)
    except httpx.InvalidURL as error:  # a checked address that cannot stand in a URL
        return attempt(None, f"not a valid URL: {error}", False)
    except (TimeoutError, httpx.TimeoutException):
        return attempt(None, f"timeout after {timeout:g} s", True)
    except httpx.UnsupportedProtocol as error:
        return attempt(None, f"unsupported protocol: {error}", False)
    except httpx.TransportError as error:
        return attempt(None, f"connection error: {_describe(error)}", True)
    except OSError as error:  # the name lookup failed
        return attempt(None, f"could not resolve the host: {_describe(error)}", True)
    ok, error, retryable = _judge(status, location)
    return attempt(status, error, retryable, excerpt)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
