"""The parent of ``rtcengine bench``: sessions, alternation, ratios, the table.

A *session* is one workload run by one engine: the parent listens on an
ephemeral 127.0.0.1 port, starts two workers (``peer.py``, offerer and
answerer, each in its own process group), relays their ``signal`` messages,
and collects their two reports.  Everything is bounded: a session that does not
finish within its workload's budget, a worker that exits or reports an error,
or a control connection that closes early ends the session as failed with the
reason, and both workers' process groups are killed and reaped before the next
session starts.

For each workload the engines take turns (rtcengine, aiortc, then aiortc,
rtcengine on the next repeat or workload) so load on a shared machine hits
both alike; figures are medians over repeats.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from rtcengine._bench.e2e.control import LINE_LIMIT, ControlConnection, ControlError, Message
from rtcengine._bench.e2e.workloads import (
    ANSWERER,
    OFFERER,
    ROLES,
    WORKLOADS,
    Params,
    Report,
    WorkloadError,
    WorkloadSpec,
)

PEER_MODULE = "rtcengine._bench.e2e.peer"
SCHEMA = "rtcengine.bench.e2e/1"
STARTUP_TIMEOUT_S = 30.0
EXIT_GRACE_S = 5.0

Progress = Callable[[str], None]


# --- one session ---------------------------------------------------------------------------


@dataclass
class SessionOutcome:
    """One engine running one workload once."""

    engine: str
    workload: str
    ok: bool
    seconds: float
    reports: dict[str, Report] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    # "import" when the worker could not load the engine, "unimplemented" when
    # the engine raised NotImplementedError: the engine is unavailable (no point
    # going on with it), which is not a failure of the run.
    phase: str = ""
    pids: list[int] = field(default_factory=list)

    @property
    def unavailable(self) -> bool:
        return self.phase in ("import", "unimplemented")

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "workload": self.workload,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "metrics": self.metrics,
            "reports": self.reports,
        }


def _stderr_tail(file: IO[bytes], lines: int = 3, width: int = 300) -> str:
    try:
        file.flush()
        file.seek(0)
        text = file.read().decode(errors="replace")
    except (OSError, ValueError):
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-width:]


class _Session:
    def __init__(self, engine: str, spec: WorkloadSpec, params: Params, budget_s: float) -> None:
        self.engine = engine
        self.spec = spec
        self.params = params
        self.budget_s = budget_s
        self.conns: dict[str, ControlConnection] = {}
        self.pids: dict[str, int] = {}
        self.reports: dict[str, Report] = {}
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.stderr: dict[str, IO[bytes]] = {}
        self.connected = asyncio.Event()
        self.settled = asyncio.Event()
        self.failure = ""
        self.failed_role = ""
        self.phase = ""
        self.last = "nothing yet"
        self.tasks: set[asyncio.Task[None]] = set()

    # -- failure and progress bookkeeping

    def fail(self, reason: str, role: str = "", phase: str = "") -> None:
        if not self.failure:
            self.failure = reason
            self.failed_role = role
            self.phase = phase
        self.settled.set()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- control connections

    async def on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = ControlConnection(reader, writer)
        try:
            hello = await asyncio.wait_for(conn.recv(), STARTUP_TIMEOUT_S)
        except (TimeoutError, ControlError):
            conn.close()
            return
        role = hello.get("role") if hello is not None and hello["type"] == "hello" else None
        if role not in ROLES or role in self.conns:
            conn.close()
            return
        self.conns[role] = conn
        assert hello is not None
        self.pids[role] = int(hello.get("pid", 0))
        if len(self.conns) == len(ROLES):
            self.connected.set()
        await self._pump(role, conn)

    async def _pump(self, role: str, conn: ControlConnection) -> None:
        other = ANSWERER if role == OFFERER else OFFERER
        while True:
            try:
                message = await conn.recv()
            except ControlError as exc:
                self.fail(f"{role}: {exc}", role)
                return
            if message is None:
                if role not in self.reports and not self.settled.is_set():
                    # A closed connection usually means the worker is exiting:
                    # give it a moment so the reason can carry its exit code.
                    proc = self.procs.get(role)
                    if proc is not None:
                        await self._reap_one(proc, 0.5)
                    if proc is not None and proc.returncode is not None:
                        self.fail(f"{role} exited with code {proc.returncode} before "
                                  "reporting", role)
                    else:
                        self.fail(f"{role} closed its control connection", role)
                return
            kind = message["type"]
            if kind == "signal":
                data = message.get("data")
                step = data.get("kind") if isinstance(data, dict) else None
                self.last = f"{role} sent {step!r}"
                peer = self.conns.get(other)
                if peer is None:
                    self.fail(f"{role} signalled before {other} connected", role)
                    return
                try:
                    await peer.send(message)
                except (ConnectionError, RuntimeError) as exc:
                    self.fail(f"relaying to {other}: {exc}", other)
                    return
            elif kind == "result":
                report = message.get("report")
                self.reports[role] = report if isinstance(report, dict) else {}
                self.last = f"{role} reported"
                if len(self.reports) == len(ROLES):
                    self.settled.set()
            elif kind == "error":
                self.fail(
                    f"{role}: {message.get('reason', 'unknown error')}",
                    role,
                    str(message.get("phase", "")),
                )

    async def _watch(self, role: str, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if role not in self.reports and not self.settled.is_set():
            # Let a final "error" message that is still in flight win the race.
            await asyncio.sleep(0.2)
            self.fail(f"{role} exited with code {code} before reporting", role)

    # -- the session

    async def run(self, python: str) -> SessionOutcome:
        t0 = time.perf_counter()
        server = await asyncio.start_server(
            self.on_connect, "127.0.0.1", 0, limit=LINE_LIMIT
        )
        port = server.sockets[0].getsockname()[1]
        try:
            for role in ROLES:
                self.stderr[role] = tempfile.TemporaryFile()
                self.procs[role] = await asyncio.create_subprocess_exec(
                    python, "-m", PEER_MODULE,
                    "--engine", self.engine,
                    "--role", role,
                    "--signal", f"127.0.0.1:{port}",
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=self.stderr[role],
                    start_new_session=True,
                )
                self._spawn(self._watch(role, self.procs[role]))
            await self._until(self.connected, STARTUP_TIMEOUT_S, "workers did not connect")
            if not self.failure:
                request: Message = {
                    "type": "run", "workload": self.spec.kind, "params": self.params
                }
                for conn in self.conns.values():
                    await conn.send(request)
                remaining = self.budget_s - (time.perf_counter() - t0)
                await self._until(self.settled, max(remaining, 1.0), "no result")
            if not self.failure:
                for conn in self.conns.values():
                    try:
                        await conn.send({"type": "exit"})
                    except (ConnectionError, RuntimeError):
                        pass
                await self._reap(EXIT_GRACE_S)
        except (OSError, ConnectionError) as exc:
            self.fail(f"parent: {type(exc).__name__}: {exc}")
        finally:
            await self._reap(0.5 if self.failure else 0.0)
            self._kill()
            await self._reap(EXIT_GRACE_S)
            for task in list(self.tasks):
                task.cancel()
            for conn in self.conns.values():
                conn.close()
            server.close()
            await server.wait_closed()
        outcome = SessionOutcome(
            engine=self.engine,
            workload=self.spec.name,
            ok=not self.failure,
            seconds=time.perf_counter() - t0,
            reports=self.reports,
            reason=self._full_reason(),
            phase=self.phase,
            pids=[p.pid for p in self.procs.values()],
        )
        for file in self.stderr.values():
            file.close()
        if outcome.ok:
            try:
                outcome.metrics = self.spec.metrics(self.reports)
            except (WorkloadError, KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
                outcome.ok = False
                outcome.reason = f"unusable reports: {type(exc).__name__}: {exc}"
        return outcome

    async def _until(self, event: asyncio.Event, timeout: float, what: str) -> None:
        waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.settled.wait())}
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        if not event.is_set() and not self.failure:
            self.fail(f"timed out: {what} after {timeout:.0f} s (last: {self.last})")

    @staticmethod
    async def _reap_one(proc: asyncio.subprocess.Process, timeout: float) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), timeout)
        except TimeoutError:
            pass

    async def _reap(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the workers to exit."""
        waits = [asyncio.ensure_future(p.wait()) for p in self.procs.values()
                 if p.returncode is None]
        if waits and timeout > 0:
            await asyncio.wait(waits, timeout=timeout)
        for task in waits:
            task.cancel()

    def _kill(self) -> None:
        """SIGKILL the process group of every worker that has not exited."""
        for proc in self.procs.values():
            if proc.returncode is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def _full_reason(self) -> str:
        if not self.failure:
            return ""
        reason = self.failure
        role = self.failed_role
        if role in self.procs and self.phase == "":
            code = self.procs[role].returncode
            tail = _stderr_tail(self.stderr[role])
            if code is not None and "exited" not in reason:
                reason += f" (exit code {code})"
            if tail:
                reason += f"; stderr: {tail}"
        return reason


