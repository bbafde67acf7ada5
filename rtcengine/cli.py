"""The ``rtcengine`` command line (also ``python -m rtcengine``)."""

from __future__ import annotations

import argparse
import json
import platform
import sys


def cmd_bench(args: argparse.Namespace) -> int:
    from rtcengine._bench import load_cases
    from rtcengine._bench.runner import render_table, run_case

    only = args.only.split(",") if args.only else None
    cases = load_cases(only)
    if not cases:
        print("no benchmark cases selected", file=sys.stderr)
        return 2
    seconds, repeats = (0.05, 3) if args.quick else (0.2, 5)
    results = []
    for i, case in enumerate(cases, 1):
        if not args.json:
            print(f"[{i}/{len(cases)}] {case.name} ...", file=sys.stderr, flush=True)
        results.append(run_case(case, seconds=seconds, repeats=repeats))
    if args.json:
        json.dump([r.to_dict() for r in results], sys.stdout, indent=2)
        print()
    else:
        print(f"\nrtcengine codec benchmarks — {platform.python_implementation()} "
              f"{platform.python_version()}, {platform.machine()}; median of {repeats} "
              "samples, ours and the baseline in the same run\n")
        print(render_table(results))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtcengine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser(
        "bench",
        help="time the wire codecs side by side with aiortc/aioice/pylibsrtp",
    )
    bench.add_argument("--quick", action="store_true", help="short samples (~10 s in all)")
    bench.add_argument("--json", action="store_true", help="print results as JSON")
    bench.add_argument("--only", default="", help="comma-separated concerns, e.g. rtp,stun")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
