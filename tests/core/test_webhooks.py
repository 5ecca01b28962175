"""Callback rules: which addresses webhooks may reach, and the secrets that sign them."""

import ipaddress

import pytest
from standardwebhooks import Webhook

from app.core.errors import InvalidRequest
from app.core.webhooks import check_callback, literal_address, new_secret, refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "non-public"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("fec0::1", "site-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:a9fe:a9fe::1", "link-local"),
        ("64:ff9b::7f00:1", "loopback"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_each_non_public_range_is_refused(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


def test_legacy_spellings_of_an_address_are_read_as_that_address() -> None:
    for spelling in ("127.1", "2130706433", "0x7f.0.0.1", "017700000001"):
        assert literal_address(spelling) == ipaddress.IPv4Address("127.0.0.1"), spelling
    assert literal_address("hooks.example.com") is None


def test_private_callbacks_only_when_allowed_and_credentials_never() -> None:
    for url in ("http://127.0.0.1:9000/", "http://[::1]/", "http://localhost/", "http://10.0.0.1"):
        with pytest.raises(InvalidRequest) as refused:
            check_callback(url, allow_private=False)
        assert refused.value.field == "callback"
        check_callback(url, allow_private=True)
    check_callback("https://hooks.example.com/lumen?x=1", allow_private=False)
    for url in ("https://u:p@hooks.example.com/", "https://u@hooks.example.com/"):
        for allowed in (False, True):
            with pytest.raises(InvalidRequest, match="credentials"):
                check_callback(url, allow_private=allowed)


def test_secrets_are_fresh_standard_webhooks_secrets() -> None:
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        Webhook(secret)  # a key the receiver's library accepts
