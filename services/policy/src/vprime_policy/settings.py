from vprime_shared.settings import PlanCacheMode, ServiceSettings


class PolicySettings(ServiceSettings):
    service_name: str = "policy"
    pg_plan_cache_mode: PlanCacheMode = "force_generic_plan"  # its batch read costs more to plan than to run (`db.create_pool`)
    # A signal can overtake the registry event of a deployment created just before it (different
    # topics). For an agent policy has never seen a deployment of, wait this long before deciding
    # "no deployment".
    registry_grace_s: float = 5.0
    # An approved intent counts against the limits until its position opens, or for this long
    # (routing found no venue, or the venue refused the order).
    pending_entry_ttl_s: float = 120.0
    # Equity assumed for loss limits before the first position reports the account's equity.
    default_equity_usd: float = 10_000.0
