from vprime_shared.settings import ServiceSettings


class SignalSettings(ServiceSettings):
    service_name: str = "signal"
