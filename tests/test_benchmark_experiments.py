"""benchmarks/experiments.py and benchmarks/results/: every result in the tree is declared, traceable and current."""

from __future__ import annotations

import json
from pathlib import Path

import experiments
import pytest

RESULTS = Path(experiments.RESULTS_DIR)
DECLARED = {name for experiment in experiments.EXPERIMENTS for name in experiment.results}


def test_every_result_file_is_written_by_a_declared_experiment():
    files = {path.name for path in RESULTS.glob("*.json")}
    assert files <= DECLARED, (
        f"results no declared experiment writes (remove them, git keeps them): {files - DECLARED}"
    )
    stems = {name.removesuffix(".json") for name in files}
    plots = {path.stem for path in RESULTS.glob("*.png")}
    assert plots <= stems, f"plots without their results file: {plots - stems}"


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*.json")), ids=lambda path: path.name)
def test_every_result_records_how_and_where_it_was_measured(path):
    record = json.loads(path.read_text())
    environment = record.get("environment") or {
        "command": record.get("command"),
        "git_commit": record.get("git_commit"),
        "cpu_model": record.get("hardware", {}).get("cpu"),
        "torch_threads": record.get("hardware", {}).get("torch_threads"),
    }
    for field in ("command", "git_commit", "cpu_model", "torch_threads"):
        assert environment.get(field), f"{path.name} does not record its {field}"


def test_experiment_names_are_unique_and_their_scripts_exist():
    names = [experiment.name for experiment in experiments.EXPERIMENTS]
    assert len(names) == len(set(names))
    root = Path(experiments.REPO_ROOT)
    for experiment in experiments.EXPERIMENTS:
        for command in experiment.commands:
            assert (root / command[0]).is_file(), command[0]


def test_unknown_experiment_names_are_refused(capsys):
    with pytest.raises(SystemExit):
        experiments.main(["no-such-experiment"])
    assert "unknown experiments ['no-such-experiment']" in capsys.readouterr().err


AMD_AVX2 = frozenset({"fpu", "sse2", "avx", "fma", "avx2"})
XEON_AMX = AMD_AVX2 | {"avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile"}


@pytest.fixture
def ran(monkeypatch, tmp_path):
    """The experiments `main` runs, in order; running one writes its results files (in a temporary folder)."""
    names = []

    def run(experiment):
        names.append(experiment.name)
        for result in experiment.results:
            (tmp_path / result).write_text("{}")

    monkeypatch.setattr(experiments, "run", run)
    monkeypatch.setattr(experiments, "RESULTS_DIR", tmp_path)
    return names


def on_cpu(monkeypatch, flags):
    monkeypatch.setattr(experiments, "cpu_flags", lambda: flags)
    monkeypatch.setattr(experiments, "cpu_features", lambda: "AVX2" if flags == AMD_AVX2 else "AMX, AVX-512, AVX2")


def test_an_experiment_meant_for_another_cpu_is_refused_by_name_unless_any_cpu(ran, monkeypatch, capsys):
    on_cpu(monkeypatch, AMD_AVX2)
    with pytest.raises(SystemExit):
        experiments.main(["deployment-bert-base-amx"])
    error = capsys.readouterr().err
    assert "deployment-bert-base-amx for a CPU with int8 dot products (VNNI), and this one has AVX2" in error
    assert "--any_cpu" in error and ran == []
    experiments.main(["deployment-bert-base-amx", "--any_cpu"])
    experiments.main(["deployment-bert-base"])
    assert ran == ["deployment-bert-base-amx", "deployment-bert-base"]


AVX2_PAIR_MEMBERS = {"deployment-bert-base", "batch-invariance-avx2"}
AMX_PAIR_MEMBERS = {"deployment-bert-base-amx", "batch-invariance"}


@pytest.mark.parametrize(
    ("flags", "runs", "skips"),
    [(AMD_AVX2, AVX2_PAIR_MEMBERS, AMX_PAIR_MEMBERS), (XEON_AMX, AMX_PAIR_MEMBERS, AVX2_PAIR_MEMBERS)],
)
def test_make_bench_runs_each_cpu_pair_member_on_its_own_kind_of_cpu_and_says_what_it_skips(
    ran, monkeypatch, capsys, flags, runs, skips
):
    on_cpu(monkeypatch, flags)
    experiments.main(["--short"])
    short = [experiment.name for experiment in experiments.EXPERIMENTS if not experiment.long]
    assert ran == [name for name in short if name not in skips]
    assert runs <= set(ran)
    out = capsys.readouterr().out
    for name in skips:
        assert f"[{name}] skipped: meant for a CPU with" in out


def test_an_unknown_cpu_runs_everything_and_an_unknown_kind_is_refused(ran, monkeypatch):
    monkeypatch.setattr(experiments, "cpu_flags", lambda: None)
    experiments.main(["deployment-bert-base-amx", "deployment-bert-base"])
    assert ran == ["deployment-bert-base-amx", "deployment-bert-base"]
    with pytest.raises(ValueError, match=r"experiment x: cpu='AVX-1024' is not one of \['AVX2 without AVX-512'"):
        experiments.Experiment("x", "purpose", (("x.py",),), ("x.json",), cpu="AVX-1024")
