from pathlib import Path

from vprime_shared.settings import ServiceSettings

SHIPPED_CATALOG = Path(__file__).parent / "data" / "venue-markets.json"


class RouterSettings(ServiceSettings):
    service_name: str = "router"
    # The venue market catalog routing starts from (venue symbols, canonical ids, leverage, flags).
    market_catalog_path: Path = SHIPPED_CATALOG
