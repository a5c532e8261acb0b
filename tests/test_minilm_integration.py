"""The real all-MiniLM-L6-v2 (6 layers, hidden 384) on real SST-2 dev sentences."""

from __future__ import annotations

import csv
import itertools

import pytest
import torch
from transformers import AutoTokenizer, BertModel

from transformers_top import TopBertModel, count_flops
from transformers_top.models.flops import plan_lengths

pytestmark = pytest.mark.integration

PLAN = [1.0, 1.0, 0.6, 0.6, 0.5, 0.5]
NUM_SENTENCES = 12


@pytest.fixture(scope="module")
def sst2_batch(minilm_path, shared_data) -> dict[str, torch.Tensor]:
    """The first SST-2 dev sentences, tokenized with MiniLM's tokenizer and right-padded to the longest."""
    with open(shared_data / "sst2" / "dev.tsv", encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE)
        sentences = [row["sentence"] for row in itertools.islice(reader, NUM_SENTENCES)]
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    return {key: batch[key] for key in ("input_ids", "attention_mask", "token_type_ids")}


@pytest.fixture(scope="module")
def minilm(minilm_path) -> TopBertModel:
    model, info = TopBertModel.from_pretrained(minilm_path, output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set() and info["mismatched_keys"] == set()
    return model.eval()


def test_real_sentences_are_ragged(sst2_batch):
    lengths = sst2_batch["attention_mask"].sum(dim=1)
    assert sst2_batch["input_ids"].shape[0] == NUM_SENTENCES
    assert lengths.min() < lengths.max()  # a real mix of lengths, so padding is exercised


def test_dense_equals_transformers_bert(minilm, minilm_path, sst2_batch):
    bert = BertModel.from_pretrained(minilm_path).eval()
    assert minilm.config.model_type == "top_bert" and minilm.config.prune_layers == [2, 3, 4, 5]
    with torch.no_grad():
        expected, actual = bert(**sst2_batch), minilm(**sst2_batch)
    real = sst2_batch["attention_mask"].bool()
    torch.testing.assert_close(actual.last_hidden_state[real], expected.last_hidden_state[real], atol=1e-5, rtol=0)
    torch.testing.assert_close(actual.pooler_output, expected.pooler_output, atol=1e-5, rtol=0)


def test_plan_shortens_sequences_and_flops(minilm, sst2_batch):
    minilm.config.token_keep_ratios = PLAN
    try:
        lengths = sst2_batch["attention_mask"].sum(dim=1).tolist()
        with torch.no_grad():
            hidden_states = minilm(**sst2_batch, output_hidden_states=True).hidden_states
        expected = [max(plan_lengths(minilm.config, length)[layer] for length in lengths) for layer in range(6)]
        assert [state.shape[1] for state in hidden_states] == [*expected, expected[-1]]
        assert expected[-1] < expected[0]
        longest = max(lengths)
        ratio = count_flops(minilm.config, seq_len=longest) / count_flops(minilm.config, seq_len=longest, dense=True)
        assert 0.3 < ratio < 0.9
    finally:
        minilm.config.token_keep_ratios = None


def test_batch_equals_one_by_one(minilm, sst2_batch):
    minilm.config.token_keep_ratios = PLAN
    try:
        with torch.no_grad():
            batch_output = minilm(**sst2_batch)
            for index, length in enumerate(sst2_batch["attention_mask"].sum(dim=1).tolist()):
                sample = {key: value[index : index + 1, :length] for key, value in sst2_batch.items()}
                single = minilm(**sample)
                torch.testing.assert_close(
                    batch_output.pooler_output[index], single.pooler_output[0], atol=1e-4, rtol=0
                )
                torch.testing.assert_close(
                    batch_output.last_hidden_state[index, :length], single.last_hidden_state[0], atol=1e-4, rtol=0
                )
    finally:
        minilm.config.token_keep_ratios = None


def test_a_bfloat16_model_ranks_in_float32_so_a_batch_keeps_what_its_rows_keep_alone(minilm_path, shared_data):
    """
    A model cast to bfloat16 decides which tokens to keep from float32 queries, keys, scores and importance: where
    the first decision's input is the same in a batch as alone, it keeps exactly the same tokens. (With bfloat16
    probabilities, 6 of 48 IMDB reviews kept other tokens at the first decision.) Where the CPU's bfloat16 products
    depend on the batch's shape (AVX2 CPUs without bfloat16 instructions), the layers before it already differ by
    bfloat16 rounding, and at most one pair of near-equal tokens swaps at the boundary (see docs/method.md).
    """
    import json

    reviews = [json.loads(line)["text"] for line in (shared_data / "imdb" / "test_2k_seed13.jsonl").open()][:24]
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    model = TopBertModel.from_pretrained(minilm_path, token_keep_ratios=[1.0, 1.0, 0.7, 0.7, 0.5, 0.5])
    model = model.eval().to(torch.bfloat16)
    importance_dtypes = set()
    for start in range(0, len(reviews), 6):
        batch = tokenizer(
            reviews[start : start + 6], padding=True, truncation=True, max_length=512, return_tensors="pt"
        )
        with torch.no_grad():
            output = model(**batch, importance_layers=[1], output_hidden_states=True)
        importance_dtypes.add(output.token_importance[1].dtype)
        for row in range(6):
            length = int(batch["attention_mask"][row].sum())
            with torch.no_grad():
                alone = model(
                    input_ids=batch["input_ids"][row : row + 1, :length],
                    importance_layers=[1],
                    output_hidden_states=True,
                )
            # Layer 1's importance ranks the tokens of the first decision.
            in_batch = output.token_importance[1][row, 1:length].argsort(descending=True, stable=True)
            by_itself = alone.token_importance[1][0, 1:length].argsort(descending=True, stable=True)
            kept = -(-(length - 1) * 7 // 10)  # ceil(0.7 * (length - 1)) tokens besides [CLS]
            swapped = len(set(in_batch[:kept].tolist()) - set(by_itself[:kept].tolist()))
            same_input = torch.equal(output.hidden_states[1][row, :length], alone.hidden_states[1][0])
            assert swapped == 0 if same_input else swapped <= 1, (start + row, swapped)
    assert importance_dtypes == {torch.float32}
