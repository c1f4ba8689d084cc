from vprime_shared.settings import ServiceSettings


class SignalSettings(ServiceSettings):
    service_name: str = "signal"
    # Evidence older than the window is ignored; within it, it halves every half-life.
    window_minutes: float = 240.0
    half_life_minutes: float = 60.0
    # Ticks per instrument kept for momentum and volatility.
    tick_history: int = 50
