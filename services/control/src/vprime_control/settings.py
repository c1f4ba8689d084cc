from pathlib import Path
from typing import Literal

from pydantic import Field

from vprime_shared.settings import ServiceSettings


class ControlSettings(ServiceSettings):
    """Control's settings. Authentication:

    | variable | meaning | default |
    |---|---|---|
    | `OPERATOR_TOKENS` / `OPERATOR_TOKEN_FILE` | comma-separated operator bearer tokens (or a file, one per line): may change anything | none |
    | `READ_ACCESS` | `public`: GET endpoints need no token; `token`: any valid token | `public` |
    | `SESSION_TTL_S` | lifetime of a session token from a wallet sign-in | `86400` |
    | `NONCE_TTL_S` | how long a sign-in message can be signed | `600` |
    | `SIGN_IN_DOMAIN` | the domain named in sign-in messages | the request's host |
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

    def operator_token_list(self) -> list[str]:
        found = [t.strip() for t in self.operator_tokens.split(",")]
        if self.operator_token_file:
            found += [t.strip() for t in Path(self.operator_token_file).read_text().splitlines()]
        return [t for t in found if t]
