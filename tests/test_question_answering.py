"""The question-answering heads (`TopBertForQuestionAnswering`, `TopRobertaForQuestionAnswering`) on tiny random
models: equal to transformers' heads without a plan, span logits at every position with one, Auto classes, remote
code and bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import sysconfig
import textwrap

import pytest
import torch
from conftest import TINY_BERT
from transformers import (
    AutoModelForQuestionAnswering,
    BertConfig,
    BertForQuestionAnswering,
    RobertaConfig,
    RobertaForQuestionAnswering,
)

from transformers_top import (
    TopBertConfig,
    TopBertForQuestionAnswering,
    TopBertForSequenceClassification,
    TopQuestionAnsweringModelOutput,
    TopRobertaForQuestionAnswering,
)
from transformers_top.models.flops import plan_lengths
from transformers_top.models.heads import span_loss

PLAN = [1.0, 1.0, 0.5, 0.5]
TINY_ROBERTA = dict(TINY_BERT, pad_token_id=1, bos_token_id=0, eos_token_id=2, max_position_embeddings=66)


@pytest.fixture(scope="module")
def bert_qa_dir(tmp_path_factory):
    """A saved plain `BertForQuestionAnswering` with random weights (inputs move its outputs: wider init)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("bert-qa")
    BertForQuestionAnswering(BertConfig(**TINY_BERT, initializer_range=0.2)).eval().save_pretrained(path)
    return path


