"""`pip install transformers-top` alone: the model, trainer and Hub entry points work without the extras' packages
(datasets, scikit-learn, scipy, matplotlib), in a process whose site-packages does not hold them."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import transformers_top

#: Top-level names (modules and their `.dist-info`) of the packages the library itself must not need.
EXTRAS = ("datasets", "sklearn", "scikit_learn", "scipy", "matplotlib", "mpl_toolkits", "pylab")

SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys, tempfile
    extras = sys.argv[1].split(",")
    findable = [name for name in extras if importlib.util.find_spec(name) is not None]
    import torch
    import transformers_top
    from transformers import BertConfig, BertForSequenceClassification
    from transformers_top import (
        TopBertConfig, TopBertForSequenceClassification, TopTrainer, TopTrainingArguments, push_pruned_model,
    )

    tiny = dict(vocab_size=99, hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=64)
    torch.manual_seed(0)
    teacher = BertForSequenceClassification(BertConfig(**tiny))
    student = TopBertForSequenceClassification(TopBertConfig(**tiny))
    student.load_state_dict(teacher.state_dict(), strict=False)
    rows = [{"input_ids": [2] + [5 + (i * 7 + j) % 90 for j in range(12)], "labels": i % 2} for i in range(16)]

    def collate(features):
        return {
            "input_ids": torch.tensor([f["input_ids"] for f in features]),
            "labels": torch.tensor([f["labels"] for f in features]),
        }

    output_dir = tempfile.mkdtemp()
    args = TopTrainingArguments(output_dir=output_dir, max_steps=4, per_device_train_batch_size=8, use_cpu=True,
                                report_to=[], save_strategy="no", target_sparsity=0.3)
    trainer = TopTrainer(model=student, teacher_model=teacher, args=args, train_dataset=rows, eval_dataset=rows,
                         data_collator=collate)
    metrics = trainer.train().metrics
    trainer.save_model(output_dir)
    trainer.create_model_card()  # without matplotlib: the card without its plot
    model = TopBertForSequenceClassification.from_pretrained(output_dir).eval()
    model.config.token_keep_ratios = [1.0, 1.0, 0.5, 0.5]
    logits = model(input_ids=torch.tensor([rows[0]["input_ids"]])).logits
    commit = push_pruned_model(model, "test-user/no-extras")
    print(json.dumps({
        "realized_sparsity": metrics["realized_sparsity"],
        "logits_shape": list(logits.shape),
        "card": open(output_dir + "/README.md").read()[:200],
        "commit": commit.oid,
        "extras_findable": findable,
        "extras_imported": sorted(name for name in sys.modules if name.split(".")[0] in extras),
    }))
    """
)


@pytest.fixture(scope="module")
def site_without_extras(tmp_path_factory) -> Path:
    """This interpreter's site-packages as a folder of links, without the extras' packages."""
    view = tmp_path_factory.mktemp("site-without-extras")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name.split("-")[0].split(".")[0].lower() not in EXTRAS:
            (view / entry.name).symlink_to(entry)
    return view


def test_model_trainer_and_hub_work_without_the_extras(site_without_extras, loopback_hub):
    source = Path(transformers_top.__file__).parents[1]
    # `-S`: no `site`, so no `.pth` file of the full site-packages is processed; the path is exactly the one given.
    environment = {"PYTHONPATH": f"{source}:{site_without_extras}", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    completed = subprocess.run(
        [sys.executable, "-S", "-c", SCRIPT, ",".join(EXTRAS)],
        capture_output=True,
        text=True,
        env={**_inherited_environment(), **environment},
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["extras_findable"] == [] and report["extras_imported"] == []
    assert report["logits_shape"] == [1, 2] and 0.0 <= report["realized_sparsity"] < 1.0
    assert "token-pruning" in report["card"]
    assert loopback_hub.repos["test-user/no-extras"].branches["main"] == report["commit"]


def _inherited_environment() -> dict[str, str]:
    """The Hub settings of this test session (loopback endpoint, token, cache) and the thread count."""
    import os

    keep = ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_CACHE", "HF_HUB_DISABLE_XET", "OMP_NUM_THREADS", "HOME", "PATH")
    return {name: os.environ[name] for name in keep if name in os.environ}
