"""benchmarks/accuracy.py: what its options name and pass to the runs (nothing is trained here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def accuracy():
    """The benchmark script imported as a module (it imports its sibling `common` and `examples/run_glue_top`)."""
    sys.path.insert(0, str(BENCHMARKS))
    import accuracy

    yield accuracy
    sys.path.remove(str(BENCHMARKS))


def benchmark(accuracy, shared_data, *options: str):
    return accuracy.Benchmark(accuracy.parse_args(["--task", "sst2", "--data_dir", str(shared_data), *options]))


def test_default_runs_have_no_variant_label_and_pass_the_trainer_defaults(accuracy, shared_data):
    bench = benchmark(accuracy, shared_data)
    assert bench.top_variant == []
    options = bench.pruning_options(0.45)
    assert "--bf16" not in options and "--target_sparsity_tolerance" not in options
    assert options[options.index("--target_sparsity") + 1] == "0.45"


def test_bf16_and_tolerance_are_named_in_the_run_folders_and_passed_to_the_runs(accuracy, shared_data):
    bench = benchmark(accuracy, shared_data, "--bf16", "--target_sparsity_tolerance", "0")
    assert bench.top_variant == [("-tol0", "kept within 0 of the target"), ("-bf16", "bf16 autocast")]
    options = bench.pruning_options(0.6)
    assert "--bf16" in options
    assert options[options.index("--target_sparsity_tolerance") + 1] == "0.0"
