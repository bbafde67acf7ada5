"""Errors raised by rtcengine.

Parsers raise :class:`ParseError` (a :class:`ValueError`); API misuse raises
the error the W3C webrtc-pc specification names for it (a ``DOMException``
name in the browser, a Python class here).
"""

from rtcengine._core.buffer import ParseError


class RTCEngineError(Exception):
    """Base of the W3C-named errors."""


class InvalidStateError(RTCEngineError):
    """The object is in a state where the call is not allowed (webrtc-pc)."""


class InvalidAccessError(RTCEngineError):
    """The call is not supported or its arguments are inconsistent (webrtc-pc)."""


class InvalidModificationError(RTCEngineError):
    """The description modifies something that cannot be modified (webrtc-pc)."""


class OperationError(RTCEngineError):
    """The operation failed for a reason not covered by another error (webrtc-pc)."""


class InvalidSyntaxError(RTCEngineError, ValueError):
    """webrtc-pc's ``SyntaxError`` DOMException (a bad ICE server URL,
    §4.4.1.1); a ValueError too, as aiortc raises for a malformed URL.  Named
    so as not to shadow Python's builtin SyntaxError."""

    name = "SyntaxError"


__all__ = [
    "InvalidAccessError",
    "InvalidModificationError",
    "InvalidStateError",
    "InvalidSyntaxError",
    "OperationError",
    "ParseError",
    "RTCEngineError",
]