async def run_session(
    engine: str,
    spec: WorkloadSpec,
    params: Params,
    *,
    budget_s: float | None = None,
    python: str = sys.executable,
) -> SessionOutcome:
    """Run ``spec`` once with ``engine`` on both sides; never raises for the
    engine's failures, never leaves a worker running."""
    budget = spec.budget_s(params) if budget_s is None else budget_s
    return await _Session(engine, spec, params, budget).run(python)


# --- engines -------------------------------------------------------------------------------


@dataclass
class EngineStatus:
    name: str
    available: bool
    note: str = ""
    version: str = ""


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def engine_status(name: str) -> EngineStatus:
    """Whether ``name`` can run, as far as the parent can tell without importing
    a third-party engine.  rtcengine is checked here (the parent has it
    imported already); aiortc by whether it is installed; any other module is
    left to the workers, whose import error marks it unavailable."""
    if name == "rtcengine":
        import rtcengine

        if not hasattr(rtcengine, "RTCPeerConnection"):
            return EngineStatus(name, False, "RTCPeerConnection not available yet",
                                rtcengine.__version__)
        return EngineStatus(name, True, "", rtcengine.__version__)
    if name == "aiortc" and importlib.util.find_spec(name) is None:
        return EngineStatus(name, False, "not installed")
    return EngineStatus(name, True, "", _version(name))


