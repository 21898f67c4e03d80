"""llama.cpp's own server for the embedded model, built on this machine from the sources llama-cpp-python vendors.

Why llama.cpp's server (``llama-server``) and not llama-cpp-python's: it decodes the turns of
several conversations in one forward pass (``--parallel`` slots, continuous batching), keeps
each slot's evaluated prompt and a RAM cache of idle ones, reports usage in streams and checks a
JSON grammar on the drawn token before running it over the vocabulary. rolecall used to patch
the last two into llama-cpp-python's server; here they are upstream's.

Why built here: the source distribution of llama-cpp-python vendors llama.cpp's full sources
(one pinned release, :data:`RELEASE`), and a build for the CPU at hand (``-march=native``) is
the fastest one. One part of that build is left out on purpose: the AMX kernels
(``-mno-amx-*``). On recent Xeons, llama.cpp's AMX weight layout (one of its CPU "extra
buffer types") crashes in ``ggml_backend_amx_mul_mat`` on any prompt longer than one token;
upstream knows the crash and has no fix (llama.cpp issues 11115 and 20824). The repacked
layouts for AVX2 and AVX-512 stay in. Should another layout crash on some CPU, the server's
startup check finds it and restarts without extra buffer types (``rolecall.models.local``).

    python -m rolecall.models.llama_build      # make install runs it; a no-op when up to date

It downloads one file, the sdist, from the package index pip is configured with, and writes
under :func:`home` (inside the virtual environment): ``bin/`` the binaries, ``source/`` the parts
of llama.cpp kept for later (its GGUF converter and its chat templates), ``build.json`` what was
built, for which CPU and with which flags.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

#: The llama-cpp-python release whose vendored llama.cpp is built.
RELEASE = "0.3.36"
#: The binaries built: the server, and llama.cpp's batched-decode benchmark (bench/decode_ceiling.py).
TARGETS = ("llama-server", "llama-batched-bench")
#: What is kept of the sources, relative to llama.cpp's root.
KEPT = ("LICENSE", "convert_hf_to_gguf.py", "conversion", "gguf-py", "models/templates")
#: Compiler flags that leave the AMX kernels out of a ``-march=native`` build (see the module docstring).
NO_AMX = ("-mno-amx-tile", "-mno-amx-int8", "-mno-amx-bf16")


def home() -> Path:
    """Where the build lives: ``ROLECALL_LLAMA_HOME``, or ``share/rolecall/llama.cpp`` in this environment."""
    return Path(os.environ.get("ROLECALL_LLAMA_HOME") or Path(sys.prefix) / "share" / "rolecall" / "llama.cpp")


def binary(name: str = "llama-server") -> Path:
    """The path of a built binary (which may not exist yet)."""
    return home() / "bin" / name


def source() -> Path:
    """The kept parts of llama.cpp's sources (its GGUF converter, its chat templates)."""
    return home() / "source"


def cpu_flags() -> list[str]:
    """The CPU's feature flags as the kernel lists them (``/proc/cpuinfo``); empty where it does not."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return sorted(set(value.split()))
    return []


def cpu_key() -> str:
    """What a native build depends on: the machine and its CPU flags, hashed (a build is redone when it changes)."""
    return hashlib.sha256(f"{platform.machine()} {' '.join(cpu_flags())}".encode()).hexdigest()[:16]


def _compiler_accepts(flags: tuple[str, ...]) -> bool:
    compiler = os.environ.get("CC") or shutil.which("cc") or "cc"
    try:
        result = subprocess.run(
            [compiler, *flags, "-x", "c", "-c", "-o", os.devnull, "-"],
            input=b"int main(void) { return 0; }\n", capture_output=True, check=False,
        )  # fmt: skip
    except OSError:
        return False
    return result.returncode == 0


def cmake_options() -> list[str]:
    """The configuration: a static, native Release build of the server alone, AMX left out on x86-64."""
    options = [
        "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DGGML_NATIVE=ON", "-DGGML_CCACHE=OFF",
        "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TOOLS=ON", "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_CURL=OFF",
    ]  # fmt: skip
    if platform.machine() in ("x86_64", "AMD64") and _compiler_accepts(NO_AMX):
        flags = " ".join(NO_AMX)
        options += [f"-DCMAKE_C_FLAGS={flags}", f"-DCMAKE_CXX_FLAGS={flags}"]
    return options


def built() -> dict[str, object] | None:
    """What ``build.json`` says was built, or None when nothing usable is there."""
    try:
        record = json.loads((home() / "build.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not all(binary(name).is_file() for name in TARGETS):
        return None
    return record


def up_to_date() -> bool:
    """Whether the binaries are built from :data:`RELEASE` for this CPU."""
    record = built()
    return record is not None and record.get("release") == RELEASE and record.get("cpu_key") == cpu_key()


def _download(into: Path) -> Path:
    """The sdist, fetched by pip from the index it is configured with."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"llama-cpp-python=={RELEASE}", "--dest", str(into)],
        check=True,
    )  # fmt: skip
    [sdist] = into.glob("llama_cpp_python-*.tar.gz")
    return sdist