def ragged_batch(cls: int = 2, pad: int = 0, seed: int = 1) -> dict[str, torch.Tensor]:
    """Four rows of 24 tokens, real lengths 24, 17, 9 and 3: question tokens (type 0) then context (type 1)."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, TINY_BERT["vocab_size"], (4, 24), generator=generator)
    input_ids[:, 0] = cls
    lengths = torch.tensor([24, 17, 9, 3])
    attention_mask = (torch.arange(24)[None] < lengths[:, None]).long()
    token_type_ids = ((torch.arange(24)[None] >= 6) & (attention_mask == 1)).long()
    return {
        "input_ids": input_ids.masked_fill(attention_mask == 0, pad),
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }


def test_without_a_plan_it_is_transformers_bert_for_question_answering(bert_qa_dir):
    reference = BertForQuestionAnswering.from_pretrained(bert_qa_dir).eval()
    model = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir).eval()
    batch = ragged_batch()
    positions = {"start_positions": torch.tensor([3, 30, 8, 0]), "end_positions": torch.tensor([5, 31, 8, 1])}
    with torch.no_grad():
        expected = reference(**batch, **positions)
        output = model(**batch, **positions)
    assert isinstance(output, TopQuestionAnsweringModelOutput)
    torch.testing.assert_close(output.start_logits, expected.start_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(output.end_logits, expected.end_logits, atol=1e-5, rtol=0)
    # The same loss, out-of-range positions (30, 31) ignored as transformers ignores them.
    torch.testing.assert_close(output.loss, expected.loss, atol=1e-6, rtol=0)


def test_without_a_plan_it_is_transformers_roberta_for_question_answering(tmp_path):
    torch.manual_seed(0)
    reference = RobertaForQuestionAnswering(RobertaConfig(**TINY_ROBERTA, initializer_range=0.2)).eval()
    reference.save_pretrained(tmp_path)
    model = TopRobertaForQuestionAnswering.from_pretrained(tmp_path).eval()
    batch = ragged_batch(cls=0, pad=1)
    batch.pop("token_type_ids")
    with torch.no_grad():
        expected = reference(**batch)
        output = model(**batch)
    torch.testing.assert_close(output.start_logits, expected.start_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(output.end_logits, expected.end_logits, atol=1e-5, rtol=0)


def test_pruned_span_logits_cover_every_position_from_the_state_a_token_carried(bert_qa_dir):
    """
    With a plan, the logits of a kept token come from the last layer and those of a pruned token from the hidden state
    it carried when it was dropped: the base model's restored output, through the same linear span head.
    """
    model = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, token_keep_ratios=PLAN).eval()
    batch = ragged_batch()
    with torch.no_grad():
        output = model(**batch, output_kept_tokens=True)
        restored = model.bert(**batch, restore_pruned_tokens=True).last_hidden_state
    assert output.start_logits.shape == output.end_logits.shape == (4, 24)
    # It really prunes: per row, the tokens entering each layer are the plan's.
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    assert output.kept_tokens.tolist() == [plan_lengths(model.config, length) for length in lengths]
    start, end = model.qa_outputs(restored).unbind(dim=-1)
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(output.start_logits[real], start[real], atol=0, rtol=0)
    torch.testing.assert_close(output.end_logits[real], end[real], atol=0, rtol=0)
    # [CLS], whose logits score the null answer, is never pruned: its logits come from the last layer.
    with torch.no_grad():
        shortened = model.bert(**batch, restore_pruned_tokens=False).last_hidden_state
    torch.testing.assert_close(output.start_logits[:, 0], model.qa_outputs(shortened[:, 0])[:, 0], atol=1e-6, rtol=0)
    # And pruning changed the logits of the tokens that stayed.
    dense = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir).eval()
    with torch.no_grad():
        dense_output = dense(**batch)
    assert (dense_output.start_logits[real] - output.start_logits[real]).abs().max() > 1e-3


def test_a_ragged_batch_answers_as_its_rows_one_by_one(bert_qa_dir):
    model = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, token_keep_ratios=PLAN).eval()
    batch = ragged_batch()
    with torch.no_grad():
        together = model(**batch)
        for row, length in enumerate(batch["attention_mask"].sum(dim=1).tolist()):
            alone = model(**{key: value[row : row + 1, :length] for key, value in batch.items()})
            torch.testing.assert_close(together.start_logits[row, :length], alone.start_logits[0], atol=1e-4, rtol=0)
            torch.testing.assert_close(together.end_logits[row, :length], alone.end_logits[0], atol=1e-4, rtol=0)


def kept_at_first_prune_layer(model, batch) -> torch.Tensor:
    """
    Which positions enter the first prune layer (layer 2 of `PLAN`): a token dropped there keeps, as its final state,
    the input of layer 1 (the carry-over), which a kept token changes in the layers after.
    """
    with torch.no_grad():
        output = model.bert(**batch, output_hidden_states=True)
    return (output.last_hidden_state - output.hidden_states[1]).abs().amax(dim=-1) > 0


def test_a_protected_question_is_pruned_last_and_the_plan_counts_stay(bert_qa_dir):
    """
    `protected_token_type=0` ranks the question (token type 0) above the context: a layer that keeps at least the
    question keeps all of it, a layer that keeps fewer keeps only question tokens, and each layer keeps the plan's
    count either way.
    """
    batch = ragged_batch()  # questions at positions 1..5, contexts from 6; real lengths 24, 17, 9, 3
    real = batch["attention_mask"].bool()
    protected = TopBertForQuestionAnswering.from_pretrained(
        bert_qa_dir, token_keep_ratios=PLAN, protected_token_type=0
    ).eval()
    plain = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, token_keep_ratios=PLAN).eval()
    kept = kept_at_first_prune_layer(protected, batch) & real
    kept_plain = kept_at_first_prune_layer(plain, batch) & real
    # Layer 2 keeps ceil(0.5 * (length - 1)) tokens besides [CLS]: 12, 8, 4 and 1.
    assert (kept.sum(dim=1) - 1).tolist() == (kept_plain.sum(dim=1) - 1).tolist() == [12, 8, 4, 1]
    question = torch.zeros_like(real)
    question[:, 1:6] = True
    assert kept[:2, 1:6].all()  # rows that keep more tokens than their question keep the whole question
    assert not (kept[2:] & ~question[2:])[:, 1:].any()  # rows that keep fewer keep question tokens only
    assert not kept_plain[:2, 1:6].all()  # the attention ranking alone drops question tokens of these rows
    with torch.no_grad():
        assert torch.equal(
            protected(**batch, output_kept_tokens=True).kept_tokens,
            plain(**batch, output_kept_tokens=True).kept_tokens,
        )
    # Without token types every token is of type 0: all protected, ranked by importance as without protection.
    untyped = {key: value for key, value in batch.items() if key != "token_type_ids"}
    assert torch.equal(kept_at_first_prune_layer(protected, untyped), kept_at_first_prune_layer(plain, untyped))


def test_training_masks_rank_a_protected_question_first(bert_qa_dir):
    """Under trainable masks that keep only the first rank bins, the question keeps its tokens, the context loses."""
    model = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, protected_token_type=0)
    masks = model.add_pruning_masks()
    num_bins = model.config.num_bins
    with torch.no_grad():  # gates open (prune), the first fifth of the bins kept, the rest dropped: all but certain
        masks.gate_log_alpha.fill_(20.0)
        masks.bin_log_alpha.fill_(-20.0)
        masks.bin_log_alpha[:, : num_bins // 5] = 20.0
    model.train()
    batch = ragged_batch()
    output = model.bert(**batch, output_hidden_states=True)
    # The input of layer 2 is layer 1's output scaled by each token's soft keep value: 1 for the first ranks only.
    scale = output.hidden_states[2].norm(dim=-1)
    row = 0  # 23 ranked tokens: the first fifth of the ranks (0..4) is the question, positions 1..5
    assert (scale[row, 1:6] > 0).all() and (scale[row, 6:24] == 0).all()


def hard_masks_keeping_the_first_ranks(model) -> None:
    """Masks that prune at every location and keep only the first fifth of the rank bins, all but certainly."""
    masks = model.add_pruning_masks()
    num_bins = model.config.num_bins
    with torch.no_grad():
        masks.gate_log_alpha.fill_(20.0)
        masks.bin_log_alpha.fill_(-20.0)
        masks.bin_log_alpha[:, : num_bins // 5] = 20.0


def test_carried_training_outputs_are_the_states_tokens_were_masked_with(bert_qa_dir):
    """
    With `masked_token_output="carried"`, under 0/1 masks a token masked at layer 2's input (decided in layer 1)
    outputs the input of layer 1, one masked at layer 3's the input of layer 2, a kept one the last layer's output,
    padding zeros: inference's carry-over. The default outputs the last layer's state at every position.
    """
    batch = ragged_batch()
    real = batch["attention_mask"].bool()
    outputs = {}
    for choice in ("last_layer", "carried"):
        model = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, masked_token_output=choice)
        hard_masks_keeping_the_first_ranks(model)
        model.train()
        outputs[choice] = model.bert(**batch, output_hidden_states=True)
    carried, last_layer = outputs["carried"], outputs["last_layer"]
    for left, right in zip(carried.hidden_states, last_layer.hidden_states, strict=True):
        torch.testing.assert_close(left, right, atol=0, rtol=0)  # the layers themselves do not change
    states = carried.hidden_states
    enters_2 = states[2].norm(dim=-1) > 0  # a masked token's input is scaled to 0
    enters_3 = states[3].norm(dim=-1) > 0
    dropped_at_2, dropped_at_3 = real & ~enters_2, enters_2 & ~enters_3
    assert dropped_at_2[0].sum() > 0 and dropped_at_3[0].sum() > 0 and enters_3[:, 0].all()
    output = carried.last_hidden_state
    torch.testing.assert_close(output[dropped_at_2], states[1][dropped_at_2], atol=0, rtol=0)
    torch.testing.assert_close(output[dropped_at_3], states[2][dropped_at_3], atol=0, rtol=0)
    torch.testing.assert_close(output[enters_3], states[-1][enters_3], atol=0, rtol=0)
    assert not output[~real].any()
    torch.testing.assert_close(last_layer.last_hidden_state, states[-1], atol=0, rtol=0)
    assert (output[dropped_at_2] - last_layer.last_hidden_state[dropped_at_2]).abs().max() > 1e-3


def test_carried_training_outputs_do_not_change_a_classifier(bert_qa_dir):
    """Classification heads read [CLS], never masked: `masked_token_output` leaves their training forward alone."""
    logits = []
    for choice in ("last_layer", "carried"):
        torch.manual_seed(0)  # the new classifier's initial weights
        model = TopBertForSequenceClassification.from_pretrained(bert_qa_dir, masked_token_output=choice)
        hard_masks_keeping_the_first_ranks(model)
        model.train()
        logits.append(model(**ragged_batch()).logits)
    torch.testing.assert_close(logits[0], logits[1], atol=0, rtol=0)


@pytest.mark.parametrize("masked_token_output", ["last_layer", "carried"])
def test_trains_with_masks_and_gradients_reach_the_masks(bert_qa_dir, masked_token_output):
    model = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, masked_token_output=masked_token_output)
    masks = model.add_pruning_masks()
    with torch.no_grad():
        masks.gate_log_alpha.zero_()  # half-open gates and bins: the soft masks move the loss
        masks.bin_log_alpha.zero_()
    model.train()
    torch.manual_seed(0)  # the masks' sample
    positions = {"start_positions": torch.tensor([7, 8, 6, 0]), "end_positions": torch.tensor([9, 8, 7, 0])}
    output = model(**ragged_batch(), **positions)
    output.loss.backward()
    assert output.start_logits.shape == (4, 24)
    assert masks.gate_log_alpha.grad.abs().sum() > 0 and masks.bin_log_alpha.grad.abs().sum() > 0
    assert model.qa_outputs.weight.grad.abs().sum() > 0


def test_auto_class_loads_the_question_answering_head_and_saves_its_auto_map(bert_qa_dir, tmp_path):
    model = AutoModelForQuestionAnswering.from_pretrained(
        bert_qa_dir, config=TopBertConfig.from_pretrained(bert_qa_dir)
    )
    assert type(model) is TopBertForQuestionAnswering
    model.config.token_keep_ratios = PLAN
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["auto_map"]["AutoModelForQuestionAnswering"] == "modeling_top_bert.TopBertForQuestionAnswering"
    assert type(AutoModelForQuestionAnswering.from_pretrained(tmp_path)) is TopBertForQuestionAnswering


NO_PLUGIN_QA_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.append(sys.argv[1])
    import torch
    from transformers import AutoModelForQuestionAnswering

    checkpoint, inputs_path = sys.argv[2], sys.argv[3]
    model = AutoModelForQuestionAnswering.from_pretrained(checkpoint, trust_remote_code=True).eval()
    with torch.no_grad():
        output = model(**torch.load(inputs_path), output_kept_tokens=True)
    torch.save({"start_logits": output.start_logits, "kept_tokens": output.kept_tokens, "class": type(model).__name__,
                "module": type(model).__module__}, inputs_path + ".out")
    """
)


