"""Control's sign-in configuration: the domain wallets show is configured, never taken from a request."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vprime_control.settings import ControlSettings


def test_on_loopback_the_domain_defaults_to_the_address_it_listens_on() -> None:
    settings = ControlSettings(http_host="127.0.0.1", http_port=8000)
    assert (settings.sign_in_domain, settings.sign_in_uri) == ("127.0.0.1:8000", "http://127.0.0.1:8000")


def test_listening_beyond_loopback_needs_a_configured_domain() -> None:
    with pytest.raises(ValidationError, match="SIGN_IN_DOMAIN must be set"):
        ControlSettings(http_host="0.0.0.0")
    settings = ControlSettings(http_host="0.0.0.0", sign_in_domain="app.vprime.example", sign_in_chain_id=42161)
    assert (settings.sign_in_uri, settings.sign_in_chain_id) == ("https://app.vprime.example", 42161)


@pytest.mark.parametrize("domain", ["evil-phish.example\t" * 4, "https://app.vprime.example", "app.vprime.example/login"])
def test_a_domain_that_is_not_an_authority_is_refused_at_start(domain: str) -> None:
    with pytest.raises(ValidationError, match="not a host"):
        ControlSettings(sign_in_domain=domain)