def default_engines() -> list[str]:
    """rtcengine, and aiortc when it is installed."""
    engines = ["rtcengine"]
    if importlib.util.find_spec("aiortc") is not None:
        engines.append("aiortc")
    return engines


# --- the rows of the table -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    workload: str  # "" for figures over every workload (peak RSS)
    metric: str
    title: str
    unit: str
    higher_is_better: bool
    # rtcengine / aiortc must be ≥ this (higher is better) or ≤ it (lower is better).
    target_ratio: float | None = None
    target_text: str = ""
    # rtcengine's own value must be below this (loss).
    limit: float | None = None


ROWS: list[Row] = [
    Row("connect_ms", "connect", "connect_ms", "connect: createOffer → channel open (median)",
        "ms", False, 0.5, "≤ ½ aiortc's time"),
    Row("bulk_mb_s", "bulk", "mb_s", "bulk: 64 KiB messages, reliable ordered",
        "MB/s", True, 10.0, "≥ 10× (aim ≥ 200 MB/s)"),
    Row("bulk_cpu", "bulk", "cpu_s_per_mb", "bulk: CPU per MB moved (both processes)",
        "s/MB", False),
    Row("small_reliable_msgs", "small_reliable", "msgs_s", "100 B messages, reliable ordered",
        "msgs/s", True, 20.0, "≥ 20×"),
    Row("small_reliable_cpu", "small_reliable", "cpu_s_per_mb",
        "100 B reliable: CPU per MB moved (both processes)", "s/MB", False),
    Row("small_unordered_msgs", "small_unordered", "msgs_s",
        "100 B messages, unordered, maxRetransmits=0", "msgs/s", True, 20.0, "≥ 20×"),
    Row("small_unordered_loss", "small_unordered", "loss",
        "100 B unordered: loss (1 − received/sent)", "%", False, None, "< 1 %", 0.01),
    Row("small_unordered_cpu", "small_unordered", "cpu_s_per_mb",
        "100 B unordered: CPU per MB moved (both processes)", "s/MB", False),
    Row("peak_rss", "", "peak_rss_mib", "peak RSS (larger of the two processes)",
        "MiB", False),
]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "msgs/s":
        return f"{value / 1000:.2f} k/s" if value >= 1000 else f"{value:.0f}/s"
    if unit == "%":
        return f"{value * 100:.2f} %"
    if unit == "s/MB":
        return f"{value:.3f} s/MB"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "MB/s":
        return f"{value:.1f} MB/s"
    return f"{value:.0f} {unit}"