def test_loads_without_the_plugin_with_remote_code(bert_qa_dir, tmp_path):
    model = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, token_keep_ratios=PLAN).eval()
    model.save_pretrained(tmp_path / "checkpoint")
    batch = ragged_batch()
    with torch.no_grad():
        expected = model(**batch, output_kept_tokens=True)
    torch.save(batch, tmp_path / "inputs.pt")
    site_packages = sysconfig.get_paths()["purelib"]
    command = [sys.executable, "-I", "-S", "-c", NO_PLUGIN_QA_SCRIPT, site_packages, str(tmp_path / "checkpoint")]
    result = subprocess.run(
        [*command, str(tmp_path / "inputs.pt")],
        cwd=tmp_path,
        env={"HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = torch.load(tmp_path / "inputs.pt.out")
    assert outputs["class"] == "TopBertForQuestionAnswering"
    assert outputs["module"].startswith("transformers_modules.")
    torch.testing.assert_close(outputs["start_logits"], expected.start_logits, atol=1e-6, rtol=0)
    assert outputs["kept_tokens"].tolist() == expected.kept_tokens.tolist()


def test_bad_input_is_refused_with_the_value(bert_qa_dir):
    with pytest.raises(ValueError, match=r"a question-answering model has num_labels=2 .*, got 3"):
        TopBertForQuestionAnswering(TopBertConfig(**TINY_BERT, num_labels=3))
    model = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir).eval()
    with pytest.raises(ValueError, match="start_positions and end_positions go together"):
        model(**ragged_batch(), start_positions=torch.tensor([1, 1, 1, 1]))


def test_span_distillation_is_the_mean_of_the_start_and_end_kl_over_real_positions():
    from transformers.modeling_outputs import QuestionAnsweringModelOutput

    from transformers_top.training import span_distillation_loss

    alive = torch.tensor([[True, True, False]])
    # Teacher: 1/2, 1/2 on the two real positions; student: 3/4, 1/4. KL = (ln(2/3) + ln 2) / 2 = ln(4/3) / 2.
    teacher = QuestionAnsweringModelOutput(start_logits=torch.tensor([[0.0, 0.0, 9.0]]), end_logits=torch.zeros(1, 3))
    student = QuestionAnsweringModelOutput(
        start_logits=torch.tensor([[math.log(3.0), 0.0, -5.0]]), end_logits=torch.tensor([[math.log(3.0), 0.0, 7.0]])
    )
    loss = span_distillation_loss(student, teacher, alive, temperature=1.0)
    torch.testing.assert_close(loss, torch.tensor(math.log(4.0 / 3.0) / 2), atol=1e-6, rtol=0)
    # The padding position's logits (9, -5, 7 above) play no part; at temperature 2 the loss is scaled by 2^2 = 4 on
    # logits divided by 2 (teacher 1/2, 1/2; student sqrt(3) : 1).
    loss_at_2 = span_distillation_loss(student, teacher, alive, temperature=2.0)
    q = math.sqrt(3.0) / (math.sqrt(3.0) + 1.0)
    expected = 4 * 0.5 * (math.log(0.5 / q) + math.log(0.5 / (1.0 - q)))
    torch.testing.assert_close(loss_at_2, torch.tensor(expected), atol=1e-6, rtol=0)
    assert span_distillation_loss(teacher, teacher, alive, temperature=1.0) == 0


def qa_dataset(num_rows: int, seed: int = 0):
    """Windows of 10..31 real tokens: [CLS], a 4-token question, [SEP], context; an answer span in the context."""
    from datasets import Dataset

    generator = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(num_rows):
        length = int(torch.randint(10, 32, (1,), generator=generator))
        input_ids = [2, *torch.randint(5, 99, (4,), generator=generator).tolist(), 3]
        input_ids += torch.randint(5, 99, (length - 6,), generator=generator).tolist()
        start = int(torch.randint(6, length, (1,), generator=generator))
        rows.append(
            {
                "input_ids": input_ids,
                "token_type_ids": [0] * 6 + [1] * (length - 6),
                "attention_mask": [1] * length,
                "start_positions": start,
                "end_positions": min(start + 2, length - 1),
            }
        )
    return Dataset.from_list(rows)


def collate_windows(features: list[dict]) -> dict[str, torch.Tensor]:
    """Right-pad the windows of a batch to its longest."""
    batch = {
        key: torch.nn.utils.rnn.pad_sequence([torch.tensor(f[key]) for f in features], batch_first=True)
        for key in ("input_ids", "token_type_ids", "attention_mask")
    }
    return batch | {key: torch.tensor([f[key] for f in features]) for key in ("start_positions", "end_positions")}


def test_top_trainer_distils_a_question_answering_teacher(bert_qa_dir, tmp_path):
    from transformers_top import TopTrainer, TopTrainingArguments

    args = TopTrainingArguments(
        output_dir=str(tmp_path),
        use_cpu=True,
        report_to=[],
        disable_tqdm=True,
        save_strategy="no",
        per_device_train_batch_size=8,
        per_device_eval_batch_size=8,
        num_bins=10,
        logging_steps=1,
        max_steps=4,
        seed=0,
        target_sparsity=0.3,
    )
    trainer = TopTrainer(
        model=TopBertForQuestionAnswering.from_pretrained(bert_qa_dir),
        teacher_model=BertForQuestionAnswering.from_pretrained(bert_qa_dir),
        args=args,
        train_dataset=qa_dataset(32),
        eval_dataset=qa_dataset(16, seed=1),
        data_collator=collate_windows,
    )
    assert trainer.label_names == ["start_positions", "end_positions"]
    # The student starts as the teacher with closed gates: the span distillation loss of a padded batch is 0.
    batch = collate_windows(list(qa_dataset(8)))
    trainer.model.train()
    assert torch.isfinite(trainer.compute_loss(trainer.model, batch))
    assert trainer._metrics["distill_loss"] == [pytest.approx(0.0, abs=1e-6)]
    trainer._metrics.clear()

    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "distill_loss" in entry]
    assert len(logs) == 4 and all(math.isfinite(entry["distill_loss"]) for entry in logs)
    metrics = trainer.evaluate()
    # The evaluation loss is the student's own span loss on the answer positions; FLOPs as for classification.
    assert math.isfinite(metrics["eval_loss"]) and metrics["eval_flops_reduction"] >= 1.0


