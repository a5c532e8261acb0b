"""Interrupted training loses nothing (issue 6, item 2): a run killed with SIGKILL after a checkpoint and resumed from
it ends exactly where an uninterrupted run ends, masks, multipliers, optimizer, scheduler and data order included."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from scripts.tiny_runs import launch, mask_tensors, max_difference, wait

TOLERANCE = 1e-6
# 24 examples in batches of 4: 6 steps per epoch. The crash after step 5 loses step 5; the resumed run restarts in the
# middle of epoch 0 (4 batches to skip) and crosses into epoch 1 (a reshuffle) before checkpoint-8.
# The plan freezes at step 6, so the resumed run crosses the freeze.
RUN_FLAGS = ["--max_steps", "8", "--save_steps", "4", "--seed", "11", "--frozen_plan_steps", "2"]
KILLED_AFTER_STEP = 5


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Output dirs of an uninterrupted run and of a run killed after step 5 then resumed from checkpoint-4."""
    root = tmp_path_factory.mktemp("resume")
    uninterrupted, interrupted = root / "uninterrupted", root / "interrupted"
    processes = [
        launch([sys.executable], ["--output_dir", str(uninterrupted), *RUN_FLAGS]),
        launch(
            [sys.executable],
            ["--output_dir", str(interrupted), *RUN_FLAGS, "--kill_after_step", str(KILLED_AFTER_STEP)],
        ),
    ]
    wait(processes[0])
    wait(processes[1], expected_returncode=-signal.SIGKILL)
    killed_state = sorted(path.name for path in interrupted.iterdir())
    resumed = launch(
        [sys.executable],
        ["--output_dir", str(interrupted), *RUN_FLAGS, "--resume_from_checkpoint", str(interrupted / "checkpoint-4")],
    )
    wait(resumed)
    return {"uninterrupted": uninterrupted, "interrupted": interrupted, "killed_state": killed_state}


def trainer_state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / "trainer_state.json").read_text())


def test_the_kill_left_only_the_checkpoint_before_it(runs):
    assert runs["killed_state"] == ["checkpoint-4"]
    assert trainer_state(runs["interrupted"] / "checkpoint-4")["global_step"] == 4


def test_resumed_run_ends_with_the_masks_and_multipliers_of_an_uninterrupted_run(runs):
    expected = mask_tensors(runs["uninterrupted"] / "checkpoint-8")
    resumed = mask_tensors(runs["interrupted"] / "checkpoint-8")
    assert max_difference(resumed, expected) <= TOLERANCE
    # Not vacuous: the steps after the checkpoint moved the masks and the multipliers.
    at_checkpoint = mask_tensors(runs["interrupted"] / "checkpoint-4")
    for name in ("gate_log_alpha", "bin_log_alpha", "lagrange_multipliers"):
        assert float((expected[name] - at_checkpoint[name]).abs().max()) > 1e-3, name


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_run(runs):
    expected = load_file(runs["uninterrupted"] / "checkpoint-8" / "model.safetensors")
    resumed = load_file(runs["interrupted"] / "checkpoint-8" / "model.safetensors")
    assert max_difference(resumed, expected) <= TOLERANCE


def test_resumed_run_ends_with_the_optimizer_and_scheduler_of_an_uninterrupted_run(runs):
    final = {name: runs[name] / "checkpoint-8" for name in ("uninterrupted", "interrupted")}
    optimizers = {name: torch.load(path / "optimizer.pt", weights_only=True) for name, path in final.items()}
    expected, resumed = optimizers["uninterrupted"], optimizers["interrupted"]
    assert expected["state"].keys() == resumed["state"].keys()
    for index, state in expected["state"].items():
        assert max_difference(resumed["state"][index], state) <= TOLERANCE, index
    assert resumed["param_groups"] == expected["param_groups"]
    schedulers = {name: torch.load(path / "scheduler.pt", weights_only=True) for name, path in final.items()}
    assert schedulers["interrupted"] == schedulers["uninterrupted"]
    assert schedulers["interrupted"]["last_epoch"] == 8


def test_resumed_run_sees_the_same_batches_and_losses_after_the_checkpoint(runs):
    """Same data order and mask noise: each logged value of steps 5-8 matches (batch lengths enter the sparsity)."""
    histories = {
        name: {log["step"]: log for log in trainer_state(runs[name] / "checkpoint-8")["log_history"] if "loss" in log}
        for name in ("uninterrupted", "interrupted")
    }
    assert sorted(histories["interrupted"]) == sorted(histories["uninterrupted"]) == list(range(1, 9))
    for step in range(5, 9):
        expected, resumed = histories["uninterrupted"][step], histories["interrupted"][step]
        for key in ("loss", "distill_loss", "rank_loss", "lagrangian_loss", "expected_sparsity", "lambda_1"):
            assert resumed[key] == pytest.approx(expected[key], rel=1e-5, abs=1e-7), (step, key)
        assert resumed["plan_frozen"] == expected["plan_frozen"] == float(step > 6), step
