"""Which proxy, if any, the API's requests go through: decided once, from given variables.

httpx would read ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` itself,
but then the gate could not know where the key's bytes go, nor refuse a proxy it cannot
use before the first request. So ``proxy_for`` reads them the way ``urllib`` and httpx do
(any case, the lowercase name winning; a scheme's own variable before ``ALL_PROXY``;
``NO_PROXY`` hosts, domains, addresses, networks and ``*`` going direct), checks the
proxy's URL up front, and the client is given the answer with ``trust_env`` off.

Messages name the variable, never its value: a proxy URL can hold a user and password.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

import httpx

from gate.errors import UsageError

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,15}")


@dataclass(frozen=True)
class Proxy:
    """The proxy for the API: its URL (``repr`` hides it), its host, and where it was set."""

    url: str = field(repr=False)
    host: str
    variable: str


def _socksio_installed() -> bool:
    return importlib.util.find_spec("socksio") is not None


def proxy_variables(variables: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``{"http" | "https" | "all" | "no": (variable name, value)}`` as ``urllib`` reads them:
    any case first, then the all-lowercase names, whose empty value unsets the entry."""
    found: dict[str, tuple[str, str]] = {}
    for name, value in variables.items():
        if value and name.lower().endswith("_proxy"):
            found[name.lower()[: -len("_proxy")]] = (name, value)
    if "REQUEST_METHOD" in variables:  # a CGI script: HTTP_PROXY may come from a request header
        found.pop("http", None)
    for name, value in variables.items():
        if name.endswith("_proxy"):
            if value:
                found[name[: -len("_proxy")]] = (name, value)
            else:
                found.pop(name[: -len("_proxy")], None)
    return {scheme: found[scheme] for scheme in ("http", "https", "all", "no") if scheme in found}


def proxy_for(
    api: SplitResult,
    variables: Mapping[str, str],
    *,
    socks_installed: Callable[[], bool] = _socksio_installed,
) -> Proxy | None:
    """The proxy the API at ``api`` is reached through, or ``None`` for a direct connection;
    raises ``UsageError`` (exit 2) for a proxy that cannot be used."""
    found = proxy_variables(variables)
    if "no" in found and _bypassed(api, found["no"][1]):
        return None
    chosen = found.get(api.scheme) or found.get("all")
    if chosen is None:
        return None
    return _checked(*chosen, socks_installed=socks_installed)


def _checked(variable: str, value: str, *, socks_installed: Callable[[], bool]) -> Proxy:
    url = value.strip()
    if "://" not in url:
        url = f"http://{url}"  # as httpx reads "proxy.example:3128"
    try:
        parts = split_url(url)
    except ValueError:
        raise UsageError(f"{variable} is not a usable proxy URL") from None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in PROXY_SCHEMES:
        shown = f" '{scheme}'" if _SCHEME.fullmatch(scheme) else ""
        raise UsageError(
            f"{variable}: the proxy scheme{shown} is not supported; use http, https, "
            "socks5 or socks5h"
        )
    if not host:
        raise UsageError(f"{variable} is not a usable proxy URL: it names no host")
    if scheme.startswith("socks") and not socks_installed():
        raise UsageError(
            f"{variable} names a SOCKS proxy, which needs the socksio package: "
            "pip install 'httpx[socks]' (or unset the variable, or add the API host to NO_PROXY)"
        )
    return Proxy(url, host.lower(), variable)


def _bypassed(api: SplitResult, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` sends the API direct (curl's and httpx's reading of it)."""
    host = (api.hostname or "").lower()
    port = api.port or (443 if api.scheme == "https" else 80)
    for entry in (item.strip().lower() for item in no_proxy.split(",")):
        if entry == "*":
            return True
        if entry and _matches(entry, api.scheme, host, port):
            return True
    return False


def _matches(entry: str, scheme: str, host: str, port: int) -> bool:
    if "://" in entry:
        entry_scheme, entry = entry.split("://", 1)
        if entry_scheme not in ("all", scheme):
            return False
    network = _network(entry)
    if network is not None:
        address = ip_address_of(host)
        return address is not None and address in network
    name, _, entry_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
    if entry_port and entry_port != str(port):
        return False
    name = name.strip("[]")
    if name.startswith("*"):
        name = name[1:]
    if name.startswith("."):
        return host.endswith(name)  # ".example.com": the subdomains only, as httpx has it
    return host == name or host.endswith(f".{name}")


def _has_port(entry: str) -> bool:
    head, _, tail = entry.rpartition(":")
    return bool(head) and tail.isdigit() and (entry.startswith("[") or ":" not in head)


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def split_url(url: str) -> SplitResult:
    """``url`` split as httpx will read it; ``ValueError`` for spaces or control characters,
    a port that is not a port, or anything else httpx refuses."""
    if not url.isprintable() or any(char.isspace() for char in url):
        raise ValueError("spaces or control characters")
    parts = urlsplit(url)
    parts.port  # noqa: B018 - raises ValueError for a port that is not a port
    try:
        httpx.URL(url)
    except httpx.InvalidURL:
        raise ValueError("not a URL httpx accepts") from None
    return parts


def ip_address_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
