"""Fixtures of the browser interop tests.

One event loop and one Chromium per test module (launching a browser costs ~2 s and the CI
box has two cores); each test makes its own RTCPeerConnection on both sides.  Tests are plain
functions that call ``run(coroutine_function)``, which runs on that module loop, because the
browser's Playwright connection lives on the loop that started it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.interop.browser import Browser, chromium_missing, launch_browser

T = TypeVar("T")


async def _cancel_leftover_tasks() -> None:
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


@pytest.fixture(scope="module")
def interop_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        # Engines may leave background tasks behind after close() (aioice's consent checks
        # do): cancel and reap them so the loop closes quietly.
        loop.run_until_complete(_cancel_leftover_tasks())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture(scope="module")
def browser(
    interop_loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    reason = chromium_missing()
    if reason is not None:
        pytest.skip(reason)
    profile: Path = tmp_path_factory.mktemp("chromium-profile")
    manager = launch_browser(profile)
    instance = interop_loop.run_until_complete(manager.__aenter__())
    try:
        yield instance
    finally:
        interop_loop.run_until_complete(manager.__aexit__(None, None, None))


@pytest.fixture
def run(interop_loop: asyncio.AbstractEventLoop) -> Callable[..., object]:
    """``run(fn, timeout=30)``: await ``fn()`` on the module loop, bounded by ``timeout``."""

    def runner(fn: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        return interop_loop.run_until_complete(asyncio.wait_for(fn(), timeout))

    return runner
