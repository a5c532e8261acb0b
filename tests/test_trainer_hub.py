"""`TopTrainer.push_to_hub()`: the deployable model and the ToP model card, through the loopback Hub."""

from __future__ import annotations

import json

from huggingface_hub import ModelCard
from safetensors.torch import load
from test_trainer import make_dataset, make_trainer


def test_trainer_push_uploads_the_finalized_model_with_its_card(loopback_hub, tiny_bert_dir, tmp_path):
    trainer = make_trainer(
        tiny_bert_dir,
        tmp_path / "run",
        train_dataset=make_dataset(32),
        eval_dataset=make_dataset(16, seed=1),
        max_steps=3,
        eval_strategy="steps",
        eval_steps=3,
        save_strategy="steps",
        save_steps=3,
        hub_model_id="test-user/trained-top",
        flops_padded_length=48,
        metric_for_best_model="loss",
    )
    trainer.train()
    trainer.push_to_hub(dataset_tags="nyu-mll/glue", dataset_args="sst2", tags="test")

    files = loopback_hub.repos["test-user/trained-top"].resolve("main").files
    assert not [name for name in files if name.startswith("checkpoint-")]
    assert {"README.md", "kept_tokens.png", "training_args.json", "configuration_top_bert.py"} <= set(files)
    config = json.loads(files["config.json"])
    assert config["pruning_masks"] is False and len(config["token_keep_ratios"]) == 4
    assert not [name for name in load(files["model.safetensors"]) if "token_masks" in name]

    card = ModelCard(files["README.md"].decode())
    assert {"token-pruning", "top", "test"} <= set(card.data.tags)
    assert card.data.eval_results[0].dataset_type == "nyu-mll/glue"
    assert card.data.library_name == "transformers"
    last_eval = [entry for entry in trainer.state.log_history if "eval_flops_reduction" in entry][-1]
    results = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert results["loss"] == last_eval["eval_loss"]
    assert f"{last_eval['eval_flops_reduction']:.2f}" in card.text
    assert "target_sparsity" in card.text
