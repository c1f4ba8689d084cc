from pydantic import Field

from vprime_shared.settings import ServiceSettings


class ControlSettings(ServiceSettings):
    service_name: str = "control"
    # Venue agent keys go from the deploy body straight to the executor, never through Kafka or control's schema.
    executor_url: str = "http://127.0.0.1:8005"
    internal_api_token: str = Field(default="", repr=False)
