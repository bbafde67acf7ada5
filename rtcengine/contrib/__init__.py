"""Helpers outside the W3C API, as in ``aiortc.contrib``: signaling for
examples and tools (:mod:`rtcengine.contrib.signaling`)."""
