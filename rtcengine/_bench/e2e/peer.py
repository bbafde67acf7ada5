"""One side of an end-to-end benchmark session, run as its own process.

    python -m rtcengine._bench.e2e.peer --engine aiortc --role offerer \\
        --signal 127.0.0.1:PORT

The worker connects to the parent's control port, says ``hello``, imports the
engine, waits for ``run`` (workload kind and parameters), runs its half of the
workload — offer/answer and workload steps travel as ``signal`` messages the
parent relays to the other worker — and sends its ``result``: the workload's
figures plus the process's import time, CPU time and peak RSS.  Any exception
becomes an ``error`` message with the reason.  It then waits for ``exit``,
closes its peer connections and ends.  Every wait has a deadline, so a worker
whose engine hangs ends on its own even if nobody kills it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import time
import traceback
from typing import Any, NoReturn

from rtcengine._bench.e2e.control import ControlConnection, ControlError, Message
from rtcengine._bench.e2e.workloads import (
    ROLES,
    Engine,
    PeerConnection,
    WorkloadError,
    close_quietly,
    cpu_seconds,
    peak_rss_mib,
    run_workload,
)

# How long a worker waits for the parent's next control message.
CONTROL_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 30.0


class EngineUnavailable(Exception):
    """The engine module or one of its classes cannot be loaded."""


def load_engine(name: str) -> Engine:
    """Import engine module ``name`` and take its W3C classes."""
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise EngineUnavailable(f"{name}: cannot import: {exc}") from exc
    pc = getattr(module, "RTCPeerConnection", None)
    desc = getattr(module, "RTCSessionDescription", None)
    if pc is None:
        raise EngineUnavailable(f"{name}: RTCPeerConnection not available yet")
    if desc is None:
        raise EngineUnavailable(f"{name}: RTCSessionDescription not available yet")
    return Engine(
        name=name,
        peer_connection=pc,
        session_description=desc,
        configuration=getattr(module, "RTCConfiguration", None),
    )


class PeerLink:
    """The worker's end of the control connection.

    A reader task sorts incoming messages: ``signal`` data into a queue the
    workload reads with :meth:`expect`, ``run`` into a future, ``exit`` (or the
    parent closing the connection) into an event."""

    def __init__(self, conn: ControlConnection) -> None:
        self._conn = conn
        self._signals: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self._run: asyncio.Future[Message] = loop.create_future()
        self.exit = asyncio.Event()
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while True:
                message = await self._conn.recv()
                if message is None:
                    break
                kind = message["type"]
                if kind == "signal" and isinstance(message.get("data"), dict):
                    self._signals.put_nowait(message["data"])
                elif kind == "run" and not self._run.done():
                    self._run.set_result(message)
                elif kind == "exit":
                    self.exit.set()
        except ControlError:
            pass
        finally:
            self._signals.put_nowait(None)
            if not self._run.done():
                self._run.set_exception(WorkloadError("parent closed the control connection"))
            self.exit.set()

    async def send(self, message: Message) -> None:
        await self._conn.send(message)

    async def signal(self, data: dict[str, Any]) -> None:
        await self._conn.send({"type": "signal", "data": data})

    async def expect(self, kind: str, timeout: float) -> dict[str, Any]:
        """The next signal from the other worker, which must be ``kind``."""
        try:
            data = await asyncio.wait_for(self._signals.get(), timeout)
        except TimeoutError:
            raise WorkloadError(f"no {kind!r} from the other peer after {timeout:g} s") from None
        if data is None:
            self._signals.put_nowait(None)  # every later expect() fails the same way
            raise WorkloadError(f"control connection closed while waiting for {kind!r}")
        if data.get("kind") != kind:
            raise WorkloadError(f"expected {kind!r} from the other peer, got {data.get('kind')!r}")
        return data

    async def run_request(self, timeout: float) -> Message:
        try:
            return await asyncio.wait_for(asyncio.shield(self._run), timeout)
        except TimeoutError:
            raise WorkloadError(f"no 'run' from the parent after {timeout:g} s") from None

    def close(self) -> None:
        self._task.cancel()
        self._conn.close()


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, WorkloadError | EngineUnavailable):
        return text
    return f"{type(exc).__name__}: {text}"


async def amain(engine_name: str, role: str, host: str, port: int) -> int:
    conn = await ControlConnection.connect(host, port, CONTROL_TIMEOUT_S)
    link = PeerLink(conn)
    keep: list[PeerConnection] = []
    phase = "import"
    status = 1
    try:
        await link.send({"type": "hello", "role": role, "engine": engine_name, "pid": os.getpid()})
        t0 = time.perf_counter()
        engine = load_engine(engine_name)
        import_s = time.perf_counter() - t0
        phase = "run"
        request = await link.run_request(CONTROL_TIMEOUT_S)
        report = await run_workload(
            engine, role, str(request["workload"]), dict(request["params"]), link, keep
        )
        report.update(
            import_s=import_s,
            cpu_total_s=cpu_seconds(),
            peak_rss_mib=peak_rss_mib(),
            pid=os.getpid(),
        )
        await link.send({"type": "result", "role": role, "report": report})
        status = 0
    except Exception as exc:  # noqa: BLE001 - every failure is reported, then we exit
        if isinstance(exc, NotImplementedError):
            # The engine says it cannot do this yet: unavailable, not broken.
            phase = "unimplemented"
        try:
            await link.send(
                {
                    "type": "error",
                    "role": role,
                    "phase": phase,
                    "reason": _reason(exc),
                    "traceback": traceback.format_exc(limit=8),
                }
            )
        except (ConnectionError, RuntimeError):
            pass
        traceback.print_exc()
    try:
        await asyncio.wait_for(link.exit.wait(), EXIT_TIMEOUT_S)
    except TimeoutError:
        pass
    for pc in keep:
        await close_quietly(pc)
    link.close()
    return status


def main(argv: list[str] | None = None) -> NoReturn:
    parser = argparse.ArgumentParser(prog="python -m rtcengine._bench.e2e.peer")
    parser.add_argument("--engine", required=True, help="module: aiortc, rtcengine, ...")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--signal", required=True, metavar="HOST:PORT",
                        help="the parent's control address")
    args = parser.parse_args(argv)
    host, _, port = args.signal.rpartition(":")
    status = asyncio.run(amain(args.engine, args.role, host, int(port)))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: an engine's leftover threads or sockets must
    # not keep a finished worker alive.
    os._exit(status)


if __name__ == "__main__":
    main()
