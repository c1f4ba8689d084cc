from pydantic import Field

from vprime_shared.settings import ServiceSettings


class QuerySettings(ServiceSettings):
    service_name: str = "query"
    stream_max_per_client: int = Field(default=4, ge=1)  # open decision streams per client address; more: 429
    stream_max_clients: int = Field(default=200, ge=1)  # open decision streams in all; more: 429
