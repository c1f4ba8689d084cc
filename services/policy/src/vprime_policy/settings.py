from vprime_shared.settings import ServiceSettings


class PolicySettings(ServiceSettings):
    service_name: str = "policy"
    # A signal can overtake the registry event of a deployment created just before it (different
    # topics). For an agent policy has never seen a deployment of, wait this long before deciding
    # "no active deployment".
    registry_grace_s: float = 5.0
