"""Multi-process training (issue 6, item 3): `torchrun` and `accelerate launch --multi_gpu` run two CPU processes over
gloo; the masks and multipliers stay identical on both ranks, the FLOPs constraint uses the global batch and a single
set of checkpoints is written."""

from __future__ import annotations

import json

import pytest
import torch
from scripts.tiny_runs import accelerate_launcher, launch, mask_tensors, read_jsonl, torchrun_launcher, wait
from scripts.train_tiny import TinyRunArguments, build_trainer

from transformers_top import TopBertConfig, TopBertForSequenceClassification, TopTrainingArguments

NUM_PROCESSES = 2
MAX_STEPS = 4
SAVE_STEPS = 2
LAUNCHERS = {"torchrun": torchrun_launcher, "accelerate": accelerate_launcher}


@pytest.fixture(scope="module", params=sorted(LAUNCHERS))
def run(request, tmp_path_factory) -> dict:
    """One two-process run of 4 steps (checkpoints at 2 and 4), with each rank's records."""
    root = tmp_path_factory.mktemp(f"ddp-{request.param}")
    flags = [
        "--output_dir", str(root / "output"),
        "--record_dir", str(root / "records"),
        "--final_model_dir", str(root / "final"),
        "--max_steps", str(MAX_STEPS),
        "--save_steps", str(SAVE_STEPS),
        "--seed", "3",
    ]  # fmt: skip
    wait(launch(LAUNCHERS[request.param](NUM_PROCESSES), flags))
    records = [read_jsonl(root / "records" / f"rank{rank}.jsonl") for rank in range(NUM_PROCESSES)]
    return {"root": root, "records": records}


def events(records: list[dict], name: str) -> list[dict]:
    return [record for record in records if record["event"] == name]


def step_logs(records: list[dict]) -> dict[int, dict]:
    return {log["step"]: log for log in events(records, "log") if "loss" in log}


def test_ranks_see_different_batches(run):
    """Each rank trains on its own shard, so identical masks below come from gradient synchronisation."""
    rank0, rank1 = ([batch["lengths"] for batch in events(records, "batch")][:MAX_STEPS] for records in run["records"])
    assert len(rank0) == len(rank1) == MAX_STEPS
    assert rank0 != rank1


def test_masks_and_multipliers_identical_on_both_ranks_after_every_step(run):
    snapshots = [{record["step"]: record for record in events(records, "masks")} for records in run["records"]]
    assert sorted(snapshots[0]) == sorted(snapshots[1]) == list(range(MAX_STEPS + 1))
    for step in range(MAX_STEPS + 1):
        for key in ("gate", "bins", "multipliers"):
            assert snapshots[0][step][key] == snapshots[1][step][key], (step, key)
    assert snapshots[0][MAX_STEPS]["bins"] != snapshots[0][0]["bins"]
    assert snapshots[0][MAX_STEPS]["multipliers"] != snapshots[0][0]["multipliers"]
    saved = mask_tensors(run["root"] / "output" / f"checkpoint-{MAX_STEPS}")
    assert saved["bin_log_alpha"].tolist() == snapshots[0][MAX_STEPS]["bins"]


def test_flops_constraint_uses_the_global_batch(run):
    """Both ranks log the expected sparsity of the two shards together, recomputed here from the recorded masks."""
    config = TopBertConfig.from_pretrained(run["root"] / "output" / f"checkpoint-{SAVE_STEPS}")
    model = TopBertForSequenceClassification(config)
    masks = model.base_model.token_masks
    snapshots = {record["step"]: record for record in events(run["records"][0], "masks")}
    batches = [[batch["lengths"] for batch in events(records, "batch")] for records in run["records"]]
    logs = [step_logs(records) for records in run["records"]]
    assert sorted(logs[0]) == sorted(logs[1]) == list(range(1, MAX_STEPS + 1))
    local_gaps = []
    for step in range(1, MAX_STEPS + 1):
        assert logs[0][step]["expected_sparsity"] == logs[1][step]["expected_sparsity"], step
        with torch.no_grad():
            masks.gate_log_alpha.copy_(torch.tensor(snapshots[step - 1]["gate"]))
            masks.bin_log_alpha.copy_(torch.tensor(snapshots[step - 1]["bins"]))
            global_lengths = torch.tensor(batches[0][step - 1] + batches[1][step - 1])
            expected = float(model.expected_sparsity(global_lengths))
            local = float(model.expected_sparsity(torch.tensor(batches[0][step - 1])))
        assert logs[0][step]["expected_sparsity"] == pytest.approx(expected, abs=1e-6), step
        local_gaps.append(abs(local - expected))
    # Not vacuous: rank 0's shard alone gives a visibly different constraint.
    assert max(local_gaps) > 1e-3


def test_one_set_of_checkpoints_is_written(run):
    output = run["root"] / "output"
    assert sorted(path.name for path in output.iterdir()) == [f"checkpoint-{SAVE_STEPS}", f"checkpoint-{MAX_STEPS}"]
    for step in (SAVE_STEPS, MAX_STEPS):
        checkpoint = output / f"checkpoint-{step}"
        names = {path.name for path in checkpoint.iterdir()}
        # One RNG state per process proves a real 2-process run; everything else is written once, by rank 0.
        assert {"model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json"} <= names
        assert {name for name in names if name.startswith("rng_state")} == {"rng_state_0.pth", "rng_state_1.pth"}
        assert json.loads((checkpoint / "trainer_state.json").read_text())["global_step"] == step


def test_final_model_is_saved_finalized(run):
    final = run["root"] / "final"
    config = json.loads((final / "config.json").read_text())
    assert config["pruning_masks"] is False
    assert config["token_keep_ratios"][2] < 1.0
    model = TopBertForSequenceClassification.from_pretrained(final)
    assert model.base_model.token_masks is None


def test_ddp_does_not_search_for_unused_parameters(tmp_path):
    """transformers' default (search, for a PreTrainedModel) marks the multipliers, used outside the forward, twice."""
    args = TopTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", num_bins=4)
    assert build_trainer(TinyRunArguments(), args).args.ddp_find_unused_parameters is False
    args = TopTrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to="none", num_bins=4, ddp_find_unused_parameters=True
    )
    with pytest.raises(ValueError, match="ddp_find_unused_parameters=True"):
        build_trainer(TinyRunArguments(), args)
