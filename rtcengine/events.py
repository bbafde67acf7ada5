"""A small event emitter with aiortc's (pyee's) ``on()`` style.

``obj.on("open", f)`` or ``@obj.on("open")`` registers a handler; ``emit``
calls the handlers in registration order.  A handler that is a coroutine
function is scheduled on the running event loop (as pyee's
``AsyncIOEventEmitter`` does for aiortc), so code written for aiortc runs.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)


class EventEmitter:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

    @overload
    def on(self, event: str) -> Callable[[H], H]: ...
    @overload
    def on(self, event: str, f: H) -> H: ...
    def on(self, event: str, f: H | None = None) -> Any:
        """Register ``f`` for ``event``; without ``f``, return a decorator."""
        if f is None:
            def decorator(fn: H) -> H:
                self._handlers.setdefault(event, []).append(fn)
                return fn
            return decorator
        self._handlers.setdefault(event, []).append(f)
        return f

    @overload
    def once(self, event: str) -> Callable[[H], H]: ...
    @overload
    def once(self, event: str, f: H) -> H: ...
    def once(self, event: str, f: H | None = None) -> Any:
        """Like ``on`` but the handler runs at most once."""
        def register(fn: H) -> H:
            def wrapper(*args: Any) -> Any:
                self.remove_listener(event, wrapper)
                return fn(*args)
            self._handlers.setdefault(event, []).append(wrapper)
            return fn
        return register if f is None else register(f)

    def remove_listener(self, event: str, f: Handler) -> None:
        handlers = self._handlers.get(event)
        if handlers and f in handlers:
            handlers.remove(f)

    def remove_all_listeners(self, event: str | None = None) -> None:
        if event is None:
            self._handlers.clear()
        else:
            self._handlers.pop(event, None)

    def listeners(self, event: str) -> list[Handler]:
        return list(self._handlers.get(event, ()))

    def emit(self, event: str, *args: Any) -> bool:
        """Call the handlers of ``event``; True if there was one."""
        handlers = self._handlers.get(event)
        if not handlers:
            return False
        if len(handlers) == 1:  # the common case: no copy of the list
            result = handlers[0](*args)
            # Plain handlers return None: skip the (slow, ABC-based) check.
            if result is not None and inspect.isawaitable(result):
                self._schedule(result)
            return True
        for f in list(handlers):
            result = f(*args)
            if result is not None and inspect.isawaitable(result):
                self._schedule(result)
        return True

    def _schedule(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
