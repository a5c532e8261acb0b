#!/usr/bin/env python
"""
What a pruned question-answering model loses to its ranking. The teacher runs under a ToP run's plan twice: ranking
its tokens by the attention they receive (the plan on the teacher, `accuracy.py`'s plan-only), and ranking the gold
answers' tokens above every other token at every decision, an oracle that knows the answer (no deployed model can).
Both keep the same number of tokens at every layer, so they cost the same FLOPs; the gap between them is what the
ranking, and not the budget, costs, and the gap between the oracle and the dense teacher is what the budget costs when
the answer survives. Each ranking is scored twice: with the model's span logits as they are (a pruned token's come from
the shallower state it carried when it was dropped), and with answers allowed only where the tokens went through the
last layer (the others' logits set to `DROPPED_LOGIT`), which tells whether the carried states' logits draw answers
away.

SQuAD v1.1 F1 and exact match of the dense teacher and of the two rankings, on the validation windows (384 tokens,
stride 128) as `examples/run_qa_top.py` evaluates them; the answer tokens of a window are its context tokens that
overlap any of the question's gold answers (a window without them ranks by attention alone). Results go to
`benchmarks/results/answer_oracle.json` (`--name` picks another stem).

```bash
python benchmarks/answer_oracle.py --teacher benchmarks/work/squad/teacher \
    --plan_from benchmarks/results/accuracy_squad.json --setting "target 0.5"   # or a saved ToP run's folder
```
"""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from pathlib import Path

import torch
from common import RESULTS_DIR, SHARED_DATA, environment, recorded_plan, save_results
from deployment import SQUAD_FILE, batches_by_length, squad_scores, squad_windows, window_encoder
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from transformers_top import top_model_class
from transformers_top.models import pruned_encoder

#: The configuration fields of a ToP run that make its plan.
PLAN_FIELDS = ("prune_layers", "num_bins", "token_keep_ratios", "token_keep_bins")
VARIANTS = (
    "teacher",
    "plan, attention ranking",
    "plan, attention ranking, answers from last-layer tokens",
    "plan, answer ranked first",
    "plan, answer ranked first, answers from last-layer tokens",
)
#: The span logit given to the positions that did not go through the last layer, so no answer starts or ends there.
DROPPED_LOGIT = -1e4


def answer_masks(examples, features) -> list[list[bool]]:
    """Per window, which tokens are context tokens overlapping one of its question's gold answers (character spans)."""
    spans = {}
    for row in examples:
        answers = row["answers"]
        starts, texts = answers["answer_start"], answers["text"]
        spans[row["id"]] = [(start, start + len(text)) for start, text in zip(starts, texts, strict=True)]
    return [
        [offset is not None and any(offset[0] < end and offset[1] > start for start, end in spans[example_id])
         for offset in offsets]
        for example_id, offsets in zip(features["example_id"], features["offset_mapping"], strict=True)
    ]  # fmt: skip


def batches_with_answers(tokenizer, features, masks: list[list[bool]]):
    """
    The windows in length order, their batches (`batches_by_length`), each with an `answer_mask` of the windows'
    answer tokens (`masks`, from `answer_masks`), and every window's length.
    """
    encode_windows, lengths = window_encoder(tokenizer, features)

    def encode(indices: list[int]) -> dict[str, torch.Tensor]:
        batch = encode_windows(indices)
        answer_mask = torch.zeros_like(batch["input_ids"], dtype=torch.bool)
        for row, index in enumerate(indices):
            answer_mask[row, : len(masks[index])] = torch.tensor(masks[index])
        return {**batch, "answer_mask": answer_mask}

    order, batches = batches_by_length(encode, range(len(lengths)), lengths)
    return order, batches, lengths


class AnswerFirst:
    """
    A pruned question-answering model whose ranking puts each batch's `answer_mask` tokens above all others at every
    decision (the model's own protected-token ranking, fed with the answer instead of a token type).
    """

    def __init__(self, model) -> None:
        self.model = model

    def __call__(self, answer_mask: torch.Tensor, **inputs: torch.Tensor):
        base = self.model.base_model
        base.protected_tokens = lambda alive, token_type_ids: alive & answer_mask.to(torch.bool)
        try:
            return self.model(**inputs)
        finally:
            del base.protected_tokens  # the class's own method again


@contextmanager
def last_layer_positions():
    """
    Within the block, each forward of a pruned model appends to the yielded list a `(batch, length)` bool tensor: the
    positions whose tokens went through the model's last layer. (The model restores every position from its
    `TokenRestorer`, whose `origin` holds, at the end, the positions of the tokens still alive.)
    """
    reached = []
    restorer_class = pruned_encoder.TokenRestorer

    class RecordingRestorer(restorer_class):
        def output(self):
            through = torch.zeros(self.origin.shape[0], self.seq_length + 1, dtype=torch.bool)
            reached.append(through.scatter_(1, self.origin, True)[:, :-1])
            return super().output()

    pruned_encoder.TokenRestorer = RecordingRestorer
    try:
        yield reached
    finally:
        pruned_encoder.TokenRestorer = restorer_class


class AnswersFromLastLayer:
    """
    A pruned question-answering `run` (called with an `answer_mask`) whose span logits are `DROPPED_LOGIT` wherever
    the token did not go through the last layer: answers only from tokens the whole model saw.
    """

    def __init__(self, run) -> None:
        self.run = run

    def __call__(self, answer_mask: torch.Tensor, **inputs: torch.Tensor):
        with last_layer_positions() as reached:
            output = self.run(answer_mask=answer_mask, **inputs)
        (through,) = reached
        output.start_logits = output.start_logits.masked_fill(~through, DROPPED_LOGIT)
        output.end_logits = output.end_logits.masked_fill(~through, DROPPED_LOGIT)
        return output


