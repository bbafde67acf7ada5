"""atheris target: DCEP message parse (RFC 8832) and re-marshal."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._core import dcep  # noqa: E402


def TestOneInput(data: bytes) -> None:
    try:
        msg = dcep.parse_message(data)
    except dcep.ParseError:
        return
    assert dcep.parse_message(msg.marshal()) == msg


def seeds() -> list[bytes]:
    import json

    path = Path(__file__).resolve().parents[1] / "tests/data/vectors/sctp/dcep.json"
    return [bytes.fromhex(e["hex"]) for e in json.loads(path.read_text())["examples"]]


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
