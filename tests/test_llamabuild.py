"""The llama.cpp build is proven on the machine before it is used (issue 10)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rag import llamabuild as lb

# /proc/cpuinfo flags of the Sapphire-Rapids-class Xeon where the native build segfaulted.
AMX_XEON = (
    "flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma bmi1 bmi2 avx2 avx512f avx512dq avx512cd "
    "avx512bw avx512vl avx512vbmi avx512_vnni avx512_bf16 avx_vnni amx_tile amx_int8 amx_bf16\n"
)
EPYC_AVX2 = "flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma bmi1 bmi2 avx2 sha_ni vaes\n"
OLD_CPU = "flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2\n"


def test_an_amx_cpu_keeps_avx512_but_never_builds_amx_first():
    vs = lb.variants(lb.cpu_flags(AMX_XEON), "x86_64")
    assert [v.name for v in vs] == ["cpu-features", "avx2", "baseline"]
    first = " ".join(vs[0].cmake_args)
    for opt in ("GGML_AVX512=ON", "GGML_AVX512_VNNI=ON", "GGML_AVX512_BF16=ON", "GGML_AVX512_VBMI=ON", "GGML_AVX_VNNI=ON", "GGML_AVX2=ON"):
        assert opt in first
    assert "AMX" not in first and "GGML_NATIVE=OFF" in first


def test_other_cpus_start_native_and_skip_what_they_lack():
    assert [v.name for v in lb.variants(lb.cpu_flags(EPYC_AVX2), "x86_64")] == ["native", "avx2", "baseline"]
    assert [v.name for v in lb.variants(lb.cpu_flags(OLD_CPU), "x86_64")] == ["native", "baseline"]
    assert [v.name for v in lb.variants(set(), "aarch64")] == ["native", "portable"]
    features = lb.variants(lb.cpu_flags(EPYC_AVX2) | lb.AMX, "x86_64")[0]
    assert "-DGGML_AVX512=OFF" in features.cmake_args  # no avx512 flags on this CPU


def test_the_proof_judges_the_continuation():
    assert lb.judge(" 101, 102, 103,") is None
    assert lb.judge("101,102") is None
    assert lb.judge(" 101, 101, 101") is not None
    assert lb.judge(" the the the") is not None
    assert lb.judge("") is not None
    assert lb.proof_prompt(3) == "1, 2, 3,"


class Recorder:
    """Fake build/install/proof steps: proofs come from a scripted queue; calls are recorded."""

    def __init__(self, proofs: list[lb.Proof]):
        self.proofs = list(proofs)
        self.built: list[str] = []
        self.installed: list[str] = []

    def build(self, v: lb.Variant, folder: Path) -> Path:
        self.built.append(v.name)
        folder.mkdir(parents=True, exist_ok=True)
        wheel = folder / f"llama_cpp_python-0.3.36-{v.name}.whl"
        wheel.write_text(v.name)
        return wheel

    def install(self, wheel: Path) -> None:
        self.installed.append(wheel.read_text())

    def check(self) -> lb.Proof:
        return self.proofs.pop(0)


VS = [lb.Variant("fast", ("-DA",), "fast"), lb.Variant("safe", ("-DB",), "safe"), lb.Variant("slow", ("-DC",), "slow")]


def _choose(tmp_path: Path, rec: Recorder, said: list[str]) -> lb.Choice:
    return lb.choose(VS, tmp_path, lambda v: v.name, rec.build, rec.install, rec.check, said.append)


def test_a_build_that_crashes_is_discarded_remembered_and_never_handed_back(tmp_path):
    said: list[str] = []
    rec = Recorder([lb.Proof(False, "crashed (SIGSEGV) on a multi-token prompt"), lb.Proof(True, "ok", 100, 20)])
    choice = _choose(tmp_path, rec, said)
    assert choice.variant.name == "safe" and rec.built == ["fast", "safe"]
    assert not list((tmp_path / "fast").glob("*.whl")), "the crashing wheel must be deleted"
    assert json.loads((tmp_path / "fast" / "proof.json").read_text())["ok"] is False
    assert "'safe' build" in choice.line() and "fast crashed (SIGSEGV)" in choice.line()
    assert any("discarded" in s for s in said)

    # A second install: the failed build is neither rebuilt nor reinstalled; the kept one is re-proven.
    rec2 = Recorder([lb.Proof(True, "ok", 100, 20)])
    again = _choose(tmp_path, rec2, said)
    assert again.variant.name == "safe" and rec2.built == [] and rec2.installed == ["safe"]
    assert "failed its proof on this CPU before" in again.line()


def test_a_cached_build_that_now_fails_is_dropped_too(tmp_path):
    rec = Recorder([lb.Proof(True, "ok", 1, 1)])
    _choose(tmp_path, rec, [])
    rec2 = Recorder([lb.Proof(False, "answered nonsense: expected 101, 102"), lb.Proof(True, "ok", 1, 1)])
    choice = _choose(tmp_path, rec2, [])
    assert choice.variant.name == "safe" and rec2.installed == ["fast", "safe"]
    assert not list((tmp_path / "fast").glob("*.whl"))


def test_when_nothing_passes_the_install_stops_with_every_reason(tmp_path):
    rec = Recorder([lb.Proof(False, f"bad {i}") for i in range(3)])
    with pytest.raises(RuntimeError, match="no llama.cpp build passed.*fast: bad 0.*safe: bad 1.*slow: bad 2"):
        _choose(tmp_path, rec, [])


def _fake_python(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "python"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


def test_prove_reports_a_crashing_child_by_its_signal(tmp_path):
    proof = lb.prove(tmp_path / "m.gguf", python=_fake_python(tmp_path, "kill -SEGV $$"))
    assert not proof.ok and "SIGSEGV" in proof.detail


def test_prove_reports_nonsense_and_hangs(tmp_path):
    nonsense = json.dumps({"text": " the the the", "prompt_tokens": 300, "prompt_tps": 1.0, "gen_tps": 1.0})
    proof = lb.prove(tmp_path / "m.gguf", python=_fake_python(tmp_path, f"echo '{nonsense}'"))
    assert not proof.ok and "nonsense" in proof.detail
    proof = lb.prove(tmp_path / "m.gguf", python=_fake_python(tmp_path, "sleep 5"), timeout=0.5)
    assert not proof.ok and "no answer within" in proof.detail


@pytest.mark.models
def test_the_installed_build_passes_its_proof_with_the_packaged_model(tmp_path):
    from rag.models import bundled_gguf

    model = bundled_gguf(Path(__file__).resolve().parent.parent / "data" / "models")
    proof = lb.prove(model)
    assert proof.ok, proof.detail
    assert proof.prompt_tps > 0 and proof.gen_tps > 0


@pytest.mark.models
def test_a_multi_token_cited_answer_arrives_from_a_child_process(tmp_path):
    """`rag ask` on a fresh data folder builds its index and answers with the bundled model."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, RAG_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    # The joined model is shared, not re-joined, so the fresh data folder gets a link to it.
    (tmp_path / "data" / "models").mkdir(parents=True)
    for f in (root / "data" / "models").glob("qwen2.5-coder-*"):
        (tmp_path / "data" / "models" / f.name).symlink_to(f)
    rag = Path(sys.executable).parent / "rag"
    done = subprocess.run(
        [str(rag), "ask", "--json", "Where is the Karachi Police Office located?"], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert len(out["answer"].split()) >= 3 and "[1]" in out["answer"]
    assert out["citations"] and not out["abstained"]
    assert "index" in done.stderr.lower()  # the progress line of the index it had to build


def test_a_missing_module_is_the_machines_fault_not_the_builds(tmp_path):
    proof = lb.prove(
        tmp_path / "m.gguf", python=_fake_python(tmp_path, "echo \"ModuleNotFoundError: No module named 'diskcache'\" >&2; exit 1")
    )
    assert not proof.ok and proof.environment
    rec = Recorder([proof])
    with pytest.raises(RuntimeError, match="diskcache"):
        _choose(tmp_path / "cache", rec, [])
    assert list((tmp_path / "cache" / "fast").glob("*.whl")), "the wheel is kept"
    assert not (tmp_path / "cache" / "fast" / "proof.json").exists(), "and no failure is recorded"
    broken = lb.prove(
        tmp_path / "m.gguf",
        python=_fake_python(tmp_path, "echo \"ModuleNotFoundError: No module named 'llama_cpp.llama_cpp'\" >&2; exit 1"),
    )
    assert not broken.ok and not broken.environment
