"""Building llama.cpp for this machine, and proving each build before it is used.

PyPI has only the sdist of llama-cpp-python, so `make install` compiles it. A build tuned
to the CPU is fastest, but a tuned build can crash: on Sapphire-Rapids-class Intel CPUs
with AMX, ggml repacks Q4_K weights into its AMX buffer and `ggml_backend_amx_mul_mat`
segfaults on every multi-token prompt (llama.cpp issue 20824). So builds are tried from
fastest to most portable, and each one must answer a real multi-token prompt with the
packaged model in a separate process before it is kept:

    native            -march=native: every instruction the CPU has
    cpu-features      every instruction set the CPU reports except AMX (first on AMX CPUs)
    avx2              the portable x86-64 build (AVX2, FMA, F16C, BMI2)
    baseline          no SIMD extensions beyond the compiler's default

Each build is cached as a wheel under `~/.cache/rag-wheels/<key>/` beside a `proof.json`;
a build that failed its proof is deleted and its failure recorded, so the cache never hands
it back. The build in use is recorded in `<venv>/llama-build.json` (read by `make bench`).

    python -m rag.llamabuild                 # build, prove and install the best build
    python -m rag.llamabuild --prove MODEL   # the proof itself (run in a child process)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PACKAGE = "llama-cpp-python==0.3.36"
COMMON_ARGS = ("-DLLAVA_BUILD=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF")
# /proc/cpuinfo flag -> ggml CMake option (x86). AVX-512 foundation needs all five flags.
_FEATURES = (
    ("sse4_2", "GGML_SSE42"),
    ("avx", "GGML_AVX"),
    ("avx2", "GGML_AVX2"),
    ("bmi2", "GGML_BMI2"),
    ("fma", "GGML_FMA"),
    ("f16c", "GGML_F16C"),
    ("avx_vnni", "GGML_AVX_VNNI"),
    ("avx512vbmi", "GGML_AVX512_VBMI"),
    ("avx512_vnni", "GGML_AVX512_VNNI"),
    ("avx512_bf16", "GGML_AVX512_BF16"),
)
_AVX512 = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}
AMX = {"amx_tile", "amx_int8", "amx_bf16"}
# The proof: continue a counting sequence (a ~300-token prompt, read in one batch as real
# prompts are) and check that the next numbers come out.
PROOF_LAST = 100
PROOF_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Variant:
    name: str
    cmake_args: tuple[str, ...]
    about: str


@dataclass(frozen=True)
class Proof:
    ok: bool
    detail: str
    prompt_tps: float = 0.0
    gen_tps: float = 0.0
    environment: bool = False  # the failure is the machine's (a missing module), not the build's


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def variants(flags: set[str], machine: str | None = None) -> list[Variant]:
    """Candidate builds for this CPU, best first. Example: an AMX CPU starts with 'cpu-features'."""
    machine = (machine or platform.machine()).lower()
    native = Variant("native", ("-DGGML_NATIVE=ON",), "tuned to this CPU (-march=native)")
    if machine not in ("x86_64", "amd64", "i686", "i386"):
        return [native, Variant("portable", ("-DGGML_NATIVE=OFF",), "the portable build")]
    options = [opt for flag, opt in _FEATURES if flag in flags]
    if _AVX512 <= flags:
        options.append("GGML_AVX512")
    features = Variant(
        "cpu-features",
        (
            "-DGGML_NATIVE=OFF",
            *(f"-D{o}={'ON' if o in options else 'OFF'}" for _, o in _FEATURES),
            f"-DGGML_AVX512={'ON' if 'GGML_AVX512' in options else 'OFF'}",
        ),
        "every instruction set this CPU reports except AMX",
    )
    avx2 = Variant("avx2", ("-DGGML_NATIVE=OFF",), "portable x86-64 (AVX2, FMA, F16C)")
    baseline = Variant("baseline", ("-DGGML_NATIVE=OFF", *(f"-D{o}=OFF" for _, o in _FEATURES)), "no SIMD extensions")
    # AMX kernels are the known crash (Q4_K weights in the AMX buffer): on an AMX CPU keep
    # everything else the CPU offers and leave AMX out; elsewhere -march=native is that build.
    order = [features, avx2, baseline] if AMX & flags else [native, avx2, baseline]
    if "avx2" not in flags:
        order = [v for v in order if v.name != "avx2"]
    return order


def cache_key(variant: Variant, flags: set[str]) -> str:
    """Cache folder name: the package, the build flags, the CPU and the compiler."""
    try:
        cc = subprocess.run(["cc", "--version"], capture_output=True, text=True, timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        cc = "cc?"
    raw = "\n".join([PACKAGE, " ".join(COMMON_ARGS + variant.cmake_args), " ".join(sorted(flags)), cc, platform.machine()])
    return f"{variant.name}-{hashlib.sha256(raw.encode()).hexdigest()[:12]}"


# -- the proof (child process) ---------------------------------------------------------------


def proof_prompt(last: int = PROOF_LAST) -> str:
    return ", ".join(str(i) for i in range(1, last + 1)) + ","


def judge(text: str, last: int = PROOF_LAST) -> str | None:
    """None when the continuation carries on the count; otherwise what is wrong with it."""
    want = [str(last + 1), str(last + 2)]
    got = [t.strip() for t in text.replace("\n", " ").split(",") if t.strip()]
    if got[:2] == want:
        return None
    return f"expected {want[0]}, {want[1]} … got {text.strip()[:40]!r}"


def run_proof(model: str, threads: int) -> dict[str, object]:
    from llama_cpp import Llama  # the build under test

    llm = Llama(model_path=model, n_ctx=2048, n_threads=threads, n_batch=512, flash_attn=True, verbose=False)
    prompt = proof_prompt()
    n_prompt = len(llm.tokenize(prompt.encode()))
    t0 = time.perf_counter()
    first = None
    pieces: list[str] = []
    chunk: Any
    for chunk in llm.create_completion(prompt, max_tokens=12, temperature=0.0, stream=True):
        first = first or time.perf_counter()
        pieces.append(chunk["choices"][0]["text"])
    end = time.perf_counter()
    text = "".join(pieces)
    n_gen = len(llm.tokenize(text.encode(), add_bos=False)) if text else 0
    first = first or end
    return {
        "text": text,
        "prompt_tokens": n_prompt,
        "prompt_tps": n_prompt / max(first - t0, 1e-9),
        "gen_tps": max(n_gen - 1, 0) / max(end - first, 1e-9),
    }


def prove(model: Path, python: str = sys.executable, timeout: float = PROOF_TIMEOUT_S, threads: int = 0) -> Proof:
    """Run the proof in a child process: a crash, a hang or a wrong continuation fails it."""
    cmd = [python, "-m", "rag.llamabuild", "--prove", str(model), "--threads", str(threads or os.cpu_count() or 2)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        return Proof(False, f"no answer within {timeout:.0f} s")
    if done.returncode != 0:
        if done.returncode < 0:
            try:
                name = signal.Signals(-done.returncode).name
            except ValueError:
                name = f"signal {-done.returncode}"
            return Proof(False, f"crashed ({name}) on a multi-token prompt")
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        missing = re.search(r"No module named '([\w.]+)'", tail)
        if missing and not missing.group(1).startswith("llama_cpp"):
            return Proof(False, f"cannot run the proof: {tail[:200]}", environment=True)
        return Proof(False, f"exited with code {done.returncode}: {tail[:200]}")
    try:
        out: dict = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Proof(False, f"printed no result: {done.stdout[-200:]!r}")
    wrong = judge(str(out["text"]))
    if wrong:
        return Proof(False, f"answered nonsense: {wrong}")
    return Proof(True, f"continued a {out['prompt_tokens']}-token count correctly", float(out["prompt_tps"]), float(out["gen_tps"]))


# -- building, caching, choosing -------------------------------------------------------------


def build_wheel(variant: Variant, dest: Path, python: str = sys.executable) -> Path:
    """Compile llama-cpp-python with the variant's CMake flags into a wheel in `dest`."""
    env = dict(os.environ, CMAKE_ARGS=" ".join(COMMON_ARGS + variant.cmake_args))
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    with tempfile.TemporaryDirectory(prefix="llama-wheel-") as tmp:
        cmd = [python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-cache-dir", "-w", tmp, PACKAGE]
        done = subprocess.run(cmd, env=env)
        wheels = sorted(Path(tmp).glob("llama_cpp_python-*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(f"compiling llama.cpp ({variant.name}) failed with exit code {done.returncode}")
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / wheels[0].name
        shutil.move(str(wheels[0]), target)
        return target


def install_wheel(wheel: Path, python: str = sys.executable) -> None:
    """Install this wheel (replacing any other build), then whatever it needs that is missing."""
    for cmd in (
        [python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--force-reinstall", str(wheel)],
        [python, "-m", "pip", "install", "--quiet", str(wheel)],
    ):
        if subprocess.run(cmd).returncode != 0:
            raise RuntimeError(f"installing {wheel.name} failed")


@dataclass(frozen=True)
class Choice:
    variant: Variant
    proof: Proof
    skipped: tuple[tuple[str, str], ...]  # (variant name, why it was not used)

    def line(self) -> str:
        why = "; ".join(f"{name} {reason}" for name, reason in self.skipped)
        head = f"llama.cpp: using the '{self.variant.name}' build ({self.variant.about})"
        speed = f"prompt {self.proof.prompt_tps:.0f} tok/s, generation {self.proof.gen_tps:.1f} tok/s"
        return f"{head}: {self.proof.detail}, {speed}" + (f" [not used: {why}]" if why else "")


def choose(
    candidates: list[Variant],
    cache: Path,
    key: Callable[[Variant], str],
    build: Callable[[Variant, Path], Path],
    install: Callable[[Path], None],
    check: Callable[[], Proof],
    say: Callable[[str], None] = print,
) -> Choice:
    """The first candidate whose build passes the proof; failed builds are deleted and remembered."""
    skipped: list[tuple[str, str]] = []
    for v in candidates:
        folder = cache / key(v)
        record = folder / "proof.json"
        past = json.loads(record.read_text()) if record.exists() else {}
        if past.get("ok") is False:
            skipped.append((v.name, f"failed its proof on this CPU before ({past.get('detail')})"))
            continue
        wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
        if wheels:
            say(f"llama.cpp: re-proving the cached '{v.name}' build")
            wheel = wheels[0]
        else:
            say(f"llama.cpp: compiling the '{v.name}' build ({v.about}); about 8 min on 2 cores, once")
            try:
                wheel = build(v, folder)
            except RuntimeError as e:
                skipped.append((v.name, str(e)))
                continue
        install(wheel)
        proof = check()
        if proof.environment:  # not this build's fault: stop, keep the wheel, record nothing
            raise RuntimeError(proof.detail)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"variant": asdict(v), **asdict(proof), "at": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=1) + "\n")
        if proof.ok:
            return Choice(v, proof, tuple(skipped))
        say(f"llama.cpp: the '{v.name}' build {proof.detail}: discarded, trying the next one")
        for w in folder.glob("*.whl"):
            w.unlink()
        skipped.append((v.name, proof.detail))
    raise RuntimeError("no llama.cpp build passed its proof on this machine: " + "; ".join(f"{n}: {r}" for n, r in skipped))


def _model_for_proof() -> Path:
    from rag.config import load_config
    from rag.models import bundled_gguf

    return bundled_gguf(load_config(env={}).models_dir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rag.llamabuild", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prove", metavar="MODEL", help="run the proof with this GGUF and print its result as JSON (child process)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "rag-wheels")
    ap.add_argument(
        "--variants", default=os.environ.get("RAG_LLAMA_VARIANTS", ""), help="comma-separated names to try, in order (default: by CPU)"
    )
    args = ap.parse_args(argv)
    if args.prove:
        print(json.dumps(run_proof(args.prove, args.threads or os.cpu_count() or 2)))
        return 0
    flags = cpu_flags()
    candidates = variants(flags)
    if args.variants:
        by_name = {v.name: v for v in variants(flags) + variants(flags - AMX)}
        unknown = [n for n in args.variants.split(",") if n.strip() not in by_name]
        if unknown:
            print(f"unknown llama.cpp build variant(s): {', '.join(unknown)} (known: {', '.join(by_name)})", file=sys.stderr)
            return 2
        candidates = [by_name[n.strip()] for n in args.variants.split(",")]
    try:
        model = _model_for_proof()
        choice = choose(
            candidates, args.cache, lambda v: cache_key(v, flags), build_wheel, install_wheel, lambda: prove(model, threads=args.threads)
        )
    except Exception as e:  # noqa: BLE001 - the install must end with one clear line, not a traceback
        print(f"llama.cpp: {e}", file=sys.stderr)
        return 1
    print(choice.line())
    record: dict[str, object] = {
        "variant": choice.variant.name,
        "about": choice.variant.about,
        "cmake_args": list(COMMON_ARGS + choice.variant.cmake_args),
    }
    record |= {"prompt_tps": round(choice.proof.prompt_tps, 1), "gen_tps": round(choice.proof.gen_tps, 1), "not_used": dict(choice.skipped)}
    (Path(sys.prefix) / "llama-build.json").write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
