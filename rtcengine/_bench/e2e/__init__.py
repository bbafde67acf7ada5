"""End-to-end data-channel benchmark: ``rtcengine bench`` (issue 6).

Two worker processes per engine, an offerer and an answerer, connect over
loopback through the engine's W3C API and run a workload; the parent relays
their offer/answer over a small TCP control connection, collects their JSON
reports and prints every engine side by side, with the rtcengine/aiortc ratio.

- :mod:`.peer` is the worker program (``python -m rtcengine._bench.e2e.peer``);
- :mod:`.workloads` holds the workloads (connect, bulk, 100-byte messages) and
  the API surface they use;
- :mod:`.runner` is the parent: sessions, timeouts, alternation, the table;
- :mod:`.control` is the JSON-lines framing both ends speak.

The engine is a module name: ``aiortc`` or ``rtcengine`` (the same API), or
any module exporting ``RTCPeerConnection``, ``RTCSessionDescription`` and
``RTCConfiguration`` — which is how the tests plug in engines that crash or hang.
"""

from __future__ import annotations
