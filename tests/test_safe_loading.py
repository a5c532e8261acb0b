"""Safe loading (issue 6, item 4): weights only through safetensors, every other saved state as JSON or through
`torch.load(weights_only=True)`, and no pickle payload executed, neither from a model directory nor on resume."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from scripts.tiny_runs import mask_tensors, train_in_process
from transformers import AutoModelForSequenceClassification
from transformers.trainer_pt_utils import safe_globals

from transformers_top import TopBertForSequenceClassification

#: Files a finalized model directory may hold: weights, configuration and training arguments as JSON, the portable
#: modules that `trust_remote_code` runs.
SAFE_SUFFIXES = {".safetensors", ".json", ".py"}
#: First bytes of the two formats `torch.save` writes: a zip archive (default) or a raw pickle (protocol 2+).
PICKLE_MAGIC = (b"PK\x03\x04", b"\x80")


class Payload:
    """Unpickling this runs `os.makedirs(marker)`: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (str(self.marker),)


def poison(path: Path, marker: Path) -> None:
    """Replace `path` with a `torch.save` file whose unpickling creates `marker`."""
    torch.save({"state": Payload(marker)}, path)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A 4-step in-process run: `output/checkpoint-{2,4}` (training checkpoints) and `final` (save_model)."""
    root = tmp_path_factory.mktemp("safe-loading")
    train_in_process(
        [
            "--output_dir", str(root / "output"),
            "--final_model_dir", str(root / "final"),
            "--max_steps", "4",
            "--save_steps", "2",
            "--seed", "1",
        ]
    )  # fmt: skip
    return root


def resume(checkpoint: Path, output_dir: Path) -> None:
    """Resume the run of the `run` fixture from `checkpoint` up to step 4."""
    train_in_process(
        [
            "--output_dir", str(output_dir),
            "--resume_from_checkpoint", str(checkpoint),
            "--max_steps", "4",
            "--save_steps", "2",
            "--seed", "1",
        ]
    )  # fmt: skip


def test_payload_is_live(tmp_path):
    """The payload used below really runs code when unpickled without `weights_only`."""
    marker = tmp_path / "pwned"
    poison(tmp_path / "payload.pt", marker)
    torch.load(tmp_path / "payload.pt", weights_only=False)
    assert marker.is_dir()


def test_finalized_model_holds_no_pickle(run):
    files = sorted((run / "final").iterdir())
    assert {path.suffix for path in files} <= SAFE_SUFFIXES, [path.name for path in files]
    assert {"config.json", "model.safetensors", "training_args.json"} <= {path.name for path in files}
    for path in files:
        assert not path.read_bytes().startswith(PICKLE_MAGIC), path.name


def test_finalized_model_loads_without_torch_load(run, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"torch.load called with {args} {kwargs}")

    monkeypatch.setattr(torch, "load", refuse)
    final = run / "final"
    weights = load_file(final / "model.safetensors")
    for model_class in (TopBertForSequenceClassification, AutoModelForSequenceClassification):
        model = model_class.from_pretrained(final)
        assert isinstance(model, TopBertForSequenceClassification)
        assert model.base_model.token_masks is None
        assert model.config.is_pruned
        state = model.state_dict()
        for name, tensor in weights.items():
            assert torch.equal(state[name], tensor), name


def test_training_checkpoint_contents(run):
    """Audit of a checkpoint: what each file is and how transformers loads it on resume."""
    checkpoint = run / "output" / "checkpoint-4"
    names = {path.name for path in checkpoint.iterdir()}
    assert {
        "config.json", "model.safetensors", "trainer_state.json",
        "optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin",
    } <= names  # fmt: skip
    assert {path.suffix for path in checkpoint.iterdir()} <= SAFE_SUFFIXES | {".pt", ".pth", ".bin"}
    # Masks and multipliers travel with the weights, in safetensors; the plan fields in config.json.
    assert mask_tensors(checkpoint)["bin_log_alpha"].shape == (2, 4)
    assert json.loads((checkpoint / "config.json").read_text())["pruning_masks"] is True
    json.loads((checkpoint / "trainer_state.json").read_text())
    # What the Trainer reloads on resume is plain tensors and containers: it loads with weights_only=True.
    optimizer = torch.load(checkpoint / "optimizer.pt", weights_only=True)
    assert len(optimizer["param_groups"]) == 4
    assert torch.load(checkpoint / "scheduler.pt", weights_only=True)["last_epoch"] == 4
    with safe_globals():  # numpy's RNG state: transformers allow-lists the numpy array types
        rng_state = torch.load(checkpoint / "rng_state.pth", weights_only=True)
    assert {"python", "numpy", "cpu"} <= set(rng_state)
    # training_args.bin is a full pickle of the arguments: weights_only refuses it. The Trainer writes it but never
    # reads it; the finalized model carries training_args.json instead.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(checkpoint / "training_args.bin", weights_only=True)


@pytest.mark.parametrize("file_name", ["optimizer.pt", "scheduler.pt", "rng_state.pth"])
def test_resume_refuses_a_pickle_payload(run, tmp_path, file_name):
    checkpoint = tmp_path / "checkpoint-2"
    shutil.copytree(run / "output" / "checkpoint-2", checkpoint)
    marker = tmp_path / "pwned"
    poison(checkpoint / file_name, marker)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        resume(checkpoint, tmp_path / "output")
    assert not marker.exists()


def test_resume_never_loads_training_args_bin(run, tmp_path):
    checkpoint = tmp_path / "checkpoint-2"
    shutil.copytree(run / "output" / "checkpoint-2", checkpoint)
    marker = tmp_path / "pwned"
    poison(checkpoint / "training_args.bin", marker)
    resume(checkpoint, tmp_path / "output")
    assert not marker.exists()
    assert (tmp_path / "output" / "checkpoint-4" / "model.safetensors").is_file()


def test_pickled_weights_are_refused(run, tmp_path):
    """A directory (or downloaded repository) with pickled weights only: the payload is refused, not run."""
    shutil.copy(run / "final" / "config.json", tmp_path / "config.json")
    marker = tmp_path / "pwned"
    poison(tmp_path / "pytorch_model.bin", marker)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        TopBertForSequenceClassification.from_pretrained(tmp_path)
    assert not marker.exists()


def test_safetensors_win_over_pickled_weights(run, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(run / "final", model_dir)
    marker = tmp_path / "pwned"
    poison(model_dir / "pytorch_model.bin", marker)
    model = TopBertForSequenceClassification.from_pretrained(model_dir)
    assert not marker.exists()
    assert torch.equal(model.classifier.weight, load_file(model_dir / "model.safetensors")["classifier.weight"])
