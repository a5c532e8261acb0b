"""Push -> load round trips through the real huggingface_hub client and the loopback Hub of tests/hub_server.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import huggingface_hub
import pytest
import torch
from huggingface_hub import HfApi, ModelCard, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, pipeline

import transformers_top
from transformers_top import (
    TopBertForSequenceClassification,
    TopBertModel,
    TopModelCardData,
    push_pruned_model,
    save_pruned_model,
)
from transformers_top.models.flops import plan_lengths

#: The Hub-portable model files: a saved model carries its family's and the shared ones (not `__init__.py`).
MODELS_DIR = Path(transformers_top.__file__).parent / "models"
PLOT_BYTES = b"\x89PNG\r\n\x1a\nstand-in image bytes"
SENTENCES = ["the movie was really good , not boring and not slow !", "dull plot ."]
CARD = TopModelCardData(
    base_model="someone/tiny-teacher",
    dataset="nyu-mll/glue",
    dataset_config="sst2",
    metric_name="accuracy",
    pruned_metric=0.75,
    flops_reduction=1.5,
)


@pytest.fixture
def plot(tmp_path) -> Path:
    path = tmp_path / "kept_tokens.png"
    path.write_bytes(PLOT_BYTES)
    return path


def repo_files(hub, repo_id: str) -> dict[str, bytes]:
    repo = hub.repos[repo_id]
    return repo.resolve("main").files


def test_push_pruned_model_uploads_everything_in_one_commit(
    loopback_hub, tiny_pruned_classifier, tiny_tokenizer, plot
):
    commit = push_pruned_model(
        tiny_pruned_classifier, "round-trip", card_data=CARD, tokenizer=tiny_tokenizer, plot=plot
    )

    repo_id = "test-user/round-trip"  # a bare name goes to the token owner's namespace
    history = loopback_hub.repos[repo_id].history()
    assert [entry.sha for entry in history[1:]] == [commit.oid]  # the repository's initial commit, then ours
    files = repo_files(loopback_hub, repo_id)
    portable = {name for name in files if name.endswith(".py")}
    # BERT's own files and the shared machinery; other families' files stay behind.
    other_families = {"configuration_top_roberta.py", "modeling_top_roberta.py"}
    assert portable == {path.name for path in MODELS_DIR.glob("*.py")} - {"__init__.py", *other_families}
    for name in portable:
        assert files[name] == (MODELS_DIR / name).read_bytes(), name
    assert {"config.json", "model.safetensors", "README.md", "kept_tokens.png", "tokenizer_config.json"} <= set(files)
    assert files["kept_tokens.png"] == PLOT_BYTES

    config = json.loads(files["config.json"])
    assert config["model_type"] == "top_bert"
    assert config["token_keep_ratios"] == [1.0, 1.0, 0.5, 0.5] and config["pruning_masks"] is False
    assert set(config["auto_map"]) == {
        "AutoConfig",
        "AutoModel",
        "AutoModelForSequenceClassification",
        "AutoModelForQuestionAnswering",
    }


def test_round_trip_with_the_plugin(loopback_hub, tiny_pruned_classifier, tiny_tokenizer, plot, tmp_path):
    repo_id = "test-user/with-plugin"
    push_pruned_model(tiny_pruned_classifier, repo_id, card_data=CARD, tokenizer=tiny_tokenizer, plot=plot)

    # Weights: the uploaded file and the loaded model are bit-identical to the pushed model.
    expected = tiny_pruned_classifier.state_dict()
    uploaded = load_file(hf_hub_download(repo_id, "model.safetensors"))
    assert set(uploaded) == set(expected)
    assert all(torch.equal(uploaded[name], expected[name]) for name in expected)
    loaded = AutoModelForSequenceClassification.from_pretrained(repo_id)
    assert type(loaded) is TopBertForSequenceClassification  # the plugin's class, without trust_remote_code
    assert all(torch.equal(tensor, expected[name]) for name, tensor in loaded.state_dict().items())
    assert loaded.config.token_keep_ratios == [1.0, 1.0, 0.5, 0.5]
    assert type(AutoModel.from_pretrained(repo_id)) is TopBertModel
    # With the plugin imported, trust_remote_code=True changes nothing: the repository's code is not even downloaded.
    assert type(AutoModelForSequenceClassification.from_pretrained(repo_id, trust_remote_code=True)) is type(loaded)
    downloaded = {
        path.name for path in Path(huggingface_hub.constants.HF_HUB_CACHE).rglob("*") if "with-plugin" in str(path)
    }
    assert "config.json" in downloaded and not any(name.endswith(".py") for name in downloaded)

    # Card: metadata parsed back from the Hub.
    card = ModelCard.load(repo_id)
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "text-classification"
    assert card.data.base_model == "someone/tiny-teacher" and card.data.datasets == ["nyu-mll/glue"]
    assert {"token-pruning", "top"} <= set(card.data.tags)
    assert {result.metric_type: result.metric_value for result in card.data.eval_results} == {
        "accuracy": 0.75,
        "flops_reduction": 1.5,
    }
    assert f'model="{repo_id}"' in card.text and "](kept_tokens.png)" in card.text


def test_pipeline_from_the_hub_prunes_tokens(loopback_hub, tiny_pruned_classifier, tiny_tokenizer):
    repo_id = "test-user/pipeline"
    push_pruned_model(tiny_pruned_classifier, repo_id, tokenizer=tiny_tokenizer)
    pipe = pipeline("text-classification", model=repo_id)
    assert type(pipe.model) is TopBertForSequenceClassification

    lengths_at_last_layer = []
    last_layer = pipe.model.bert.encoder.layer[-1]
    hook = last_layer.register_forward_pre_hook(lambda module, args: lengths_at_last_layer.append(args[0].shape[1]))
    try:
        predictions = pipe(SENTENCES[0], top_k=None)
    finally:
        hook.remove()

    input_ids = tiny_tokenizer(SENTENCES[0])["input_ids"]
    assert len(input_ids) == 14 and tiny_tokenizer.unk_token_id not in input_ids
    # 13 tokens besides [CLS]: 7 kept at layer 2, 4 of those at layer 3, so the last layer runs on 5 tokens.
    assert lengths_at_last_layer == [plan_lengths(tiny_pruned_classifier.config, 14)[-1]] == [5]
    with torch.no_grad():
        logits = tiny_pruned_classifier(**tiny_tokenizer(SENTENCES[0], return_tensors="pt")).logits[0]
    expected = dict(zip(["LABEL_0", "LABEL_1"], logits.softmax(-1).tolist(), strict=True))
    scores = {prediction["label"]: prediction["score"] for prediction in predictions}
    assert scores == pytest.approx(expected, abs=1e-6)


# Runs with `python -I -S`: without the `site` module the editable install's `.pth` file (which puts `src/` on
# sys.path) is never processed, so `transformers_top` is not importable, as on a machine without the plugin. The
# site-packages directory is appended by hand (which processes no `.pth` file) for torch and transformers.
NO_PLUGIN_SCRIPT = r"""
import json, sys

