"""The bench's measure of this machine: what a round trip between two processes costs, on one CPU and across two."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from vprime_local import machine


def test_a_round_trip_is_timed_on_the_cpus_asked_for_and_the_callers_cpus_are_given_back() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    one = machine.round_trip(cpus[0], cpus[0], n=1500)
    assert os.sched_getaffinity(0) == before
    assert 0 < one["round_trip_us"] < 100_000
    assert 0 < one["cpu_us"] < 100_000


def test_the_report_has_each_placement_the_machine_allows_and_says_so() -> None:
    costs = machine.exchange_costs(n=1500)
    text = machine.describe(costs)
    assert f"{costs['one_cpu']['round_trip_us']} µs" in text
    if len(os.sched_getaffinity(0)) > 1:
        assert costs["two_cpus"]["round_trip_us"] > 0
        assert f"{costs['two_cpus']['round_trip_us']} µs" in text
    else:
        assert "two_cpus" not in costs and "across" not in text


def test_the_speed_probe_reports_only_the_samples_taken_within_a_window_and_stops_with_its_block(tmp_path) -> None:
    import time

    with machine.SpeedProbe(tmp_path / "speed.txt", interval_s=0.05, iterations=2_000) as probe:
        before = time.monotonic()
        time.sleep(1.0)
        during = probe.between(before, time.monotonic())
        assert probe.between(before - 60, before - 30) == {"samples": 0}
    assert probe.process is not None and probe.process.poll() is not None
    assert during["samples"] >= 5
    assert 0 < during["p10_us"] <= during["p50_us"] <= during["p90_us"] < 1_000_000
    lines = (tmp_path / "speed.txt").read_text().splitlines()
    assert len(lines) >= during["samples"]  # every sample in the window was one the probe wrote


def test_the_speed_probe_ends_when_the_process_that_started_it_is_gone(tmp_path) -> None:
    starter = subprocess.run([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from vprime_local.machine import SpeedProbe; "
        f"p = SpeedProbe(Path({str(tmp_path / 'speed.txt')!r}), interval_s=0.05, iterations=1000).__enter__(); "
        "print(p.process.pid, flush=True); time.sleep(0.3)")],  # exits without stopping its probe, as a killed bench does
        capture_output=True, text=True, timeout=30, check=True)
    probe_pid = int(starter.stdout.split()[0])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(probe_pid):
        time.sleep(0.05)
    assert not _alive(probe_pid)
    assert (tmp_path / "speed.txt").read_text().strip()  # it did run while its starter lived


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie has ended, only not been waited for
    except FileNotFoundError:
        return False


STAT = """cpu  3874620 837 582251 3160608 65102 0 74839 16275 0 0
cpu0 1891899 378 269789 1670971 14870 0 30167 7980 0 0
"""


def test_the_time_the_host_took_is_read_from_the_machines_counters_and_shared_out_of_every_tick() -> None:
    times = machine.cpu_times(STAT)
    assert times == (16275, 3160608 + 65102, 3874620 + 837 + 582251 + 3160608 + 65102 + 0 + 74839 + 16275)
    later = machine.cpu_times(STAT.replace("16275", "16375").replace("3160608", "3161508"))  # 100 stolen of 1,000 more
    assert machine.stolen(times, later) == 10.0
    assert machine.stolen(later, later) is None  # no time between them: nothing to share out
    now = machine.cpu_times()
    assert now.total > 0 and 0 <= now.steal <= now.total and 0 <= now.idle <= now.total  # this machine's own


def test_how_busy_the_machine_was_is_the_share_of_its_cpus_time_not_idle_nor_waiting_for_io() -> None:
    before = machine.cpu_times(STAT)
    # 1,000 ticks more: 600 of user time, 300 idle, 100 waiting for I/O: busy 60 % of the time
    later = machine.cpu_times(STAT.replace("3874620", "3875220").replace("3160608", "3160908").replace("65102", "65202"))
    assert later.total - before.total == 1000
    assert machine.busy(before, later) == 60.0
    assert machine.busy(later, later) is None
    # a machine with every tick idle is not busy at all; with none idle, fully busy
    assert machine.busy(before, machine.cpu_times(STAT.replace("3160608", "3161608"))) == 0.0
    assert machine.busy(before, machine.cpu_times(STAT.replace("3874620", "3875620"))) == 100.0