def without_answer_mask(model):
    """`model` called with a batch that carries an `answer_mask` it does not use."""
    return lambda answer_mask, **inputs: model(**inputs)


def plan_of(source: Path, setting: str | None = None, fields: tuple[str, ...] = PLAN_FIELDS) -> dict:
    """
    The `fields` (by default the plan's) of a saved ToP run (its `config.json`), or of a `top` point of an
    `accuracy.py` results file (the one whose setting is `setting`, which may be left out when the file holds one).
    """
    config = json.loads((source / "config.json").read_text()) if source.is_dir() else recorded_plan(source, setting)
    if not config.get("token_keep_ratios"):
        raise ValueError(f"{source} holds no pruning plan (no token_keep_ratios)")
    return {field: config[field] for field in fields if field in config}


def measure(teacher_dir: Path, plan: dict, validation_file: Path, max_seq_length: int, doc_stride: int,
            max_questions: int | None = None) -> dict:  # fmt: skip
    """F1 and exact match of the teacher and of its two rankings under `plan` (each scored two ways, `VARIANTS`)."""
    tokenizer = AutoTokenizer.from_pretrained(teacher_dir)
    examples, features = squad_windows(tokenizer, validation_file, max_seq_length, doc_stride, max_questions)
    teacher = AutoModelForQuestionAnswering.from_pretrained(teacher_dir).eval()
    top_class = top_model_class(teacher.config.model_type, "AutoModelForQuestionAnswering")
    pruned = top_class.from_pretrained(teacher_dir, **plan).eval()
    attention, answer_first = without_answer_mask(pruned), AnswerFirst(pruned)
    rankings = (attention, AnswersFromLastLayer(attention), answer_first, AnswersFromLastLayer(answer_first))
    runs = dict(zip(VARIANTS, (without_answer_mask(teacher), *rankings), strict=True))
    masks = answer_masks(examples, features)
    order, batches, lengths = batches_with_answers(tokenizer, features, masks)
    rows = []
    for name, run in runs.items():
        scores = squad_scores(run, batches, order, examples, features)
        rows.append({"variant": name, "f1": scores["f1"], "exact_match": scores["exact_match"]})
        print(f"{name:28} F1 {scores['f1']:.2f}  EM {scores['exact_match']:.2f}")
    holding = sum(any(mask) for mask in masks)
    return {
        "questions": len(examples),
        "windows": len(lengths),
        "windows_holding_an_answer": holding,
        "answer_tokens_per_window": sum(map(sum, masks)) / max(1, holding),
        "rows": rows,
    }


def teacher_and_plan_parser(description: str, name: str) -> argparse.ArgumentParser:
    """
    The arguments of the scripts that run a SQuAD teacher under a ToP run's plan: the teacher, the plan's source, the
    validation questions and their windows, the threads, and the results file's stem (`name` by default).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--teacher", type=Path, required=True, help="the dense question-answering teacher's folder")
    parser.add_argument(
        "--plan_from", type=Path, required=True,
        help="the plan the teacher runs: a saved ToP run's folder, or an accuracy.py results file",
    )  # fmt: skip
    parser.add_argument("--setting", help="the top point of a results file with several (e.g. 'target 0.5')")
    parser.add_argument("--validation_file", type=Path, default=SHARED_DATA / SQUAD_FILE)
    parser.add_argument("--max_questions", type=int, help="only the first questions (a quick run)")
    parser.add_argument("--max_seq_length", type=int, default=384)
    parser.add_argument("--doc_stride", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default=name, help="results file stem")
    parser.add_argument("--results_dir", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    return parser


def checked_teacher_and_plan(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit through `parser.error`, naming the value, unless the arguments of `teacher_and_plan_parser` are usable."""
    if not (args.teacher / "config.json").is_file():
        parser.error(f"--teacher {args.teacher} is not a saved model folder")
    if not (args.plan_from / "config.json").is_file() and not (
        args.plan_from.suffix == ".json" and args.plan_from.is_file()
    ):
        parser.error(f"--plan_from {args.plan_from} is neither a saved model folder nor a results file")
    if not args.validation_file.is_file():
        parser.error(f"--validation_file {args.validation_file} not found")
    for name in ("threads", "max_questions"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1, got {value}")


def main(argv: list[str] | None = None) -> dict:
    parser = teacher_and_plan_parser(__doc__.split("\n\n")[0], "answer_oracle")
    args = parser.parse_args(argv)
    checked_teacher_and_plan(parser, args)
    try:
        plan = plan_of(args.plan_from, args.setting)
    except ValueError as error:
        parser.error(str(error))
    torch.set_num_threads(args.threads)
    with torch.inference_mode():
        result = measure(args.teacher, plan, args.validation_file, args.max_seq_length, args.doc_stride,
                         args.max_questions)  # fmt: skip
    return save_record(args, plan, result)


def save_record(args: argparse.Namespace, plan: dict, result: dict) -> dict:
    """The run's record (environment, settings, plan, then `result`), saved as `args.name` in `args.results_dir`."""
    record = {
        "environment": environment(threads=args.threads),
        "settings": {key: str(value) for key, value in vars(args).items()},
        "plan": plan,
    } | result
    print(f"saved {save_results(args.name, record, args.results_dir)}")
    return record


if __name__ == "__main__":
    main()
