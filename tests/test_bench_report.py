"""The bench's summary across runs: each rate's figures as min/median/max over the runs' streams."""

from __future__ import annotations

from vprime_local import bench


def stream(p99_ms: float, busy_pct: float) -> dict:
    """One run's stream at a rate, as `Bench.stream` reports it (the parts the summary reads)."""
    return {"end_to_end": {"p50_ms": p99_ms / 4, "p95_ms": p99_ms / 2, "p99_ms": p99_ms}, "completed_intents_per_s": 599.0,
            "drain_s": 0.02, "lag_growth_s_per_s": 0.0, "sustained": True, "stages": {"policy": {"p50_ms": 8.0}},
            "database": {"checkpoints": 0, "autovacuums": 0, "autovacuum_s": 0.0, "wal_kb_per_intent": 18.0, "wal_segments_created": 0},
            "machine_speed": {"samples": 50, "p50_us": 900.0, "stolen_pct": 0.1, "busy_pct": busy_pct},
            "cpu": {"router": {"cpu_s": 1.0, "cores": 0.3, "ms_per_intent": 0.5}}}


def bare() -> dict:
    return {"end_to_end": {"p50_ms": 10.0, "p99_ms": 15.0}, "completed_per_s": 599.5, "saturated": True,
            "offered_signals_per_s": 12000.0, "latencies_s": [0.01] * 100}


def test_each_rate_says_how_busy_the_machine_was_across_the_runs_beside_its_latency() -> None:
    runs = [{"rates": [stream(p99, busy)], "ceiling": [bare(), bare()], "stop_reaction": {"p99_ms": 20.0}}
            for p99, busy in ((552.0, 93.9), (1285.0, 84.3), (248.0, 85.0))]
    [row] = bench._aggregate(runs, [200.0], fan_out=3, seconds=20.0)["table"]
    assert row["machine_busy_pct"] == {"min": 84.3, "median": 85.0, "max": 93.9}
    assert row["p99_ms"] == {"min": 248.0, "median": 552.0, "max": 1285.0}
    assert row["machine_stolen_pct"]["median"] == 0.1


def test_a_spread_prints_as_its_median_then_min_to_max() -> None:
    assert bench._spread({"min": 84.3, "median": 85.0, "max": 93.9}) == "85 (84.3–93.9)"
    assert bench._spread({"min": 0.0, "median": 0.05, "max": 0.1}, " %") == "0.05 % (0–0.1)"
