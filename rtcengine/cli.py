"""The ``rtcengine`` command line (also ``python -m rtcengine``)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys


def _progress(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def _engines(values: list[str] | None) -> list[str]:
    """``--engine a --engine b`` or ``--engine a,b``, in order, without repeats."""
    from rtcengine._bench.e2e.runner import default_engines

    if not values:
        return default_engines()
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            if name.strip() and name.strip() not in names:
                names.append(name.strip())
    return names


def cmd_bench(args: argparse.Namespace) -> int:
    """``rtcengine bench``: the end-to-end data-channel benchmark (issue 6)."""
    from rtcengine._bench.e2e.runner import render_table, run_bench
    from rtcengine._bench.e2e.workloads import WORKLOADS

    engines = _engines(args.engine)
    known = [w.name for w in WORKLOADS]
    workloads = args.workload.split(",") if args.workload else known
    unknown = [w for w in workloads if w not in known]
    if unknown:
        print(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(known)}",
              file=sys.stderr)
        return 2
    if not args.json:
        _progress(f"rtcengine bench: {', '.join(engines)}; "
                  f"{'quick' if args.quick else 'full'} run, two processes per engine\n")
    try:
        result = run_bench(engines, quick=args.quick, workloads=workloads, progress=_progress)
    except KeyboardInterrupt:
        # The runner has killed the workers of the session it was in.
        print("\ninterrupted", file=sys.stderr)
        return 130
    if args.json:
        print(result.to_json())
    else:
        reps = "1 run" if args.quick else "median of 3 runs"
        print(f"\nrtcengine end-to-end data-channel benchmark — two processes per engine on "
              f"loopback; {platform.python_implementation()} {platform.python_version()}, "
              f"{platform.machine()}, {os.cpu_count()} CPUs; {reps} per engine, engines "
              f"alternating, in {result.seconds:.0f} s\n")
        print(render_table(result))
    return 0 if result.ok else 1


def cmd_bench_codecs(args: argparse.Namespace) -> int:
    """``rtcengine bench codecs``: the wire-codec table (ours and the baseline)."""
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


def cmd_demo(args: argparse.Namespace) -> int:
    """``rtcengine demo``: a page on http://127.0.0.1 where a browser connects
    to the engine (echo, live throughput and RTT from getStats())."""
    import asyncio

    from rtcengine.demo import serve

    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtcengine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser(
        "bench",
        help="end-to-end data-channel benchmark, rtcengine and aiortc in the same run",
        description="Two processes per engine on loopback: connect time, bulk 64 KiB, "
        "100-byte reliable and unordered messages, CPU per MB and peak RSS; the "
        "rtcengine/aiortc ratio next to the issue's targets. `bench codecs` times "
        "the wire codecs instead.",
    )
    bench.add_argument("--quick", action="store_true",
                       help="short runs, one per engine (about a minute in all)")
    bench.add_argument("--json", action="store_true", help="print results as JSON")
    bench.add_argument("--engine", action="append", metavar="NAME",
                       help="engine module(s) to run: rtcengine, aiortc (repeat or "
                       "comma-separate; default: rtcengine and aiortc when installed)")
    bench.add_argument("--workload", default="",
                       help="comma-separated: connect,bulk,small_reliable,small_unordered")
    bench.set_defaults(func=cmd_bench)
    bench_sub = bench.add_subparsers(dest="bench_command")
    codecs = bench_sub.add_parser(
        "codecs",
        help="time the wire codecs side by side with aiortc/aioice/pylibsrtp",
    )
    codecs.add_argument("--quick", action="store_true", help="short samples (~10 s in all)")
    codecs.add_argument("--json", action="store_true", help="print results as JSON")
    codecs.add_argument("--only", default="", help="comma-separated concerns, e.g. rtp,stun")
    codecs.set_defaults(func=cmd_bench_codecs)
    demo = sub.add_parser(
        "demo",
        help="serve a page where a browser connects to the engine (echo, live stats)",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to serve on")
    demo.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
