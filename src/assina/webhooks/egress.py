"""Where a webhook may connect: public addresses only, checked when the endpoint is saved and
again on every connection.

An endpoint URL is chosen by whoever holds an API key or an admin login; without this check it
could make the worker talk to the machine's own services (127.0.0.1:5432), the private network
(10/8, 192.168/16...) or a cloud's metadata service (169.254.169.254), and the attempt log would
show the answers. So:

- ``refusal(host)`` says why a host may not be used: a literal address (in any spelling the C
  library accepts: ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``) or a name
  whose addresses are not all public. Used when an endpoint is created or changed.
- ``PinnedTransport`` is the httpx transport of the sender: its network backend resolves the host
  itself, refuses the connection unless every address is public, and connects to the address it
  checked (so a name that resolves to a private address later, DNS rebinding, is never reached;
  TLS still verifies the certificate for the name, and the Host header stays the name). It also
  holds each attempt to a deadline for the whole exchange, so an endpoint that trickles bytes
  cannot hold a sender longer than ``ASSINA_WEBHOOK_TIMEOUT``.

``ASSINA_WEBHOOK_ALLOW_PRIVATE=1`` turns the address check off (development and tests, whose
receivers listen on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import httpcore
import httpx
from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Reasons a host is refused (the services turn them into translated messages).
NOT_PUBLIC = "not_public"
UNRESOLVED = "unresolved"

# Ranges that embed an IPv4 address in an IPv6 one: NAT64 (64:ff9b::/96, 64:ff9b:1::/48).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def allow_private() -> bool:
    return bool(getattr(settings, "ASSINA_WEBHOOK_ALLOW_PRIVATE", False))


def literal_address(host: str) -> Address | None:
    """The address a host names by itself, as the C library reads it (``inet_aton`` accepts
    one to four parts, each decimal, octal with a leading 0 or hex with 0x: ``2130706433``,
    ``0x7f.1`` and ``0177.0.0.1`` all mean 127.0.0.1), or None for a name."""
    host = host.strip("[]").split("%", 1)[0]  # an IPv6 zone ("fe80::1%eth0") names no other address
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.fullmatch(p) for p in parts):
        return None
    values = [int(p[2:] or "0", 16) if p[:2].lower() == "0x" else int(p, 8) if p.startswith("0") else int(p)
              for p in parts]
    # The last part fills the bytes the others left: a.b.c.d, a.b.(16 bits), a.(24 bits), (32 bits).
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    number = last
    for index, value in enumerate(leading):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def is_public(address: Address) -> bool:
    """True only for a globally routable unicast address. Loopback, private (10/8, 172.16/12,
    192.168/16, fc00::/7), link-local (169.254/16, fe80::/10), CGNAT (100.64/10), multicast,
    unspecified, reserved and documentation ranges are not; neither is an IPv6 address that
    carries an IPv4 one (mapped ::ffff:0:0/96, compatible ::/96, 6to4, Teredo, NAT64) unless the
    IPv4 one is public, and the mapped form never (no receiver needs it)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None or int(address) >> 32 == 0:
            return False
        embedded = [address.sixtofour, address.teredo[1] if address.teredo else None]
        embedded += [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) for net in _NAT64 if address in net]
        if any(e is not None and not is_public(e) for e in embedded):
            return False
    return address.is_global and not (address.is_multicast or address.is_private or address.is_reserved
                                      or address.is_loopback or address.is_link_local or address.is_unspecified)


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (the system resolver; tests replace this function)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def addresses(host: str, port: int) -> list[Address]:
    """The addresses a connection to ``host`` may use, or ``Refused``: every address the name
    has must be public (a name with one private address among public ones is refused: the
    resolver may hand out either)."""
    literal = literal_address(host)
    if literal is not None:
        found = [literal]
    else:
        try:
            found = resolve(host.strip("[]"), port)
        except (OSError, UnicodeError, ValueError):
            raise Refused(UNRESOLVED, host) from None
        if not found:
            raise Refused(UNRESOLVED, host)
    if not allow_private() and not all(is_public(a) for a in found):
        raise Refused(NOT_PUBLIC, host)
    return found


def refusal(host: str, port: int) -> str | None:
    """Why ``host`` may not receive webhooks (``NOT_PUBLIC``, ``UNRESOLVED``), or None."""
    if allow_private():
        return None  # development: any host, resolvable now or not
    try:
        addresses(host, port)
    except Refused as exc:
        return exc.reason
    return None


class Refused(httpcore.ConnectError):
    """A connection the address rules forbid (raised before any packet is sent)."""

    def __init__(self, reason: str, host: str) -> None:
        super().__init__(f"{reason}: {host}")
        self.reason = reason


# --- the deadline of one attempt ------------------------------------------------------------

_local = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every network operation of this thread inside the block ends by ``seconds`` from now."""
    _local.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.deadline = None


def _within_deadline(timeout: float | None, error: type[Exception]) -> float | None:
    end = getattr(_local, "deadline", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("the attempt's time is up")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write is cut to the attempt's deadline: a per-read
    timeout alone never ends an endpoint that sends one byte at a time."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _within_deadline(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Connects only to addresses ``addresses()`` allows, to the very address it checked."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options=None) -> httpcore.NetworkStream:
        allowed = addresses(host, port)
        failure: Exception | None = None
        for address in allowed:
            try:
                stream = self._backend.connect_tcp(str(address), port, _within_deadline(timeout, httpcore.ConnectTimeout),
                                                   local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        raise failure or httpcore.ConnectError(host)

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise httpcore.ConnectError("webhooks never use a unix socket")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport with the pinned backend, no proxy (a proxy would connect for us,
    unchecked) and the usual TLS verification of the URL's name."""

    def __init__(self, *, max_connections: int = 20, ssl_context=None) -> None:  # noqa: D107
        # The parent's __init__ would only build the pool this replaces (its other methods use
        # nothing but ``_pool``).
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context or httpx.create_ssl_context(),
                                             max_connections=max_connections,
                                             max_keepalive_connections=max_connections, keepalive_expiry=5.0,
                                             network_backend=PinnedBackend())


def client(timeout: httpx.Timeout, *, max_connections: int = 20, ssl_context=None) -> httpx.Client:
    """The sender's HTTP client: pinned transport, redirects not followed, proxies ignored."""
    return httpx.Client(transport=PinnedTransport(max_connections=max_connections, ssl_context=ssl_context),
                        timeout=timeout,
                        follow_redirects=False, trust_env=False)
