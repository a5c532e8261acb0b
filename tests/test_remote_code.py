"""A saved TopBert checkpoint loads with transformers alone (`trust_remote_code=True`), in a process where the
`transformers_top` package cannot be imported, and gives the same outputs."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
import torch
from conftest import TINY_BERT

from transformers_top import TopBertConfig, TopBertForSequenceClassification

# Runs with `python -I -S`: no user site, no PYTHON* variables, and no `site` module, so the `.pth` file of the
# editable install (which puts `src/` on sys.path) is never processed. This interpreter's site-packages directory is
# then appended by hand (appending does not process `.pth` files), so torch and transformers import as usual.
NO_PLUGIN_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    sys.path.append(sys.argv[1])
    try:
        import transformers_top
    except ModuleNotFoundError as error:
        plugin_error = str(error)
    else:
        plugin_error = None
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

    checkpoint, inputs_path = sys.argv[2], sys.argv[3]
    inputs = torch.load(inputs_path)
    report = {"plugin_error": plugin_error, "plugin_spec": importlib.util.find_spec("transformers_top") is not None}
    try:
        AutoModelForSequenceClassification.from_pretrained(checkpoint)
    except ValueError as error:
        report["without_trust"] = str(error)
    config = AutoConfig.from_pretrained(checkpoint, trust_remote_code=True)
    classifier = AutoModelForSequenceClassification.from_pretrained(checkpoint, trust_remote_code=True).eval()
    encoder = AutoModel.from_pretrained(checkpoint, trust_remote_code=True).eval()
    with torch.no_grad():
        outputs = {"logits": classifier(**inputs).logits, "pooler_output": encoder(**inputs).pooler_output}
    torch.save(outputs, inputs_path + ".out")
    report["classes"] = [type(config).__name__, type(classifier).__name__, type(encoder).__name__]
    report["modules"] = [type(classifier).__module__, type(encoder).__module__]
    report["token_keep_bins"] = config.token_keep_bins
    report["plugin_loaded_later"] = "transformers_top" in sys.modules
    with open(inputs_path + ".json", "w") as file:
        json.dump(report, file)
    """
)


@pytest.fixture(scope="module")
def pruned_checkpoint(tmp_path_factory) -> Path:
    """A tiny pruned classifier (a ratio plan at layer 2, a bin pattern at layer 3), saved with `save_pretrained`."""
    torch.manual_seed(0)
    config = TopBertConfig(
        **TINY_BERT,
        initializer_range=0.2,  # outputs that depend on the input (see tests/test_modeling.py::bert_dir)
        num_bins=4,
        token_keep_ratios=[1.0, 1.0, 0.6, 0.5],
        token_keep_bins=[None, None, None, [1, 0, 1, 0]],
    )
    path = tmp_path_factory.mktemp("pruned-top-bert")
    TopBertForSequenceClassification(config).eval().save_pretrained(path)
    return path


def test_loads_without_the_plugin(pruned_checkpoint, tiny_batch, tmp_path):
    model = TopBertForSequenceClassification.from_pretrained(pruned_checkpoint).eval()
    with torch.no_grad():
        expected_logits = model(**tiny_batch).logits
        expected_pooled = model.bert(**tiny_batch).pooler_output
    inputs_path = tmp_path / "inputs.pt"
    site_packages = sysconfig.get_paths()["purelib"]
    assert not (Path(site_packages) / "transformers_top").exists(), "expects the editable install of `make install`"
    torch.save(tiny_batch, inputs_path)

    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", NO_PLUGIN_SCRIPT, site_packages, str(pruned_checkpoint), str(inputs_path)],
        cwd=tmp_path,
        env={
            "HF_HOME": str(tmp_path / "hf-home"),
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "PATH": "/usr/bin:/bin",
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(Path(f"{inputs_path}.json").read_text())

    # The plugin really is absent, before and after loading.
    assert report["plugin_error"] == "No module named 'transformers_top'"
    assert report["plugin_spec"] is False and report["plugin_loaded_later"] is False
    # Without trust_remote_code, transformers refuses (no terminal to ask on).
    assert "trust_remote_code" in report["without_trust"]
    assert report["classes"] == ["TopBertConfig", "TopBertForSequenceClassification", "TopBertModel"]
    assert all(module.startswith("transformers_modules.") for module in report["modules"]), report["modules"]
    assert report["token_keep_bins"] == [None, None, None, [1, 0, 1, 0]]
    outputs = torch.load(str(inputs_path) + ".out")
    torch.testing.assert_close(outputs["logits"], expected_logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(outputs["pooler_output"], expected_pooled, atol=1e-6, rtol=0)