# --- the whole run -------------------------------------------------------------------------


@dataclass
class BenchResult:
    quick: bool
    engines: list[EngineStatus]
    sessions: list[SessionOutcome]
    rows: list[dict[str, Any]]
    seconds: float

    @property
    def ok(self) -> bool:
        """No session failed, except for an engine that cannot be loaded or
        raised NotImplementedError (reported as unavailable instead)."""
        return all(s.ok or s.unavailable for s in self.sessions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "quick": self.quick,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "engines": [
                {"name": e.name, "available": e.available, "note": e.note, "version": e.version}
                for e in self.engines
            ],
            "rows": self.rows,
            "sessions": [s.to_dict() for s in self.sessions],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def _median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _build_rows(
    engines: list[EngineStatus], sessions: list[SessionOutcome], workloads: list[str]
) -> list[dict[str, Any]]:
    status_of = {e.name: e for e in engines}
    rows: list[dict[str, Any]] = []
    for row in ROWS:
        if row.workload and row.workload not in workloads:
            continue
        values: dict[str, float | None] = {}
        notes: dict[str, str] = {}
        for engine in engines:
            mine = [s for s in sessions if s.engine == engine.name
                    and (not row.workload or s.workload == row.workload)]
            good = [s for s in mine if s.ok]
            if row.metric == "peak_rss_mib":
                samples = [max(s.metrics["rss_offerer_mib"], s.metrics["rss_answerer_mib"])
                           for s in good]
                values[engine.name] = max(samples) if samples else None
            else:
                values[engine.name] = _median_or_none(
                    [s.metrics[row.metric] for s in good if row.metric in s.metrics]
                )
            failed = [s for s in mine if not s.ok and not s.unavailable]
            unimplemented = [s for s in mine if s.unavailable]
            if not status_of[engine.name].available:
                notes[engine.name] = status_of[engine.name].note
            elif failed and not good:
                notes[engine.name] = f"failed: {failed[0].reason}"
            elif failed:
                notes[engine.name] = f"{len(failed)} of {len(mine)} runs failed: {failed[0].reason}"
            elif unimplemented and not good:
                notes[engine.name] = f"not implemented yet: {unimplemented[0].reason}"
            elif not mine:
                notes[engine.name] = "not run"
        ours, theirs = values.get("rtcengine"), values.get("aiortc")
        ratio = ours / theirs if ours is not None and theirs else None
        meets: bool | None = None
        if ratio is not None and row.target_ratio is not None:
            meets = ratio >= row.target_ratio if row.higher_is_better else ratio <= row.target_ratio
        if row.limit is not None and ours is not None:
            meets = ours < row.limit
        rows.append({
            "key": row.key,
            "workload": row.workload,
            "metric": row.metric,
            "title": row.title,
            "unit": row.unit,
            "better": "higher" if row.higher_is_better else "lower",
            "target": row.target_text,
            "target_ratio": row.target_ratio,
            "values": values,
            "notes": notes,
            "ratio": ratio,
            "meets_target": meets,
        })
    return rows


def _headline(spec: WorkloadSpec, outcome: SessionOutcome) -> str:
    if outcome.unavailable:
        return f"unavailable: {outcome.reason}"
    if not outcome.ok:
        return f"failed: {outcome.reason}"
    m = outcome.metrics
    if spec.kind == "connect":
        return f"{m['connect_ms']:.1f} ms"
    if int(spec.quick.get("size", 0)) >= 1024:
        text = f"{m['mb_s']:.1f} MB/s"
    else:
        text = f"{m['msgs_s'] / 1000:.2f} k msgs/s"
    if m.get("loss"):
        text += f", loss {m['loss'] * 100:.2f} %"
    return text


async def run_bench_async(
    engines: list[str],
    *,
    quick: bool = False,
    workloads: list[str] | None = None,
    repeats: int | None = None,
    progress: Progress | None = None,
    params_override: dict[str, Any] | None = None,
    python: str = sys.executable,
) -> BenchResult:
    """Run every selected workload with every available engine, alternating."""
    t0 = time.perf_counter()
    statuses = [engine_status(name) for name in engines]
    specs = [w for w in WORKLOADS if workloads is None or w.name in workloads]
    reps = repeats if repeats is not None else (1 if quick else 3)
    runnable = [s.name for s in statuses if s.available]
    total = len(specs) * reps * len(runnable)
    sessions: list[SessionOutcome] = []
    skip: set[tuple[str, str]] = set()
    done = 0
    for wi, spec in enumerate(specs):
        params = spec.params(quick)
        params.update(params_override or {})
        for rep in range(reps):
            order = runnable if (wi + rep) % 2 == 0 else runnable[::-1]
            for name in order:
                status = next(s for s in statuses if s.name == name)
                done += 1
                # The engine failed to load, or said it cannot run this workload.
                if not status.available or (name, spec.name) in skip:
                    continue
                if progress:
                    progress(f"[{done}/{total}] {name:<10} {spec.title} … ")
                outcome = await run_session(name, spec, params, python=python)
                sessions.append(outcome)
                if progress:
                    progress(f"{_headline(spec, outcome)} ({outcome.seconds:.1f} s)\n")
                if outcome.phase == "import":
                    status.available = False
                    status.note = outcome.reason
                elif outcome.unavailable:
                    skip.add((name, spec.name))
    rows = _build_rows(statuses, sessions, [w.name for w in specs])
    return BenchResult(quick, statuses, sessions, rows, time.perf_counter() - t0)


def run_bench(engines: list[str], **kwargs: Any) -> BenchResult:
    """Synchronous :func:`run_bench_async` (its own event loop)."""
    return asyncio.run(run_bench_async(engines, **kwargs))


def render_table(result: BenchResult) -> str:
    """The Markdown results table, one column per engine, ratio and target."""
    names = [e.name for e in result.engines]
    has_ratio = "rtcengine" in names and "aiortc" in names
    header = ["workload", *names]
    if has_ratio:
        header.append("rtcengine / aiortc")
    header.append("target")
    lines = ["| " + " | ".join(header) + " |",
             "|---|" + "---:|" * (len(header) - 2) + "---|"]
    status_cells = []
    for e in result.engines:
        status_cells.append((e.version or "available") if e.available else f"**{e.note}**")
    lines.append("| engine | " + " | ".join(status_cells) + (" | |" if has_ratio else " |") + " |")
    for row in result.rows:
        cells = [row["title"]]
        for name in names:
            value = row["values"].get(name)
            note = row["notes"].get(name, "")
            if value is None:
                cell = "n/a" if not next(e for e in result.engines if e.name == name).available \
                    else (note[:60] + "…" if len(note) > 60 else note) or "—"
            else:
                cell = _fmt(value, row["unit"])
                if note:
                    cell += " (some runs failed)"
            cells.append(cell)
        if has_ratio:
            ratio = row["ratio"]
            cells.append(f"{ratio:.2f}×" if ratio is not None else "—")
        target = row["target"]
        if row["meets_target"] is not None:
            target += " ✓" if row["meets_target"] else " ✗"
        cells.append(target)
        lines.append("| " + " | ".join(cells) + " |")
    notes = [
        "",
        "Rates are measured at the receiver from first to last arrival; MB = 10⁶ bytes; "
        "CPU is user + system time of both processes during the transfer; connect is timed "
        "by the offerer and includes both signaling hops over loopback TCP.",
    ]
    for e in result.engines:
        if not e.available:
            notes.append(f"- {e.name}: {e.note}")
    for s in result.sessions:
        if not s.ok and not s.unavailable:
            notes.append(f"- {s.engine} {s.workload}: failed: {s.reason}")
    lines.extend(notes)
    return "\n".join(lines)
