from pathlib import Path

from vprime_shared.reference import VENUE_MARKETS as SHIPPED_CATALOG
from vprime_shared.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    service_name: str = "router"
    # The venue market catalog routing starts from (venue symbols, canonical ids, leverage, flags).
    market_catalog_path: Path = SHIPPED_CATALOG