def test_answer_span_ranking_target_follows_the_teachers_answer(bert_qa_dir, tmp_path, monkeypatch):
    from transformers_top.training import trainer as trainer_module
    from transformers_top.training.losses import rank_distillation_loss, teacher_answer_span_scores

    targets = []

    def recording_loss(student_importance, teacher_importance, *args, **kwargs):
        targets.append(teacher_importance)
        return rank_distillation_loss(student_importance, teacher_importance, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "rank_distillation_loss", recording_loss)
    trainer = small_qa_trainer(
        bert_qa_dir, tmp_path, rank_distill_alpha=0.1, rank_distill_target="answer_span", rank_distill_layers=[0, 1]
    )
    batch = collate_windows(list(qa_dataset(4)))
    loss = trainer.compute_loss(trainer.model.train(), batch)
    assert torch.isfinite(loss) and trainer._metrics["rank_loss"][-1] > 0
    inputs = {key: batch[key] for key in ("input_ids", "token_type_ids", "attention_mask")}
    with torch.no_grad():
        teacher = trainer.teacher(**inputs)
    expected = teacher_answer_span_scores(teacher.start_logits, teacher.end_logits, batch["attention_mask"].bool())
    # One call per distilled layer, each against the teacher's answer, not its last layer's attention.
    assert len(targets) == 2
    for target in targets:
        torch.testing.assert_close(target, expected)


