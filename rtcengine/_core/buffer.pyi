"""Zero-copy input views, checked output windows and the ParseError base."""

class ParseError(ValueError):
    """Malformed wire data; every rtcengine parser raises a subclass of this."""

class InputView: ...
class OutputView: ...
