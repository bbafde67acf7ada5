#!/usr/bin/env bash
# CI's short ASan fuzz pass (issue 7): build an ASan+UBSan copy of the tree in a
# temporary directory (never the in-place build: other jobs import those .so
# files), then run every atheris target in fuzz/ for a few seconds each.
#
#   bash fuzz/ci.sh                              # 15 s per target
#   RTCENGINE_FUZZ_SECONDS=60 bash fuzz/ci.sh    # longer
#   RTCENGINE_FUZZ_TARGETS="rtp stun" bash fuzz/ci.sh
#   RTCENGINE_FUZZ_ARTIFACTS=/some/dir bash fuzz/ci.sh   # where findings go
#
# With clang on PATH (Debian: apt-get install clang) the extensions carry
# libFuzzer coverage edges and run under atheris' asan_with_fuzzer.so;
# without it gcc builds them with its libasan (Python-level coverage only).
# Prints the per-target table (executions, coverage, findings), leaves any
# crash/timeout/oom input in the artifacts directory and exits non-zero on a
# finding (or a failed build).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=${RTCENGINE_FUZZ_SECONDS:-15}
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtcengine-fuzz.XXXXXX")
ARTIFACTS=${RTCENGINE_FUZZ_ARTIFACTS:-$WORK/artifacts}
mkdir -p "$ARTIFACTS"
SRC=$WORK/src
mkdir -p "$SRC"

# Needs the package's runtime deps (numpy, cryptography, ifaddr), its build
# deps (Cython, setuptools) and atheris in this Python.
"$PY" -c "import atheris, Cython, setuptools, numpy, cryptography, ifaddr" 2>/dev/null || {
    echo "fuzz/ci.sh: missing Python packages; in this venv run:" >&2
    echo "  $PY -m pip install 'atheris>=2.3' 'Cython>=3.0.8' 'setuptools>=77' numpy cryptography ifaddr" >&2
    exit 2; }

# The source tree without build outputs (.so, generated .c, build/, venvs,
# corpora): the files git tracks plus new unignored ones; a plain copy with
# the outputs excluded when this is not a git checkout.
echo "== fuzz: copying the tree to $SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z -co --exclude-standard |
        tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$SRC"
else
    (cd "$ROOT" && tar -cf - --exclude=./build --exclude='./.venv*' --exclude=./.git \
        --exclude='*.so' --exclude='./rtcengine/_core/*.c' --exclude='./fuzz/corpus*' \
        --exclude='./fuzz/artifacts' --exclude=__pycache__ --exclude=./dist .) | tar -xf - -C "$SRC"
fi

if command -v clang >/dev/null 2>&1; then
    export CC=clang LDSHARED="clang -shared"
    COMPILER="clang ($(clang --version | head -1))"
else
    unset CC LDSHARED
    COMPILER="gcc (no clang on PATH: C coverage edges unavailable, Python coverage only)"
fi
echo "== fuzz: building the ASan+UBSan extensions with $COMPILER"
start=$(date +%s)
if ! (cd "$SRC" && RTCENGINE_SANITIZE=address RTCENGINE_DEBUG= RTCENGINE_MODULES= \
        "$PY" setup.py build_ext --inplace --force >"$WORK/build.log" 2>&1); then
    tail -60 "$WORK/build.log"
    echo "fuzz/ci.sh: sanitizer build failed (log: $WORK/build.log)" >&2
    exit 1
fi
echo "== fuzz: built in $(( $(date +%s) - start )) s"

echo "== fuzz: ${SECS} s per target"
status=0
# shellcheck disable=SC2086  # the target list is a word list
(cd "$SRC" && RTCENGINE_FUZZ_CORPUS="$WORK/corpus" "$PY" fuzz/run.py \
    --seconds "$SECS" --artifacts "$ARTIFACTS" --require-sanitizer \
    ${RTCENGINE_FUZZ_TARGETS:-}) || status=$?

if [ "$status" -ne 0 ]; then
    echo "fuzz/ci.sh: FINDINGS (exit $status); inputs in $ARTIFACTS:" >&2
    ls -l "$ARTIFACTS" >&2 || true
    echo "replay one: (cd $SRC && $PY fuzz/run.py <target> --replay <input>)" >&2
    exit "$status"
fi
echo "== fuzz: no findings (artifacts dir $ARTIFACTS is empty); removing $WORK"
[ -z "$(ls -A "$ARTIFACTS")" ] && rm -rf "$WORK"
exit 0