def test_answer_span_ranking_target_needs_a_question_answering_model(tiny_bert_dir, tmp_path):
    from transformers import BertForSequenceClassification

    from transformers_top import TopBertForSequenceClassification, TopTrainer, TopTrainingArguments

    args = TopTrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to=[], rank_distill_target="answer_span"
    )
    with pytest.raises(ValueError, match=r"rank_distill_target='answer_span'.*got TopBertForSequenceClassification"):
        TopTrainer(
            model=TopBertForSequenceClassification.from_pretrained(tiny_bert_dir),
            teacher_model=BertForSequenceClassification.from_pretrained(tiny_bert_dir),
            args=args,
        )


def small_qa_trainer(bert_qa_dir, tmp_path, **arguments):
    """A TopTrainer of the tiny question-answering student on 8 windows, its teacher the same weights, dense."""
    from transformers_top import TopTrainer, TopTrainingArguments

    args = TopTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[], num_bins=10, **arguments)
    return TopTrainer(
        model=TopBertForQuestionAnswering.from_pretrained(bert_qa_dir),
        teacher_model=BertForQuestionAnswering.from_pretrained(bert_qa_dir),
        args=args,
        train_dataset=qa_dataset(8),
        data_collator=collate_windows,
    )


@pytest.mark.parametrize("weight", [0.25, 1.0])
def test_label_loss_weight_mixes_the_span_loss_on_the_answers_into_the_task_loss(bert_qa_dir, tmp_path, weight):
    """
    The task loss is `(1 - w) * distillation + w * span loss`: with the student still its teacher (closed gates, no
    ranking loss) the distillation is 0 and the loss is `w` times the start and end cross-entropies on the answers.
    """
    trainer = small_qa_trainer(bert_qa_dir, tmp_path, rank_distill_alpha=0.0, label_loss_weight=weight)
    batch = collate_windows(list(qa_dataset(8)))
    trainer.model.train()
    loss = trainer.compute_loss(trainer.model, batch)
    with torch.no_grad():
        logits = trainer.model(**{key: value for key, value in batch.items() if "positions" not in key})
    by_hand = span_loss(logits.start_logits, logits.end_logits, batch["start_positions"], batch["end_positions"])
    assert trainer._metrics["distill_loss"] == [pytest.approx(0.0, abs=1e-6)]
    assert trainer._metrics["label_loss"] == [pytest.approx(float(by_hand), rel=1e-6)]
    assert float(loss.detach()) == pytest.approx(weight * float(by_hand), rel=1e-5)
    # A batch without the answers cannot give that loss.
    unlabelled = {key: value for key, value in batch.items() if "positions" not in key}
    with pytest.raises(ValueError, match=r"label_loss_weight=.* needs labels: the batch has none of"):
        trainer.compute_loss(trainer.model, unlabelled)


