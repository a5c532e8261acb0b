"""Train a tiny random ToP student on synthetic data: the workload of the resume, multi-process and safety tests.

Self-contained (no data files, no network), so it runs as a plain script, under `torchrun` and under `accelerate
launch`. Every [`TopTrainingArguments`] flag is accepted (`--output_dir`, `--max_steps`, `--save_steps`,
`--resume_from_checkpoint`, `--use_cpu`, ...) plus the flags of [`TinyRunArguments`]. The teacher, the student and the
data come from a fixed seed (0), so runs differ only through `--seed` (mask noise, data order).

Example:

```bash
torchrun --nproc_per_node 2 tests/scripts/train_tiny.py --output_dir /tmp/tiny --max_steps 4 --record_dir /tmp/rec
```
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import torch
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification, HfArgumentParser, TrainerCallback

from transformers_top import TopBertConfig, TopBertForSequenceClassification, TopTrainer, TopTrainingArguments

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
CLS_ID, PAD_ID = 2, 0
#: Initial masks of the run: gates open and bins that already drop the lowest ranks, so that the expected sparsity
#: depends on the sequence lengths and the finalized plan prunes from the first step on.
GATE_LOG_ALPHA = 3.0
BIN_LOG_ALPHA_RANGE = (4.0, -2.0)


@dataclass
class TinyRunArguments:
    """Options of the tiny run that are not training arguments."""

    num_examples: int = field(default=24, metadata={"help": "Synthetic training examples."})
    max_length: int = field(default=24, metadata={"help": "Longest synthetic sequence (real tokens)."})
    kill_after_step: int | None = field(
        default=None, metadata={"help": "SIGKILL this process at the end of this optimizer step (a real crash)."}
    )
    record_dir: str | None = field(
        default=None,
        metadata={
            "help": "Write rank{i}.jsonl there: each batch's real lengths, the masks after each step, the logs."
        },
    )
    final_model_dir: str | None = field(
        default=None, metadata={"help": "Save the finalized model there with trainer.save_model at the end."}
    )


def synthetic_dataset(num_examples: int, max_length: int) -> Dataset:
    """Random token sequences of random lengths in `[3, max_length]`, [CLS] first, with random binary labels."""
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(3, max_length + 1, (num_examples,), generator=generator).tolist()
    rows = [
        [CLS_ID, *torch.randint(5, TINY_BERT["vocab_size"], (length - 1,), generator=generator).tolist()]
        for length in lengths
    ]
    labels = torch.randint(0, 2, (num_examples,), generator=generator).tolist()
    return Dataset.from_dict({"input_ids": rows, "labels": labels})


class PaddingCollator:
    """Right-pads `input_ids` to the longest row of the batch; optionally records each batch's real lengths."""

    def __init__(self) -> None:
        self.batch_lengths: list[list[int]] = []

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        lengths = [len(feature["input_ids"]) for feature in features]
        self.batch_lengths.append(lengths)
        input_ids = torch.full((len(features), max(lengths)), PAD_ID, dtype=torch.long)
        for row, feature in enumerate(features):
            input_ids[row, : lengths[row]] = torch.tensor(feature["input_ids"])
        attention_mask = (torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]).long()
        labels = torch.tensor([feature["labels"] for feature in features])
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


class RunRecorder(TrainerCallback):
    """
    Appends JSON lines to `rank{process_index}.jsonl`: `{"event": "masks", "step", "gate", "bins", "multipliers"}` at
    the start and after every optimizer step, `{"event": "batch", "lengths"}` for each collated batch (in order, one
    per step) and `{"event": "log", "step", ...}` for every log.
    """

    def __init__(self, record_dir: str, trainer: TopTrainer, collator: PaddingCollator) -> None:
        Path(record_dir).mkdir(parents=True, exist_ok=True)
        self.path = Path(record_dir) / f"rank{trainer.args.process_index}.jsonl"
        self.masks = trainer.masks
        self.collator = collator

    def _write(self, record: dict) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def _write_masks(self, step: int) -> None:
        self._write(
            {
                "event": "masks",
                "step": step,
                "gate": self.masks.gate_log_alpha.tolist(),
                "bins": self.masks.bin_log_alpha.tolist(),
                "multipliers": self.masks.lagrange_multipliers.tolist(),
            }
        )

    def on_train_begin(self, args, state, control, **kwargs):
        self._write_masks(state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        for lengths in self.collator.batch_lengths:
            self._write({"event": "batch", "lengths": lengths})
        self.collator.batch_lengths.clear()
        self._write_masks(state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        self._write({"event": "log", "step": state.global_step, **(logs or {})})


class KillAfterStep(TrainerCallback):
    """Sends SIGKILL to this process at the end of optimizer step `step`: no cleanup, no further checkpoint."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def build_trainer(run_args: TinyRunArguments, training_args: TopTrainingArguments) -> TopTrainer:
    """The tiny teacher (random BERT), its copy as the student with pre-set masks, and the trainer."""
    torch.manual_seed(0)
    teacher = BertForSequenceClassification(BertConfig(**TINY_BERT))
    student = TopBertForSequenceClassification(TopBertConfig.from_bert_config(teacher.config))
    student.load_state_dict(teacher.state_dict())
    collator = PaddingCollator()
    trainer = TopTrainer(
        model=student,
        teacher_model=teacher,
        args=training_args,
        train_dataset=synthetic_dataset(run_args.num_examples, run_args.max_length),
        data_collator=collator,
    )
    with torch.no_grad():
        trainer.masks.gate_log_alpha.fill_(GATE_LOG_ALPHA)
        trainer.masks.bin_log_alpha.copy_(torch.linspace(*BIN_LOG_ALPHA_RANGE, training_args.num_bins))
    if run_args.record_dir is not None:
        trainer.add_callback(RunRecorder(run_args.record_dir, trainer, collator))
    if run_args.kill_after_step is not None:
        trainer.add_callback(KillAfterStep(run_args.kill_after_step))
    return trainer


def main(argv: list[str] | None = None) -> TopTrainer:
    """Parse `argv` (default: the command line), train, save the finalized model if asked; return the trainer."""
    parser = HfArgumentParser((TinyRunArguments, TopTrainingArguments))
    run_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    trainer = build_trainer(run_args, training_args)
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    if run_args.final_model_dir is not None:
        trainer.save_model(run_args.final_model_dir)
    return trainer


if __name__ == "__main__":
    main()
    if torch.distributed.is_initialized():
        # Exiting with the process group alive can abort a rank ("terminate called without an active exception").
        torch.distributed.destroy_process_group()
