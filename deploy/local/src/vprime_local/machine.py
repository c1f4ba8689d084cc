"""What one exchange between two processes costs on this machine: the unit every hop of Vprime pays many times
(a statement to PostgreSQL and its answer, a request to Kafka and its response, a record handed to the next service).

A process sends a small message over a loopback TCP connection and waits for the answer, as a service waits on its
database: once with the two processes on one CPU, once on two. On a virtual machine, waking a process on another
CPU can cost far more than the message itself (an inter-processor interrupt leaves the guest), so `make bench`
reports both beside its figures.

And how fast the machine runs at all, while the bench runs (`SpeedProbe`): on a virtual machine the same instructions
take longer when the host is busier, whatever the guest does; and how much of the time the guest's CPUs were ready to
run, the host ran something else instead (`stolen`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

ECHO = """
import os, socket, sys, time
cpu, port, warm, counted = (int(a) for a in sys.argv[1:5])
if cpu >= 0:
    os.sched_setaffinity(0, {cpu})
c = socket.create_connection(("127.0.0.1", port))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(warm):
    c.sendall(c.recv(1))
started = time.process_time()
for _ in range(counted):
    c.sendall(c.recv(1))
c.sendall(f"{time.process_time() - started}".encode())
"""
SPEED_PROBE = """
import os, sys, time

def work(iterations):  # in a function: its names are locals, as in the services' code
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total

path, interval, iterations = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
parent = os.getppid()
with open(path, "w", buffering=1) as out:
    while os.getppid() == parent:  # a bench that is killed takes its probe with it
        started = time.thread_time()
        work(iterations)
        out.write(f"{time.monotonic():.3f} {(time.thread_time() - started) * 1e6:.0f}\\n")
        time.sleep(interval)
"""
MESSAGE = b"x"  # one byte: it cannot arrive in pieces, so each receive is one whole message


def round_trip(own_cpu: int, peer_cpu: int, n: int = 5000) -> dict[str, float]:
    """`n` round trips between this thread (on `own_cpu`) and an echo process (on `peer_cpu`): wall time and the CPU
    both sides spent, per round trip, in microseconds. Run it in a thread of its own: it pins the calling thread."""
    warm = min(n // 10, 200)  # the first answers come before either side's code is warm: not counted
    counted = n - warm

    def exchange(conn: socket.socket, times: int) -> None:
        for _ in range(times):
            conn.sendall(MESSAGE)
            conn.recv(1)

    before = os.sched_getaffinity(0)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        peer = subprocess.Popen([sys.executable, "-c", ECHO, str(peer_cpu), str(server.getsockname()[1]), str(warm), str(counted)])
        try:
            os.sched_setaffinity(0, {own_cpu})
            conn, _ = server.accept()
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                exchange(conn, warm)
                started, cpu = time.perf_counter(), time.thread_time()
                exchange(conn, counted)
                wall, own = time.perf_counter() - started, time.thread_time() - cpu
                peer_cpu_s = float(b"".join(iter(lambda: conn.recv(64), b"")).decode())  # until the echo closes
        finally:
            os.sched_setaffinity(0, before)
            peer.wait(timeout=30)
    return {"round_trip_us": round(wall / counted * 1e6, 1), "cpu_us": round((own + peer_cpu_s) / counted * 1e6, 1)}


def exchange_costs(n: int = 5000) -> dict[str, Any]:
    """A round trip between two processes on one CPU and, where there are two, across two; plus the facts about the
    CPUs' idle handling that decide the second (a halted CPU must be woken)."""
    cpus = sorted(os.sched_getaffinity(0))
    costs: dict[str, Any] = {"one_cpu": round_trip(cpus[0], cpus[0], n)}
    if len(cpus) > 1:
        costs["two_cpus"] = round_trip(cpus[0], cpus[1], n)
    costs["cpuidle"] = _cpuidle()
    return costs


