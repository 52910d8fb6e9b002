"""One factory for a hubspot-api-client, from typed credentials read from the environment.

``HUBSPOT_ACCESS_TOKEN`` (a private-app token) is required; ``HUBSPOT_BASE_URL`` points the
SDK elsewhere than ``https://api.hubapi.com`` (the sandbox). The token is hidden from
``repr`` so it cannot leak through an exception or a log line, and checked when read
(:mod:`connectors.credentials`): one with a line break, a space or a non-ASCII character
inside would otherwise fail deep in ``http.client`` with the whole header quoted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from hubspot import HubSpot
from urllib3.util.retry import Retry

from connectors.credentials import env_secret, env_url

DEFAULT_BASE_URL = "https://api.hubapi.com"


@dataclass(frozen=True)
class HubSpotCredentials:
    access_token: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HubSpotCredentials:
        """Read and check both variables; ``ValueError`` names the bad one, never its value."""
        env = os.environ if env is None else env
        token = env_secret(env, "HUBSPOT_ACCESS_TOKEN", header=True)
        if not token:
            raise ValueError("HUBSPOT_ACCESS_TOKEN is not set")
        base_url = env_url(env, "HUBSPOT_BASE_URL", schemes=("https", "http"), default=DEFAULT_BASE_URL)
        assert base_url is not None
        return cls(access_token=token, base_url=base_url)


def make_client(creds: HubSpotCredentials) -> HubSpot:
    # Retries are ours (connectors/hubspot honours Retry-After and the 10-second window).
    # Left unset, urllib3 would quietly retry failed connections and GETs up to 3 times:
    # calls repeated behind our back, uncounted and outside the rate limiter.
    return HubSpot(access_token=creds.access_token, host=creds.base_url, retry=Retry(total=0, redirect=False))
