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
