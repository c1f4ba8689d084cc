from vprime_shared.settings import ServiceSettings


class QuerySettings(ServiceSettings):
    service_name: str = "query"