def _cpuidle() -> dict[str, str]:
    facts = {}
    for name, path in (("driver", "/sys/devices/system/cpu/cpuidle/current_driver"),
                       ("guest_halt_poll_ns", "/sys/module/haltpoll/parameters/guest_halt_poll_ns")):
        try:
            facts[name] = Path(path).read_text().strip()
        except OSError:
            continue
    return facts


def describe(costs: dict[str, Any]) -> str:
    one = costs["one_cpu"]
    text = f"a round trip between two processes: {one['round_trip_us']} µs ({one['cpu_us']} µs of CPU) on one CPU"
    if two := costs.get("two_cpus"):
        text += f", {two['round_trip_us']} µs ({two['cpu_us']} µs of CPU) across two"
    return text


class CpuTimes(NamedTuple):
    """The machine's CPU time so far, all CPUs together, in ticks (`/proc/stat`)."""

    steal: int  # taken by the host while the guest had work to run
    idle: int  # with nothing to run (idle and iowait)
    total: int  # every tick counted (guest time is inside user time)


def cpu_times(stat: str | None = None) -> CpuTimes:
    """The machine's `CpuTimes` from `/proc/stat` (or its text, `stat`)."""
    if stat is None:
        try:
            stat = Path("/proc/stat").read_text()
        except OSError:  # not Linux: nothing is known of it
            return CpuTimes(0, 0, 0)
    fields = [int(v) for v in stat.split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice]: the first eight add up to the whole
    fields += [0] * (8 - len(fields))
    return CpuTimes(steal=fields[7], idle=fields[3] + fields[4], total=sum(fields[:8]))


def stolen(before: CpuTimes, after: CpuTimes) -> float | None:
    """The share (%) of the machine's CPU time between two `cpu_times` that the host took (None: no time counted)."""
    total = after.total - before.total
    return round(100 * (after.steal - before.steal) / total, 2) if total > 0 else None


def busy(before: CpuTimes, after: CpuTimes) -> float | None:
    """The share (%) of the machine's CPU time between two `cpu_times` in which its CPUs had work to run (everything on
    the machine, the bench and the host's steal included): how near saturation the machine ran (None: no time counted)."""
    total = after.total - before.total
    return round(100 * (1 - (after.idle - before.idle) / total), 1) if total > 0 else None


class SpeedProbe:
    """How long a fixed piece of pure-Python work takes on this machine, timed every `interval_s` by a process of its
    own for as long as the probe runs (`with SpeedProbe(path) as probe:`), in CPU time: a wait for the CPU does not
    count, a slower CPU does. On a KVM guest the host's other load changes it: on an idle machine here, the same work
    took 850–950 µs in most seconds and 1,200–1,700 µs in others, so two streams of the same code can differ by
    what the machine was doing, not by what the stack did. The bench reports it for each stream (`between`).

    It costs the machine its work once every `interval_s`: about 0.5 % of one CPU at the defaults."""

    def __init__(self, path: Path, interval_s: float = 0.2, iterations: int = 20_000) -> None:
        self.path, self.interval_s, self.iterations = path, interval_s, iterations
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SpeedProbe:
        self.path.unlink(missing_ok=True)
        self.process = subprocess.Popen([sys.executable, "-c", SPEED_PROBE, str(self.path), str(self.interval_s),
                                         str(self.iterations)])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def between(self, since: float, until: float) -> dict[str, Any]:
        """The work's time in the samples taken between two readings of `time.monotonic()`: p10, p50, p90 (µs)."""
        samples = []
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                at, _, took = line.partition(" ")
                if took and since <= float(at) <= until:
                    samples.append(float(took))
        if not samples:
            return {"samples": 0}
        samples.sort()

        def quantile(q: float) -> float:
            return samples[min(int(q * len(samples)), len(samples) - 1)]

        return {"samples": len(samples), "p10_us": quantile(0.1), "p50_us": quantile(0.5), "p90_us": quantile(0.9)}
