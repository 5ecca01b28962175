"""Which callback URLs the platform may call, and the secrets that sign what it sends them."""

import base64
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from app.core.errors import InvalidRequest

SECRET_PREFIX = "whsec_"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Names that always mean this machine, whatever a resolver says.
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form `whsec_<base64 of 32 bytes>`."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4 or NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why no webhook may go to `address`; None for a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal(embedded)
        if address.is_site_local:
            return "site-local"
    for reason, applies in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if applies:
            return reason
    # Shared address space (100.64.0.0/10) and the like: neither private nor public.
    return None if address.is_global else "non-public"


def literal_address(host: str) -> IPAddress | None:
    """The address a host names without DNS: `10.0.0.1`, `::1`, and the legacy `127.1` or
    `2130706433` forms that resolvers accept too."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def check_callback(url: str, *, allow_private: bool) -> None:
    """Refuse a callback URL that the platform must not call: not absolute http(s), carrying
    credentials, or (unless `allow_private`) naming a loopback, private or other non-public
    address. Names are resolved again, and checked, at every delivery."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InvalidRequest(
            "callback must not contain spaces or control characters", field="callback"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a malformed port raises here)
    except ValueError:
        raise InvalidRequest("callback is not a valid URL", field="callback") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("callback must be an absolute http(s) URL", field="callback")
    if parts.username is not None or parts.password is not None:
        raise InvalidRequest(
            "callback must not carry credentials (user:password@); verify deliveries by "
            "their webhook-signature instead",
            field="callback",
        )
    if allow_private:
        return
    host = parts.hostname.rstrip(".")
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        raise InvalidRequest("callback must not point at this host", field="callback")
    address = literal_address(host)
    reason = refusal(address) if address is not None else None
    if reason is not None:
        raise InvalidRequest(
            f"callback must be a public address, not a {reason} one", field="callback"
        )
