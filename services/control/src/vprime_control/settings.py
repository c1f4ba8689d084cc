from vprime_shared.settings import ServiceSettings


class ControlSettings(ServiceSettings):
    service_name: str = "control"
