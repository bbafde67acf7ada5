"""Build the Cython core of rtcengine.

Every module under ``rtcengine/_core/`` is one wire concern and one extension.
OpenSSL (libssl + libcrypto) is found through pkg-config.

Build knobs, read from the environment:

``RTCENGINE_DEBUG=1``
    Cython annotate HTML, line tracing (coverage/profilers), C assertions,
    and the debug counters (compile-time ``RTCENGINE_DEBUG``).
``RTCENGINE_SANITIZE=address``
    AddressSanitizer + UndefinedBehaviorSanitizer build, for the fuzzers.
``RTCENGINE_WERROR=1``
    Turn C compiler warnings into errors (CI sets this).
``RTCENGINE_MODULES=rtp,stun``
    Build only these ``_core`` modules (plus ``buffer``); for quick iteration.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
CORE = HERE / "rtcengine" / "_core"

# One entry per wire concern; order is the build order (buffer first: the
# others cimport it).
CORE_MODULES = [
    "buffer",  # zero-copy input views, checked output windows, ParseError
    "crc",  # CRC-32 (STUN FINGERPRINT), CRC-32c (SCTP)
    "hmac",  # keyed HMAC-SHA1/SHA-256 contexts (STUN integrity, SRTP auth)
    "rtp",  # RFC 3550 / RFC 8285
    "rtcp",  # RFC 3550 / 4585 / 5104, REMB, transport-wide CC
    "stun",  # RFC 8489 / 8445 / 8656 / 5780
    "sctp",  # RFC 9260 / 3758 / 6525 / 8260 packets and chunks
    "dcep",  # RFC 8832
    "sctp_association",  # RFC 9260 / 3758 / 6525 / 8831 association, sans-IO
    "srtp",  # RFC 3711 / 7714 / 6188
    "dtls",  # RFC 6347 over libssl, sans-IO
    "udp",  # recvmmsg/sendmmsg batches + RFC 7983 demux (the one I/O module)
]

OPENSSL_HELP = (
    "rtcengine links OpenSSL (libssl, libcrypto) and needs its development "
    "headers and pkg-config to build.\n"
    "  Debian/Ubuntu: apt-get install libssl-dev pkg-config\n"
    "  Fedora/RHEL:   dnf install openssl-devel pkgconf-pkg-config\n"
    "  macOS:         brew install openssl@3 pkg-config "
    "&& export PKG_CONFIG_PATH=$(brew --prefix openssl@3)/lib/pkgconfig\n"
    "Or point OPENSSL_ROOT at an OpenSSL >= 1.1.1 install prefix."
)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def pkg_config(*args: str) -> list[str]:
    exe = shutil.which("pkg-config") or shutil.which("pkgconf")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, *args, "openssl"], check=True, capture_output=True, text=True
        ).stdout
    except subprocess.CalledProcessError:
        return []
    return shlex.split(out)


def openssl_flags() -> dict[str, list[str]]:
    """Return include_dirs/library_dirs/libraries for OpenSSL, or exit with help."""
    root = os.environ.get("OPENSSL_ROOT")
    if root:
        inc = [str(Path(root) / "include")]
        libdirs = [str(Path(root) / "lib"), str(Path(root) / "lib64")]
        libs = ["ssl", "crypto"]
    else:
        if not pkg_config("--exists") and not pkg_config("--modversion"):
            sys.exit("error: OpenSSL not found by pkg-config (package 'openssl').\n" + OPENSSL_HELP)
        cflags = pkg_config("--cflags")
        lflags = pkg_config("--libs")
        inc = [f[2:] for f in cflags if f.startswith("-I")]
        libdirs = [f[2:] for f in lflags if f.startswith("-L")]
        libs = [f[2:] for f in lflags if f.startswith("-l")] or ["ssl", "crypto"]
    candidates = inc + ["/usr/include", "/usr/local/include"]
    if not any((Path(d) / "openssl" / "ssl.h").exists() for d in candidates):
        sys.exit("error: OpenSSL headers (openssl/ssl.h) not found.\n" + OPENSSL_HELP)
    return {"include_dirs": inc, "library_dirs": libdirs, "libraries": libs}


def selected_modules() -> list[str]:
    only = os.environ.get("RTCENGINE_MODULES", "").strip()
    if not only:
        return CORE_MODULES
    wanted = {"buffer", *(m.strip() for m in only.split(",") if m.strip())}
    unknown = wanted - set(CORE_MODULES)
    if unknown:
        sys.exit(f"error: RTCENGINE_MODULES names unknown modules: {sorted(unknown)}")
    return [m for m in CORE_MODULES if m in wanted]


def build_extensions() -> list[Extension]:
    from Cython.Build import cythonize
    from Cython.Compiler import Options

    debug = env_flag("RTCENGINE_DEBUG")
    sanitize = os.environ.get("RTCENGINE_SANITIZE", "").strip()
    ssl = openssl_flags()

    # Cython warnings are errors: no warning is left behind in the core.
    Options.warning_errors = True

    cflags = ["-O3" if not debug else "-O1", "-g0" if not debug else "-g", "-Wall",
              "-Wno-unused-function", "-Wno-unreachable-code"]
    ldflags: list[str] = []
    macros: list[tuple[str, str | None]] = [("OPENSSL_API_COMPAT", "0x10101000L")]
    if debug:
        macros += [("CYTHON_TRACE_NOGIL", "1"), ("RTCENGINE_DEBUG", "1")]
    else:
        macros += [("NDEBUG", None)]
    if sanitize:
        if sanitize not in ("address", "address,undefined"):
            sys.exit("error: RTCENGINE_SANITIZE supports 'address' (ASan+UBSan)")
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
               "-fno-sanitize-recover=undefined"]
        cflags = [f for f in cflags if not f.startswith("-O")] + ["-O1", "-g"] + san
        if "clang" in os.environ.get("CC", ""):
            # clang: coverage edges for libFuzzer/atheris; the ASan runtime comes
            # from atheris' asan_with_fuzzer.so (LD_PRELOAD, see fuzz/run.py).
            # No -shared-libasan: it records a DT_NEEDED on clang's
            # libclang_rt.asan-*.so, which is not on the loader path and would
            # be a second runtime beside the preloaded one; the __asan_*
            # symbols are left undefined and bind to the preload.
            cflags.append("-fsanitize=fuzzer-no-link")
            ldflags += ["-fsanitize=address,undefined"]
        else:
            # gcc: links its own libasan; fuzz/run.py preloads that one.
            ldflags += san
    if env_flag("RTCENGINE_WERROR"):
        cflags.append("-Werror")
    if sys.platform == "win32":  # MSVC understands none of the GCC flags above
        cflags, ldflags = ["/O2"], []

    # hmac.pyx alone uses OpenSSL's low-level SHA contexts (deprecated in 3.0,
    # allocation-free; see include/rtce_sha.h).
    per_module_macros: dict[str, list[tuple[str, str | None]]] = {
        "hmac": [("OPENSSL_SUPPRESS_DEPRECATED", None)],
    }
    exts = [
        Extension(
            f"rtcengine._core.{name}",
            [f"rtcengine/_core/{name}.pyx"],
            include_dirs=[str(CORE / "include"), *ssl["include_dirs"]],
            library_dirs=ssl["library_dirs"],
            libraries=ssl["libraries"],
            define_macros=macros + per_module_macros.get(name, []),
            extra_compile_args=cflags,
            extra_link_args=ldflags,
        )
        for name in selected_modules()
    ]
    directives = {
        "language_level": 3,
        "boundscheck": False,
        "wraparound": False,
        "cdivision": True,
        "initializedcheck": False,
        "embedsignature": True,
        "binding": False,
        "linetrace": debug,
        "profile": False,
        "warn.maybe_uninitialized": True,
    }
    return cythonize(
        exts,
        compiler_directives=directives,
        compile_time_env={"RTCENGINE_DEBUG": debug},
        annotate=debug,
        include_path=[str(HERE)],
        quiet=True,
        nthreads=os.cpu_count() or 1,
    )


# Compile the C files in parallel too (2-core CI machines: halves the build).
setup(
    ext_modules=build_extensions(),
    options={"build_ext": {"parallel": os.cpu_count() or 1}},
)
