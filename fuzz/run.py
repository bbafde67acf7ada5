"""Run the atheris targets in fuzz/ for a given time each and report what they did.

    python fuzz/run.py                    # every target, 30 s each
    python fuzz/run.py rtp stun --seconds 120
    python fuzz/run.py --json             # machine-readable summary on stdout
    python fuzz/run.py --artifacts /tmp/a # where crash/timeout/oom inputs go
    python fuzz/run.py rtp --replay crash-rtp-1234   # re-run a finding

Against the sanitizer build (``RTCENGINE_SANITIZE=address python setup.py
build_ext --inplace --force``, see fuzz/README.md) the ASan runtime must be
loaded first; this script sets ``LD_PRELOAD`` to gcc's ``libasan.so`` for a gcc
build, or to atheris' ``asan_with_fuzzer.so`` for a clang build (which also
carries libFuzzer coverage edges for the C code).  Each target runs in its own
process; a finding leaves its input in the artifacts directory
(``crash-<target>-*``, ``timeout-<target>-*``, ``oom-<target>-*``) and makes the
exit status non-zero.  The summary is a Markdown table: executions, coverage
(libFuzzer ``cov:`` edges and ``ft:`` features, C + Python) and findings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# A stuck input is a finding too (libFuzzer writes it as timeout-*).
INPUT_TIMEOUT_S = 30
RSS_LIMIT_MB = 4096


def targets() -> list[str]:
    return sorted(p.stem.removeprefix("fuzz_") for p in HERE.glob("fuzz_*.py"))


@dataclass
class Build:
    kind: str  # "clang", "gcc" or "plain"
    runtime: str | None  # the ASan runtime to preload

    @property
    def description(self) -> str:
        return {
            "clang": "clang ASan+UBSan, libFuzzer C edges + Python coverage",
            "gcc": "gcc ASan+UBSan, Python coverage only",
            "plain": "not sanitized (no ASan), Python coverage only",
        }[self.kind]


def detect_build(root: Path = ROOT) -> Build:
    """What the in-place extensions under ``root`` were built with.

    gcc builds link gcc's libasan (preload that one; atheris then sees Python
    coverage and ASan checks the C code); clang builds carry coverage edges and
    take the runtime from atheris' asan_with_fuzzer.so.
    """
    sos = sorted((root / "rtcengine" / "_core").glob("*.so"))
    if not sos:
        sys.exit(f"no built extensions under {root / 'rtcengine' / '_core'}: build first")
    ldd = subprocess.run(["ldd", str(sos[0])], capture_output=True, text=True).stdout
    if "libasan" in ldd:
        path = subprocess.run(
            ["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True
        ).stdout.strip()
        return Build("gcc", path if path and Path(path).exists() else None)
    nm = subprocess.run(["nm", "-D", str(sos[0])], capture_output=True, text=True).stdout
    if "__asan_" in nm:
        import atheris

        return Build("clang", str(Path(atheris.path()) / "asan_with_fuzzer.so"))
    return Build("plain", None)


def fuzz_env(build: Build) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    if build.runtime is None:
        return env
    env["LD_PRELOAD"] = build.runtime
    # Python's allocator confuses leak detection: detect memory errors, not leaks.
    # Any report stops the run (a finding), UBSan included.
    env.setdefault(
        "ASAN_OPTIONS",
        "detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:abort_on_error=0",
    )
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    return env


@dataclass
class Result:
    target: str
    ok: bool
    seconds: float
    executions: int | None
    coverage_edges: int | None
    features: int | None
    corpus: int | None
    finding: str | None = None
    artifacts: list[str] = field(default_factory=list)
    tail: str = ""


_STATUS = re.compile(r"^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+)(?: corp: (\d+)/)?", re.M)
_FINDING = [
    re.compile(r"ERROR: (AddressSanitizer: [\w-]+(?: on [\w ]+)?)"),
    re.compile(r"(runtime error: .*)"),
    re.compile(r"=== (Uncaught Python exception): ===\n(?:.*\n)*?(\w+(?:Error|Exception)\b.*)"),
    re.compile(r"ERROR: libFuzzer: (timeout|out-of-memory[^\n]*|deadly signal|fuzz target exited)"),
]


def _finding(log: str) -> str:
    for pat in _FINDING:
        m = pat.search(log)
        if m:
            return " ".join(g.strip() for g in m.groups() if g)[:160]
    return "non-zero exit"


def parse_log(name: str, log: str, returncode: int, elapsed: float, found: list[str]) -> Result:
    execs = [int(x) for x in re.findall(r"stat::number_of_executed_units: (\d+)", log)]
    status = _STATUS.findall(log)
    done = re.findall(r"Done (\d+) runs in", log)
    executions = execs[-1] if execs else int(done[-1]) if done else (
        int(status[-1][0]) if status else None
    )
    ok = returncode == 0
    return Result(
        target=name,
        ok=ok,
        seconds=round(elapsed, 1),
        executions=executions,
        coverage_edges=int(status[-1][1]) if status else None,
        features=int(status[-1][2]) if status else None,
        corpus=int(status[-1][3]) if status and status[-1][3] else None,
        finding=None if ok else _finding(log),
        artifacts=found,
        tail="" if ok else log[-4000:],
    )


def run_target(name: str, seconds: int, env: dict[str, str], artifacts: Path,
               extra: list[str]) -> Result:
    artifacts.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    cmd = [
        sys.executable,
        str(HERE / f"fuzz_{name}.py"),
        f"-max_total_time={seconds}",
        f"-timeout={INPUT_TIMEOUT_S}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/",
        *extra,
    ]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              errors="replace", timeout=seconds + 120 + INPUT_TIMEOUT_S)
        log, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        err = e.stderr or ""
        log = (out if isinstance(out, str) else out.decode(errors="replace")) + (
            err if isinstance(err, str) else err.decode(errors="replace"))
        log += "\nERROR: libFuzzer: timeout (the whole run did not end; killed)"
        rc = -1
    elapsed = time.monotonic() - start
    # libFuzzer names inputs crash-<sha1>; put the target's name in.
    found = []
    for p in sorted(set(artifacts.iterdir()) - before):
        if p.is_file() and re.match(r"(crash|timeout|oom|leak|slow-unit)-[0-9a-f]+$", p.name):
            kind, digest = p.name.split("-", 1)
            p = p.rename(p.with_name(f"{kind}-{name}-{digest}"))
        found.append(str(p))
    return parse_log(name, log, rc, elapsed, found)


def _fmt(v: object) -> str:
    if v is None:
        return "?"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def markdown(results: list[Result], build: Build) -> str:
    lines = [
        f"Build: {build.description}"
        + (f" (LD_PRELOAD={Path(build.runtime).name})" if build.runtime else ""),
        "",
        "| target | seconds | executions | exec/s | cov (edges) | ft (features) | corpus | result |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        rate = round(r.executions / r.seconds) if r.executions and r.seconds else None
        verdict = "ok" if r.ok else f"**FINDING**: {r.finding}"
        lines.append(
            f"| {r.target} | {r.seconds:.0f} | {_fmt(r.executions)} | {_fmt(rate)} | "
            f"{_fmt(r.coverage_edges)} | {_fmt(r.features)} | {_fmt(r.corpus)} | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"targets (default: all of {targets()})")
    parser.add_argument("--seconds", type=int, default=30, help="time per target")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--artifacts", type=Path, default=HERE / "artifacts",
                        help="directory for crash/timeout/oom inputs (default: fuzz/artifacts)")
    parser.add_argument("--require-sanitizer", action="store_true",
                        help="fail unless the extensions are an ASan build")
    parser.add_argument("--replay", nargs="+", type=Path, metavar="FILE",
                        help="run these inputs once through the one named target "
                        "(same runtime as fuzzing) and show its output")
    parser.add_argument("--libfuzzer-arg", action="append", default=[], metavar="ARG",
                        help="extra libFuzzer flag, e.g. --libfuzzer-arg=-max_len=4096")
    args = parser.parse_args(argv)
    names = args.names or targets()
    unknown = set(names) - set(targets())
    if unknown:
        parser.error(f"unknown targets: {sorted(unknown)}")
    build = detect_build()
    if args.require_sanitizer and build.runtime is None:
        print(f"error: {build.description}; build with RTCENGINE_SANITIZE=address",
              file=sys.stderr)
        return 2
    env = fuzz_env(build)
    if args.replay:
        if len(names) != 1:
            parser.error("--replay needs exactly one target name")
        cmd = [sys.executable, str(HERE / f"fuzz_{names[0]}.py"), *args.libfuzzer_arg,
               *(str(p.resolve()) for p in args.replay)]
        return subprocess.run(cmd, cwd=ROOT, env=env).returncode
    artifacts = args.artifacts.resolve()
    out = sys.stderr if args.json else sys.stdout
    print(f"# {build.description}; {args.seconds} s per target; artifacts in {artifacts}",
          file=out, flush=True)
    results = []
    for name in names:
        res = run_target(name, args.seconds, env, artifacts, args.libfuzzer_arg)
        results.append(res)
        state = "ok" if res.ok else f"FINDING: {res.finding}"
        print(f"{name:18s} {res.seconds:6.0f} s  executions={_fmt(res.executions):>12s}  "
              f"cov={_fmt(res.coverage_edges):>7s}  ft={_fmt(res.features):>7s}  {state}",
              file=out, flush=True)
        if not res.ok:
            print(res.tail, file=out)
            for a in res.artifacts:
                print(f"  input: {a}", file=out)
    if args.json:
        print(json.dumps({"build": build.kind, "description": build.description,
                          "sanitized": build.runtime is not None,
                          "seconds_per_target": args.seconds,
                          "artifacts": str(artifacts),
                          "results": [asdict(r) for r in results]}, indent=2))
    else:
        print()
        print(markdown(results, build))
        bad = [r for r in results if not r.ok]
        if bad:
            print(f"\n{len(bad)} finding(s); inputs in {artifacts}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