def _extract(sdist: Path, into: Path) -> Path:
    """llama.cpp's sources out of the sdist (``vendor/llama.cpp``); return their root."""
    with tarfile.open(sdist) as archive:
        members = [member for member in archive.getmembers() if "/vendor/llama.cpp/" in member.name]
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later: no links or paths out of ``into``
            archive.extractall(into, members=members, filter="data")
        else:  # pragma: no cover
            archive.extractall(into, members=members)
    [root] = into.glob("*/vendor/llama.cpp")
    return root


def build(*, sdist: Path | None = None, jobs: int | None = None, force: bool = False, quiet: bool = False) -> Path:
    """Build the server (unless it is up to date) and return its path."""
    if up_to_date() and not force:
        if not quiet:
            print(f"llama.cpp from llama-cpp-python {RELEASE} is built for this CPU: {binary()}")
        return binary()
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise SystemExit(f"building llama.cpp's server needs {tool}: install it (Debian: cmake, g++)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rolecall-llama-build-") as scratch:
        work = Path(scratch)
        if not quiet:
            print(f"building llama.cpp's server from llama-cpp-python {RELEASE} (a few minutes)…", flush=True)
        if sdist is not None and f"-{RELEASE}." not in sdist.name:
            raise SystemExit(f"--sdist {sdist}: give the sdist of llama-cpp-python {RELEASE}")
        root = _extract(sdist or _download(work), work)
        options = cmake_options()
        log = work / "build.log"
        with log.open("wb") as output:
            steps = (
                ["cmake", "-S", str(root), "-B", str(work / "build"), *options],
                ["cmake", "--build", str(work / "build"), "--target", *TARGETS, "-j", str(jobs or os.cpu_count() or 1)],
            )
            for step in steps:
                if subprocess.run(step, stdout=output, stderr=subprocess.STDOUT, check=False).returncode != 0:
                    tail = log.read_text(errors="replace").strip().splitlines()[-15:]
                    raise SystemExit("building llama.cpp's server failed:\n" + "\n".join(tail))
        target = home()
        shutil.rmtree(target, ignore_errors=True)
        (target / "bin").mkdir(parents=True)
        for name in TARGETS:
            shutil.copy2(work / "build" / "bin" / name, binary(name))
        for part in KEPT:
            origin, destination = root / part, source() / part
            destination.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, destination)
            elif origin.exists():
                shutil.copy2(origin, destination)
        record = {
            "release": RELEASE, "cpu_key": cpu_key(), "machine": platform.machine(), "cpu_flags": cpu_flags(),
            "cmake_options": options, "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.monotonic() - started, 1),
        }  # fmt: skip
        (target / "build.json").write_text(json.dumps(record, indent=2) + "\n")
    if not quiet:
        print(f"built {binary()} in {record['seconds']:.0f} s")
    return binary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rolecall.models.llama_build", description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="a llama-cpp-python sdist already on disk (no download)")
    parser.add_argument("--jobs", type=int, help="parallel compile jobs (default: one per core)")
    parser.add_argument("--force", action="store_true", help="build again even when up to date")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    build(sdist=args.sdist, jobs=args.jobs, force=args.force, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