def test_without_label_loss_weight_no_label_loss_is_computed_or_needed(bert_qa_dir, tmp_path):
    trainer = small_qa_trainer(bert_qa_dir, tmp_path, rank_distill_alpha=0.0, label_loss_weight=0.0)
    batch = collate_windows(list(qa_dataset(8)))
    unlabelled = {key: value for key, value in batch.items() if "positions" not in key}
    trainer.model.train()
    assert float(trainer.compute_loss(trainer.model, unlabelled)) == pytest.approx(0.0, abs=1e-6)
    assert "label_loss" not in trainer._metrics


def test_a_question_answering_student_needs_a_question_answering_teacher(bert_qa_dir, tmp_path):
    from transformers import BertForSequenceClassification

    from transformers_top import TopTrainer, TopTrainingArguments

    args = TopTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[])
    with pytest.raises(ValueError, match=r"the student \(TopBertForQuestionAnswering\) is a question-answering model"):
        TopTrainer(
            model=TopBertForQuestionAnswering.from_pretrained(bert_qa_dir),
            teacher_model=BertForSequenceClassification.from_pretrained(bert_qa_dir),
            args=args,
        )


def test_the_run_card_of_a_question_answering_run_reports_f1_and_exact_match(tmp_path):
    from transformers_top import TopTrainingArguments
    from transformers_top.training.run_card import card_data_from_run

    args = TopTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[], target_sparsity=0.5)
    history = [
        {"eval_f1": 70.5, "eval_exact_match": 60.25, "eval_flops_reduction": 2.1, "step": 10},
        {"realized_sparsity": 0.52, "target_sparsity": 0.5, "step": 10},
    ]
    card = card_data_from_run(args, history, "someone/bert-squad")
    assert (card.metric_name, card.pruned_metric) == ("f1", 70.5)
    assert card.extra_metrics == {"exact_match": {"pruned": 60.25}}
    assert (card.flops_reduction, card.realized_sparsity, card.base_model) == (2.1, 0.52, "someone/bert-squad")