site_packages, repo_id, sentences, output = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
sys.path.append(site_packages)
report = {}
try:
    import transformers_top
except ImportError as error:
    report["import_error"] = str(error)

import torch
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

try:
    AutoModelForSequenceClassification.from_pretrained(repo_id)
except ValueError as error:
    report["error_without_trust"] = str(error)

model = AutoModelForSequenceClassification.from_pretrained(repo_id, trust_remote_code=True).eval()
tokenizer = AutoTokenizer.from_pretrained(repo_id, trust_remote_code=True)
with torch.no_grad():
    logits = model(**tokenizer(sentences, padding=True, return_tensors="pt")).logits
torch.save(logits, f"{output}/logits.pt")
report["class"] = f"{type(model).__module__}.{type(model).__name__}"
report["base_class"] = type(AutoModel.from_pretrained(repo_id, trust_remote_code=True)).__name__
pipe = pipeline("text-classification", model=repo_id, trust_remote_code=True)
report["pipeline_class"] = type(pipe.model).__name__
report["plugin_loaded"] = any(name.startswith("transformers_top") for name in sys.modules)
with open(f"{output}/report.json", "w") as file:
    json.dump(report, file)
"""


def test_load_without_the_plugin(loopback_hub, tiny_pruned_classifier, tiny_tokenizer, tmp_path):
    repo_id = "test-user/without-plugin"
    push_pruned_model(tiny_pruned_classifier, repo_id, tokenizer=tiny_tokenizer)
    site_packages = sysconfig.get_paths()["purelib"]
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_CACHE=str(tmp_path / "hf-home" / "hub"))
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            NO_PLUGIN_SCRIPT,
            site_packages,
            repo_id,
            json.dumps(SENTENCES),
            str(tmp_path),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,  # generous: a loaded CI machine is slow to start a fresh interpreter with torch
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())

    assert report["import_error"] == "No module named 'transformers_top'"
    assert not report["plugin_loaded"]
    # transformers' own message names trust_remote_code and points to the repository, whose card names the plugin.
    assert "contains custom code which must be executed" in report["error_without_trust"]
    assert "Please pass the argument `trust_remote_code=True`" in report["error_without_trust"]
    assert f"/{repo_id}" in report["error_without_trust"]
    assert "pip install transformers-top" in ModelCard.load(repo_id).text
    assert report["class"].startswith("transformers_modules.")
    assert report["class"].endswith(".modeling_top_bert.TopBertForSequenceClassification")
    assert (report["base_class"], report["pipeline_class"]) == ("TopBertModel", "TopBertForSequenceClassification")

    with torch.no_grad():
        expected = tiny_pruned_classifier(**tiny_tokenizer(SENTENCES, padding=True, return_tensors="pt")).logits
    assert torch.equal(torch.load(tmp_path / "logits.pt"), expected)


def test_pinned_revision_loads_the_pinned_weights(loopback_hub, tiny_pruned_classifier):
    repo_id = "test-user/pinned"
    first = push_pruned_model(tiny_pruned_classifier, repo_id, commit_message="first plan")
    first_weights = {name: tensor.clone() for name, tensor in tiny_pruned_classifier.state_dict().items()}
    with torch.no_grad():
        tiny_pruned_classifier.classifier.bias.add_(1.0)
    tiny_pruned_classifier.config.token_keep_ratios = [1.0, 1.0, 0.25, 1.0]
    second = push_pruned_model(tiny_pruned_classifier, repo_id, commit_message="second plan")

    assert [commit.message for commit in loopback_hub.repos[repo_id].history()[1:]] == ["first plan", "second plan"]
    pinned = AutoModelForSequenceClassification.from_pretrained(repo_id, revision=first.oid)
    latest = AutoModelForSequenceClassification.from_pretrained(repo_id)
    assert pinned.config.token_keep_ratios == [1.0, 1.0, 0.5, 0.5]
    assert latest.config.token_keep_ratios == [1.0, 1.0, 0.25, 1.0]
    assert torch.equal(pinned.classifier.bias, first_weights["classifier.bias"])
    assert torch.equal(latest.classifier.bias, first_weights["classifier.bias"] + 1.0)
    assert AutoConfig.from_pretrained(repo_id, revision=second.oid).token_keep_ratios == [1.0, 1.0, 0.25, 1.0]
    api = HfApi()
    assert api.model_info(repo_id).sha == second.oid
    assert api.model_info(repo_id, revision=first.oid).sha == first.oid
    assert "model.safetensors" in {sibling.rfilename for sibling in api.model_info(repo_id).siblings}


def test_save_pruned_model_with_push_to_hub_uploads_the_top_card(loopback_hub, tiny_pruned_classifier, tmp_path):
    # transformers' own save_pretrained(push_to_hub=True) would write a generic card; the repository defaults to the
    # folder's name, in the token owner's namespace, as in transformers.
    commit = save_pruned_model(tiny_pruned_classifier, tmp_path / "saved-top", push_to_hub=True)
    files = repo_files(loopback_hub, "test-user/saved-top")
    assert [entry.sha for entry in loopback_hub.repos["test-user/saved-top"].history()[1:]] == [commit.oid]
    assert {"config.json", "model.safetensors", "modeling_top_bert.py", "README.md"} <= set(files)
    card = ModelCard(files["README.md"].decode())
    assert "token-pruning" in card.data.tags
    assert files["README.md"] == (tmp_path / "saved-top" / "README.md").read_bytes()

    # A card already in the folder (e.g. TopTrainer's, with the run's metrics) is the one uploaded.
    folder = tmp_path / "with-card"
    folder.mkdir()
    written = transformers_top.save_model_card(folder, tiny_pruned_classifier, CARD)
    save_pruned_model(tiny_pruned_classifier, folder, push_to_hub=True, repo_id="test-user/with-card")
    assert repo_files(loopback_hub, "test-user/with-card")["README.md"].decode() == str(written)

    # Without push_to_hub it is the model's save_pretrained: nothing is uploaded.
    repos_before = set(loopback_hub.repos)
    assert save_pruned_model(tiny_pruned_classifier, tmp_path / "local-only") is None
    assert set(loopback_hub.repos) == repos_before
    assert (tmp_path / "local-only" / "config.json").is_file()


@pytest.mark.parametrize("push", ["push_pruned_model", "save_pruned_model"])
def test_model_with_training_masks_is_refused(loopback_hub, tiny_bert_config, tmp_path, push):
    model = TopBertForSequenceClassification(transformers_top.TopBertConfig.from_bert_config(tiny_bert_config))
    model.add_pruning_masks()
    with pytest.raises(ValueError, match=r"still holds its training masks .* call model.finalize_pruning\(\) first"):
        if push == "push_pruned_model":
            push_pruned_model(model, "test-user/not-finalized")
        else:
            save_pruned_model(model, tmp_path / "not-finalized", push_to_hub=True)
    assert "test-user/not-finalized" not in loopback_hub.repos
    assert not (tmp_path / "not-finalized").exists()


@pytest.mark.parametrize("repo_id", ["", "a/b/c", "has space", "-leading-dash", "x" * 97, "ok/..", 42])
def test_malformed_repo_id_is_refused(loopback_hub, tiny_pruned_classifier, repo_id):
    repos_before = set(loopback_hub.repos)
    with pytest.raises(ValueError, match="repo_id must be 'namespace/name' or 'name'"):
        push_pruned_model(tiny_pruned_classifier, repo_id)
    assert set(loopback_hub.repos) == repos_before


def test_bad_card_plot_or_folder_is_refused_before_upload(loopback_hub, tiny_pruned_classifier, tmp_path):
    bad_card = TopModelCardData(flops_reduction=2.0)
    bad_card.flops_reduction = "2.0x"
    with pytest.raises(ValueError, match=r"card field flops_reduction must be a finite number, got '2\.0x'"):
        push_pruned_model(tiny_pruned_classifier, "test-user/bad-card", card_data=bad_card)
    with pytest.raises(ValueError, match="card_data must be a TopModelCardData, got dict"):
        push_pruned_model(tiny_pruned_classifier, "test-user/bad-card", card_data={"flops_reduction": 2.0})
    with pytest.raises(ValueError, match="plot must be an existing"):
        push_pruned_model(tiny_pruned_classifier, "test-user/bad-card", plot=tmp_path / "missing.png")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="save_directory must be a new or empty directory"):
        push_pruned_model(tiny_pruned_classifier, "test-user/bad-card", save_directory=tmp_path / "used")
    with pytest.raises(ValueError, match="tokenizer must have a save_pretrained method, got str"):
        push_pruned_model(tiny_pruned_classifier, "test-user/bad-card", tokenizer="bert-base-uncased")
    assert "test-user/bad-card" not in loopback_hub.repos
    assert (tmp_path / "used" / "notes.txt").read_text() == "keep me"


def test_failed_upload_leaves_local_files_intact(loopback_hub, tiny_pruned_classifier, tiny_tokenizer, plot, tmp_path):
    repo_id = "test-user/read-only"
    HfApi().create_repo(repo_id)
    loopback_hub.read_only_repos.add(repo_id)
    weights = {name: tensor.clone() for name, tensor in tiny_pruned_classifier.state_dict().items()}
    save_directory = tmp_path / "staged"

    with pytest.raises(HfHubHTTPError, match="403"):
        push_pruned_model(
            tiny_pruned_classifier, repo_id, tokenizer=tiny_tokenizer, plot=plot, save_directory=save_directory
        )

    assert len(loopback_hub.repos[repo_id].history()) == 1  # nothing was committed
    assert plot.read_bytes() == PLOT_BYTES
    staged = {path.name for path in save_directory.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "kept_tokens.png", "tokenizer_config.json"} <= staged
    reloaded = TopBertForSequenceClassification.from_pretrained(save_directory)
    assert all(torch.equal(reloaded.state_dict()[name], tensor) for name, tensor in weights.items())
    assert all(torch.equal(tiny_pruned_classifier.state_dict()[name], tensor) for name, tensor in weights.items())


def test_save_pruned_model_opens_a_pull_request_with_create_pr(loopback_hub, tiny_pruned_classifier, tmp_path):
    first = save_pruned_model(tiny_pruned_classifier, tmp_path / "main", push_to_hub=True, repo_id="test-user/pr")
    (tmp_path / "proposal").mkdir()
    transformers_top.save_model_card(tmp_path / "proposal", tiny_pruned_classifier, CARD)  # a change to propose
    commit = save_pruned_model(
        tiny_pruned_classifier, tmp_path / "proposal", push_to_hub=True, repo_id="test-user/pr", create_pr=True
    )
    repo = loopback_hub.repos["test-user/pr"]
    assert commit.pr_num == 1 and commit.pr_revision == "refs/pr/1"
    assert repo.branches["refs/pr/1"] == commit.oid and repo.branches["main"] == first.oid
    with pytest.raises(ValueError, match="create_pr must be True or False, got 'yes'"):
        save_pruned_model(
            tiny_pruned_classifier, tmp_path / "x", push_to_hub=True, repo_id="test-user/pr", create_pr="yes"
        )


def test_the_models_own_methods_are_transformers(tiny_pruned_classifier):
    """Importing the plugin changes no class: the card-writing upload is the explicit push_pruned_model."""
    from transformers import PreTrainedModel

    assert type(tiny_pruned_classifier).push_to_hub is PreTrainedModel.push_to_hub
    # save_pretrained is the portable file's own (it writes auto_map), the same with and without the plugin.
    assert type(tiny_pruned_classifier).save_pretrained.__module__ == "transformers_top.models.pruned_encoder"
