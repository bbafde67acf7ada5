"""Interop tests against real external peers (headless Chromium; aiortc as the Python peer
until rtcengine's RTCPeerConnection lands).  See README.md."""
