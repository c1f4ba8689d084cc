import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from vprime_shared.settings import SERVICE_PORTS, ServiceSettings

from vprime_control.auth import valid_domain

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ControlSettings(ServiceSettings):
    """Control's settings. Authentication:

    | variable | meaning | default |
    |---|---|---|
    | `OPERATOR_TOKENS` / `OPERATOR_TOKEN_FILE` | comma-separated operator bearer tokens (or a file, one per line): may change anything | none |
    | `READ_ACCESS` | `public`: GET endpoints need no token; `token`: any valid token | `public` |
    | `SESSION_TTL_S` | lifetime of a session token from a wallet sign-in | `86400` |
    | `NONCE_TTL_S` | how long a sign-in message can be signed | `600` |
    | `SIGN_IN_DOMAIN` | the EIP-4361 domain the wallet shows (`host[:port]` of the web app); required unless control listens on loopback only | `127.0.0.1:<HTTP_PORT>` on loopback |
    | `SIGN_IN_URI` | the EIP-4361 URI | `https://<domain>` (`http://` on loopback) |
    | `SIGN_IN_CHAIN_ID` | the EIP-155 chain id in sign-in messages | `1` |
    | `NONCE_RATE_PER_MINUTE` | sign-in messages one client address may ask for per minute (a burst of as many, then one every 60/n s) | `10` |
    | `WEB_ORIGINS` | comma-separated origins of the web app (`scheme://host[:port]`, query's address) allowed to call this API from a browser (CORS); a write from any other `Origin` is refused (403) | on loopback: query's default address (`http://127.0.0.1:8001`, `http://localhost:8001`); else none |
    | `API_TOKEN_DEFAULT_DAYS` / `API_TOKEN_MAX_DAYS` | an API token's lifetime when none is asked for, and the longest one may ask for | `90` / `365` |
    """

    service_name: str = "control"
    # Venue agent keys go from the deploy body straight to the executor, never through Kafka or control's schema.
    executor_url: str = "http://127.0.0.1:8005"
    internal_api_token: str = Field(default="", repr=False)
    operator_tokens: str = Field(default="", repr=False)
    operator_token_file: str = ""
    read_access: Literal["public", "token"] = "public"
    session_ttl_s: int = Field(default=86_400, gt=0)
    nonce_ttl_s: int = Field(default=600, gt=0)
    sign_in_domain: str = ""
    sign_in_uri: str = ""
    sign_in_chain_id: int = Field(default=1, ge=1)
    nonce_rate_per_minute: int = Field(default=10, ge=1)
    api_token_default_days: int = Field(default=90, ge=1)
    api_token_max_days: int = Field(default=365, ge=1)
    web_origins: str = ""

    def model_post_init(self, __context: object) -> None:
        """The sign-in domain is what a wallet shows its user; taken from a request it would be the phishing
        site's own. So it is configuration, and only a control bound to loopback (no browser elsewhere can
        reach it) may leave it to default."""
        super().model_post_init(__context)
        if not self.sign_in_domain:
            if self.http_host not in LOOPBACK:
                raise ValueError(f"SIGN_IN_DOMAIN must be set when control listens on {self.http_host}: it is the domain "
                                 "wallets show when signing in (the web app's host[:port], e.g. app.vprime.example)")
            self.sign_in_domain = f"{self.http_host}:{self.http_port}"
        valid_domain(self.sign_in_domain)
        if not self.sign_in_uri:
            scheme = "http" if self.http_host in LOOPBACK else "https"
            self.sign_in_uri = f"{scheme}://{self.sign_in_domain}"
        if not self.web_origins and self.http_host in LOOPBACK:
            port = SERVICE_PORTS["query"]
            self.web_origins = f"http://127.0.0.1:{port},http://localhost:{port}"
        for origin in self.web_origin_list():
            if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", origin):
                raise ValueError(f"WEB_ORIGINS: {origin!r} is not an origin (scheme://host[:port], no path)")
        if self.api_token_default_days > self.api_token_max_days:
            raise ValueError("API_TOKEN_DEFAULT_DAYS is longer than API_TOKEN_MAX_DAYS")

    def web_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.web_origins.split(",") if o.strip()]

    def operator_token_list(self) -> list[str]:
        found = [t.strip() for t in self.operator_tokens.split(",")]
        if self.operator_token_file:
            found += [t.strip() for t in Path(self.operator_token_file).read_text().splitlines()]
        return [t for t in found if t]
