from pathlib import Path
from typing import Literal

from pydantic import Field

from vprime_shared.settings import ServiceSettings


class QuerySettings(ServiceSettings):
    service_name: str = "query"
    stream_max_per_client: int = Field(default=4, ge=1)  # open decision streams per client address; more: 429
    stream_max_clients: int = Field(default=200, ge=1)  # open decision streams in all; more: 429
    # `token`: a signal's timeline, the routing history, the signal list and the live stream need a control token and
    # show a wallet its own deployments and agents (vprime_query.access); aggregates stay public.
    read_access: Literal["public", "token"] = "public"
    control_url: str = "http://127.0.0.1:8000"  # where tokens are checked (GET /api/v3/auth/me)
    token_cache_s: float = Field(default=30.0, ge=0)  # how long control's answer for a token is kept
    # Where browsers reach control's API (the web app's writes and sign-in); CONTROL_URL when left out. Control must
    # list this service's address in its WEB_ORIGINS.
    web_control_url: str = ""
    # The web app's vendored browser libraries (`npm ci` in services/query/web, run by `make install`).
    web_vendor_dir: str = str(Path(__file__).resolve().parents[2] / "web" / "node_modules")
