"""Which proxy a request goes through: the [settings] proxy, else the environment's, as curl and requests read it.

`proxy = "http://host:port"` sends every request through that proxy; `proxy = "direct"` through none; left
out, the environment decides: https_proxy / HTTPS_PROXY for https URLs, http_proxy / HTTP_PROXY for http
ones, all_proxy / ALL_PROXY for either, and no_proxy / NO_PROXY names the hosts (with their subdomains, or
"*" for all) reached directly. Loopback hosts are never proxied: a proxy cannot reach this machine's own
servers. Only http:// proxies are spoken (HTTP for http URLs, a CONNECT tunnel for https ones); any other
kind is refused with a ConfigError naming where it was set.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from aggregator.errors import ConfigError

_DIRECT = "direct"
_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class Proxy:
    """An http:// proxy: where to connect, and the Proxy-Authorization value its URL's user and password make."""

    host: str
    port: int
    authorization: bytes | None = None
    shown: str = ""  # the URL without its password, for messages


class ProxyRules:
    """The proxy (or None) for each request, from `ProxyRules.configured(setting, os.environ)`."""

    def __init__(self, proxies: Mapping[str, Proxy], no_proxy: tuple[str, ...] = ()) -> None:
        self._proxies = dict(proxies)  # by the scheme of the URL requested
        self._no_proxy = no_proxy  # lower-case host names or suffixes, without a leading dot; "*" for all

    def __bool__(self) -> bool:
        """Whether any request may go through a proxy (most runs: none, and requests skip the lookup)."""
        return bool(self._proxies)

    @classmethod
    def configured(cls, setting: str, environ: Mapping[str, str], where: str = "[settings] proxy") -> ProxyRules:
        """The rules of the [settings] `proxy` value (named `where` in an error), or of the environment when
        it is empty."""
        no_proxy = tuple(
            entry.strip().lower().lstrip(".").split(":")[0]  # a port in an entry is ignored, as curl does
            for entry in _variable(environ, "no_proxy").split(",")
            if entry.strip()
        )
        if setting.strip().lower() == _DIRECT:
            return cls({})
        if setting.strip():
            proxy = parse_proxy(setting, where)
            return cls(dict.fromkeys(_SCHEMES, proxy), no_proxy)
        proxies: dict[str, Proxy] = {}
        fallback = _variable(environ, "all_proxy")
        for scheme in _SCHEMES:
            name = f"{scheme}_proxy"
            value, where = _variable(environ, name), name.upper()
            if not value and fallback:
                value, where = fallback, "ALL_PROXY"
            if value:
                proxies[scheme] = parse_proxy(value, where)
        return cls(proxies, no_proxy)

    def proxy_for(self, scheme: str, host: str) -> Proxy | None:
        """The proxy for a request to `host` (lower-case, IDNA-encoded) over `scheme`, or None to connect directly."""
        proxy = self._proxies.get(scheme)
        if proxy is None or _is_loopback(host):
            return None
        bare = host.strip("[]")
        if any(entry in ("*", bare) or bare.endswith("." + entry) for entry in self._no_proxy):
            return None
        return proxy


def parse_proxy(value: str, where: str) -> Proxy:
    """An http:// proxy URL ("host:port" alone means http://host:port); ConfigError naming `where` otherwise."""
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port or 80
    except ValueError:
        raise ConfigError(f"{where}: invalid proxy URL {value!r}") from None
    if parts.scheme.lower() != "http":
        raise ConfigError(f"{where}: {parts.scheme}:// proxies are not supported ({value!r}); use an http:// proxy")
    if not parts.hostname:
        raise ConfigError(f"{where}: invalid proxy URL {value!r} (no host)")
    authorization = None
    if parts.username is not None:
        import base64  # only for a proxy with credentials: every command imports this module (1 ms)

        user_password = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = b"Basic " + base64.b64encode(user_password.encode("utf-8"))
    host = parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
    shown = f"http://{host}:{port}" if authorization is None else f"http://{parts.username}:***@{host}:{port}"
    return Proxy(host, port, authorization, shown)


def _variable(environ: Mapping[str, str], name: str) -> str:
    """The lower-case variable, else the upper-case one, as urllib reads them; never HTTP_PROXY under CGI,
    where a request's "Proxy:" header sets it (httpoxy)."""
    upper = "" if name == "http_proxy" and "REQUEST_METHOD" in environ else environ.get(name.upper())
    return (environ.get(name) or upper or "").strip()


def _is_loopback(host: str) -> bool:
    bare = host.strip("[]").lower()
    if bare == "localhost" or bare.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False
