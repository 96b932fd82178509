"""What the gate's two HTTP clients share: the Cekura API's (``gate.api.client``) and the
forges' (``gate.api.forge``, for ``--pr-comment``).

One place decides who the gate says it is (``USER_AGENT``), where a secret may travel in
the clear (``plain_http_refusal``: only when the connection itself stays on this machine),
which certificates are trusted (``tls_context``), and what a response read whole is
(``Reply``). Each client words its own messages from these answers: the API's name the
API key and ``--allow-insecure-http``, the forge's name the token.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from urllib.parse import SplitResult

import httpx

from gate import __version__
from gate.api.proxy import Proxy, ip_address_of
from gate.errors import UsageError

USER_AGENT = f"cekura-gate/{__version__} (+https://github.com/cekura-gate/cekura-gate)"


def is_loopback(host: str) -> bool:
    """A loopback address, or ``localhost`` itself (in every hosts file), with or without
    its final dot. Other names under ``.localhost`` are not trusted: many resolvers send
    them to DNS, which may answer with any address."""
    if host.lower().rstrip(".") == "localhost":
        return True
    address = ip_address_of(host)
    return address is not None and address.is_loopback


@dataclass(frozen=True)
class PlainHttpRefusal:
    """Why a secret may not go over plain http: ``host`` is not this machine, or (``proxy``
    set) the connection goes through a proxy that is not."""

    host: str
    proxy: Proxy | None = None


def plain_http_refusal(parts: SplitResult, proxy: Proxy | None) -> PlainHttpRefusal | None:
    """``None`` when plain http to ``parts`` keeps the connection on this machine: to a
    loopback host, directly or through a loopback proxy; else why not."""
    host = parts.hostname or ""
    if not is_loopback(host):
        return PlainHttpRefusal(host)
    if proxy is not None and not is_loopback(proxy.host):
        return PlainHttpRefusal(host, proxy)
    return None


@functools.cache
def tls_context(ca_file: str | None, ca_dir: str | None) -> ssl.SSLContext:
    """The certificates to trust: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` as httpx would read
    them, else certifi's bundle. Built once per process (loading a bundle costs ~40 ms)."""
    if ca_file or ca_dir:
        variable = "SSL_CERT_FILE" if ca_file else "SSL_CERT_DIR"
        try:
            return ssl.create_default_context(cafile=ca_file, capath=None if ca_file else ca_dir)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise UsageError(
                f"{variable}: cannot load the certificates it names ({reason})"
            ) from None
    return httpx.create_ssl_context(trust_env=False)


@dataclass(frozen=True)
class Reply:
    """A whole response: its body read to the end and decoded (empty when not needed)."""

    status: int
    headers: httpx.Headers
    body: bytes = b""

    @property
    def text(self) -> str:
        charset = self.headers.get("Content-Type", "").partition("charset=")[2].split(";")[0]
        try:
            return self.body.decode(charset.strip(' "') or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            return self.body.decode("utf-8", errors="replace")
