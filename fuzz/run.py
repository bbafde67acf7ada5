"""Run the atheris targets in fuzz/ for a given time each and report what they did.

    python fuzz/run.py                    # every target, 30 s each
    python fuzz/run.py rtp stun --seconds 120
    python fuzz/run.py --json             # machine-readable summary

Against the sanitizer build (``RTCENGINE_SANITIZE=address python setup.py
build_ext --inplace --force``) the ASan runtime must be loaded first; this
script sets ``LD_PRELOAD`` to atheris' ``asan_with_fuzzer.so`` when the built
extensions link libasan.  Each target runs in its own process; a crash leaves a
``crash-*`` file in fuzz/ and makes the exit status non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def targets() -> list[str]:
    return sorted(p.stem.removeprefix("fuzz_") for p in HERE.glob("fuzz_*.py"))


def sanitizer_runtime() -> str | None:
    """The ASan runtime to preload for the built extensions, or None if unsanitized.

    gcc builds link gcc's libasan (preload that one; atheris then sees Python
    coverage and ASan checks the C code); clang builds carry coverage edges and
    take the runtime from atheris' asan_with_fuzzer.so.
    """
    sos = sorted((ROOT / "rtcengine" / "_core").glob("*.so"))
    if not sos:
        return None
    ldd = subprocess.run(["ldd", str(sos[0])], capture_output=True, text=True).stdout
    if "libasan" in ldd:
        path = subprocess.run(
            ["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True
        ).stdout.strip()
        return path or None
    nm = subprocess.run(["nm", "-D", str(sos[0])], capture_output=True, text=True).stdout
    if "__asan_" in nm:
        import atheris

        return str(Path(atheris.path()) / "asan_with_fuzzer.so")
    return None


def asan_env() -> dict[str, str]:
    env = dict(os.environ)
    runtime = sanitizer_runtime()
    if runtime is None:
        return env
    env["LD_PRELOAD"] = runtime
    # Python's allocator confuses leak detection; detect memory errors, not leaks.
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1")
    return env


def run_target(name: str, seconds: int, env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / f"fuzz_{name}.py"),
            f"-max_total_time={seconds}",
            "-rss_limit_mb=4096",
            f"-artifact_prefix={HERE}/crash-{name}-",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    log = proc.stdout + proc.stderr
    runs = re.findall(r"Done (\d+) runs in (\d+) second", log)
    cov = re.findall(r"cov: (\d+)", log)
    return {
        "target": name,
        "ok": proc.returncode == 0,
        "executions": int(runs[-1][0]) if runs else None,
        "seconds": int(runs[-1][1]) if runs else None,
        "coverage_edges": int(cov[-1]) if cov else None,
        "tail": "" if proc.returncode == 0 else log[-3000:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"targets (default: all of {targets()})")
    parser.add_argument("--seconds", type=int, default=30, help="time per target")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = args.names or targets()
    unknown = set(names) - set(targets())
    if unknown:
        parser.error(f"unknown targets: {sorted(unknown)}")
    env = asan_env()
    results = []
    for name in names:
        res = run_target(name, args.seconds, env)
        results.append(res)
        if not args.json:
            state = "ok" if res["ok"] else "FINDING"
            print(
                f"{name:8s} {state:8s} executions={res['executions']} "
                f"in {res['seconds']} s, coverage edges={res['coverage_edges']}",
                flush=True,
            )
            if not res["ok"]:
                print(res["tail"])
    if args.json:
        print(json.dumps({"sanitized": "LD_PRELOAD" in env, "results": results}, indent=2))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
