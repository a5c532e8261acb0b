"""[`TopTrainer`]: turns a fine-tuned encoder (the teacher) into a token-pruned student (see `docs/training.md`)."""

from __future__ import annotations

import copy
import json
import logging
import os
from collections import defaultdict

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import SequentialSampler
from transformers import PreTrainedModel, Trainer
from transformers.trainer_utils import has_length

from ..models.flops import flops_metrics
from ..models.pruned_encoder import TokenPruningPreTrainedMixin
from ..sharing.kept_tokens_plot import plot_kept_tokens
from ..sharing.model_card import TopModelCardData, save_model_card
from .losses import (
    lagrangian_term,
    logit_distillation_loss,
    rank_distillation_loss,
    ranking_weight,
    span_distillation_loss,
    teacher_answer_span_scores,
    teacher_final_importance,
)
from .optimization import ClampLogAlphas, check_optimizer_kwargs, hold_mask_learning_rates, parameter_groups
from .run_card import card_data_from_run
from .student_teacher import check_teacher, resolve_rank_layers
from .target_checks import missed_target_message, no_evaluation_reached_target_message
from .training_args import DEFAULT_FROZEN_PLAN_RATIO, TopTrainingArguments

logger = logging.getLogger(__name__)


class TrainingDivergedError(RuntimeError):
    """Raised when the training loss stops being finite; the last saved checkpoint is left untouched."""


class TopTrainer(Trainer):
    """
    A [`~transformers.Trainer`] that learns a token-pruning plan for a ToP student (e.g.
    [`TopBertForSequenceClassification`]) while distilling a frozen teacher.

    Loss = logit distillation (`KL * tau^2`; MSE on labels for regression; for question answering, the mean of the
    start and end distributions' `KL * tau^2` over the real positions)
    + Lagrangian FLOPs constraint `lambda_1 (s_hat - t) + lambda_2 (s_hat - t)^2`
    + ranking distillation of the teacher's final-layer token importance into the student's early layers.

    With `frozen_plan_steps` (or `frozen_plan_ratio`), the last steps train the student with the masks' deterministic
    plan dropping tokens, as at inference; the masks and multipliers then keep their values (learning rate 0) and
    the ranking distillation stops.

    The student receives hard-concrete masks (`add_pruning_masks`) unless it already holds some (a training
    checkpoint). Masks and multipliers are model parameters, so checkpoints, `resume_from_checkpoint` and DDP handle
    them; the multipliers are trained by gradient ascent. [`~TopTrainer.save_model`] writes the finalized, deployable
    model; training checkpoints keep the masks. At the end of `train()` the realized sparsity of the final model is
    measured on the evaluation texts (else the training texts), logged and returned with the target; a run that ends
    further below its target than `target_sparsity_tolerance` says so in a warning and in its model card.

    Args:
        model ([`TopBertForSequenceClassification`]): the student, initialised from the teacher's checkpoint.
        teacher_model ([`~transformers.PreTrainedModel`]): the fine-tuned, unpruned BERT teacher (frozen).
        args ([`TopTrainingArguments`]): training arguments.
        kwargs: every other [`~transformers.Trainer`] argument (`train_dataset`, `eval_dataset`,
            `processing_class`, `compute_metrics`, `data_collator`, `callbacks`, ...).
    """

    def __init__(
        self,
        model: TokenPruningPreTrainedMixin | None = None,
        teacher_model: PreTrainedModel | None = None,
        args: TopTrainingArguments | None = None,
        **kwargs,
    ) -> None:
        if not isinstance(model, TokenPruningPreTrainedMixin):
            raise ValueError(
                f"model must be a ToP model such as TopBertForSequenceClassification (the student), got "
                f"{type(model).__name__}"
            )
        if not isinstance(args, TopTrainingArguments):
            raise ValueError(f"args must be TopTrainingArguments, got {type(args).__name__}")
        check_teacher(teacher_model, model)
        if args.rank_distill_target == "answer_span" and not hasattr(model, "qa_outputs"):
            raise ValueError(
                f"rank_distill_target='answer_span' ranks tokens by the teacher's answer, which needs a "
                f"question-answering model (start and end logits), got {type(model).__name__}"
            )
        launched = int(os.environ.get("WORLD_SIZE", "1"))
        if launched > 1 and args.world_size != launched:
            raise ValueError(
                f"the launcher started {launched} processes but the training arguments use {args.world_size}: on a "
                "machine without GPUs pass --use_cpu (use_cpu=True) so the processes train together over gloo"
            )
        masks = model.base_model.token_masks
        if masks is None:
            model.config.num_bins = args.num_bins
            if args.bin_order is not None:
                model.config.bin_order = args.bin_order
            if args.prune_layers is not None:
                model.config.prune_layers = list(args.prune_layers)
            model.add_pruning_masks()
        elif args.bin_order is not None and args.bin_order != masks.bin_order:
            raise ValueError(
                f"bin_order={args.bin_order!r}, but the student already holds masks with bin_order="
                f"{masks.bin_order!r} (from its checkpoint): the order of trained masks cannot change"
            )
        for name in ("plan_freeze_rule", "masked_token_output"):  # bin_order goes with the masks, above
            if getattr(args, name) is not None:
                setattr(model.config, name, getattr(args, name))
        self.rank_distill_layers = resolve_rank_layers(args.rank_distill_layers, model.config)
        if args.ddp_find_unused_parameters:
            raise ValueError(
                "ddp_find_unused_parameters=True is not supported by TopTrainer: the Lagrange multipliers are used "
                "outside the forward, so DDP would mark them ready twice; every parameter gets a gradient anyway"
            )
        # transformers defaults to True for a PreTrainedModel, which fails under DDP for the reason above.
        args.ddp_find_unused_parameters = False
        super().__init__(model=model, args=args, **kwargs)
        # The loss is a mean over the micro-batch: let the Trainer scale it for gradient accumulation.
        self.model_accepts_loss_kwargs = False
        if args.freeze_embeddings:
            model.base_model.embeddings.requires_grad_(False)
        teacher_model.eval().requires_grad_(False)
        self.teacher = self.accelerator.prepare_model(teacher_model, evaluation_mode=True)
        self.masks = model.base_model.token_masks
        self.add_callback(ClampLogAlphas(self.masks))
        self._metrics: dict[str, list[float]] = defaultdict(list)

    # ---- schedule of the constraint ---------------------------------------------------------------------------

    def sparsity_warmup_steps(self) -> int:
        """Optimizer steps of the linear ramp of the sparsity target."""
        if self.args.sparsity_warmup_steps > 0:
            return self.args.sparsity_warmup_steps
        return round(self.args.sparsity_warmup_ratio * self.state.max_steps)

    def warmup_progress(self) -> float:
        """Fraction of the sparsity warm-up done, in `[0, 1]`."""
        warmup = self.sparsity_warmup_steps()
        return 1.0 if warmup == 0 else min(1.0, self.state.global_step / warmup)

    def current_target_sparsity(self) -> float:
        """The target `t`, ramping linearly from 0 to `target_sparsity` over the warm-up."""
        return self.args.target_sparsity * self.warmup_progress()

    def plan_freeze_step(self) -> int | None:
        """
        Optimizer step from which the plan is frozen (`frozen_plan_steps` or `frozen_plan_ratio` before the end; by
        default 30% before the end but not before the sparsity warm-up ends), or `None` when the masks are learnt
        until the end.
        """
        max_steps = self.state.max_steps
        if self.args.frozen_plan_steps or self.args.frozen_plan_ratio is not None:
            steps = self.args.frozen_plan_steps or round(self.args.frozen_plan_ratio * max_steps)
            return max_steps - steps if steps > 0 else None
        freeze_step = max(max_steps - round(DEFAULT_FROZEN_PLAN_RATIO * max_steps), self.sparsity_warmup_steps())
        return freeze_step if freeze_step < max_steps else None

    def plan_is_frozen(self) -> bool:
        """Whether training has reached `plan_freeze_step`."""
        freeze_step = self.plan_freeze_step()
        return freeze_step is not None and self.state.global_step >= freeze_step

    # ---- optimisation -----------------------------------------------------------------------------------------

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """
        Four parameter groups: the model with and without weight decay (`--learning_rate`, `--optim`), the mask
        log-alphas (`mask_learning_rate`) and the Lagrange multipliers (`lagrangian_learning_rate`, gradient ascent
        through `maximize=True`).
        """
        if self.optimizer is not None:
            return self.optimizer
        opt_model = self.model if model is None else model
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        check_optimizer_kwargs(self.args.optim, optimizer_kwargs)
        groups = parameter_groups(
            opt_model,
            self.masks,
            self.get_decay_parameter_names(opt_model),
            self.args.weight_decay,
            self.args.mask_learning_rate,
            self.args.lagrangian_learning_rate,
        )
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None):
        """
        `--lr_scheduler_type` for the model groups; constant learning rates for the masks and the multipliers until
        the plan is frozen, zero after.
        """
        if self.lr_scheduler is not None:
            return self.lr_scheduler
        freeze_step = self.plan_freeze_step()
        if freeze_step is not None and freeze_step < self.sparsity_warmup_steps():
            raise ValueError(
                f"the plan would be frozen at step {freeze_step}, before the sparsity warm-up ends at step "
                f"{self.sparsity_warmup_steps()} of {self.state.max_steps}: lower frozen_plan_steps "
                f"({self.args.frozen_plan_steps}) / frozen_plan_ratio ({self.args.frozen_plan_ratio}) or the warm-up"
            )
        scheduler = super().create_scheduler(num_training_steps, optimizer)
        if not isinstance(scheduler, LambdaLR):
            raise ValueError(
                f"lr_scheduler_type={self.args.lr_scheduler_type!r} is not supported by TopTrainer "
                "(it needs a LambdaLR-based schedule such as linear, cosine or constant)"
            )
        return hold_mask_learning_rates(scheduler, freeze_step)

    # ---- loss -------------------------------------------------------------------------------------------------

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """
        KD (mixed with the student's loss on the labels when `label_loss_weight > 0`) + Lagrangian + ranking
        distillation in training. In evaluation the teacher does not run: the loss is the student's own loss on the
        labels (cross-entropy, MSE for regression), as transformers reports it for BERT.
        """
        label_names = self.label_names or ["labels"]
        label_weight = self.args.label_loss_weight
        if (not model.training or label_weight > 0) and not any(name in inputs for name in label_names):
            needs = "the evaluation loss" if not model.training else f"label_loss_weight={label_weight}"
            raise ValueError(f"{needs} needs labels: the batch has none of {label_names}")
        if not model.training:
            outputs = model(**inputs)
            return (outputs.loss, outputs) if return_outputs else outputs.loss
        labels = inputs.get("labels")
        model_inputs = {key: value for key, value in inputs.items() if key not in label_names}
        attention_mask = model_inputs.get("attention_mask")
        if attention_mask is None:
            attention_mask = torch.ones_like(model_inputs["input_ids"])
        alive = attention_mask.bool()
        self.masks.plan_frozen = self.plan_is_frozen()
        # Once the plan is frozen the student's sequences are shortened: its importances no longer line up with the
        # teacher's tokens (and under the method's schedule the ranking weight has decayed to its floor anyway).
        distill_ranks = (
            self.args.rank_distill_alpha > 0 and bool(self.rank_distill_layers) and not self.masks.plan_frozen
        )
        # The teacher's last-layer importance is recomputed from its last layer's input (hidden_states[-2]).
        teacher_states = distill_ranks and self.args.rank_distill_target == "importance"
        with torch.no_grad():
            teacher_outputs = self.teacher(**model_inputs, output_hidden_states=teacher_states)
        # With labels the student's forward also returns its own loss on them (outputs.loss).
        student_inputs = inputs if label_weight > 0 else model_inputs
        outputs = model(**student_inputs, importance_layers=self.rank_distill_layers if distill_ranks else None)
        distill_loss = self._task_loss(outputs, teacher_outputs, labels, alive)
        task_loss = distill_loss
        if label_weight > 0:
            task_loss = (1 - label_weight) * distill_loss + label_weight * outputs.loss
        rank_loss = (
            self._rank_loss(outputs, teacher_outputs, alive, model_inputs.get("token_type_ids"))
            if distill_ranks
            else torch.zeros((), device=alive.device)
        )
        rank_weight = ranking_weight(
            self.args.rank_distill_alpha, self.args.rank_distill_schedule, self.warmup_progress()
        )
        expected_sparsity = self.accelerator.unwrap_model(model).expected_sparsity(self._global_lengths(alive))
        target = self.current_target_sparsity()
        gap = expected_sparsity - target
        lambda_1, lambda_2 = self.masks.lagrange_multipliers
        lagrangian = lagrangian_term(lambda_1, lambda_2, gap, anti_windup=self.args.lagrangian_anti_windup)
        if self.masks.plan_frozen:
            # The masks and multipliers no longer move: they stay in the graph with a zero weight (every parameter
            # still gets a gradient, as DDP requires), so the gradient and its clipping are the distillation's alone.
            lagrangian = lagrangian * 0.0
        loss = task_loss + lagrangian + rank_weight * rank_loss
        if not torch.isfinite(loss):
            components = {"task": task_loss, "lagrangian": lagrangian, "ranking": rank_loss}
            values = ", ".join(f"{name} {float(value.detach()):.4g}" for name, value in components.items())
            raise TrainingDivergedError(
                f"non-finite loss at step {self.state.global_step} ({values}); stopping. The last saved checkpoint is "
                "intact: lower the learning rates and resume from it."
            )
        for key, value in (
            ("distill_loss", distill_loss),
            *((("label_loss", outputs.loss),) if label_weight > 0 else ()),
            ("rank_loss", rank_loss),
            ("lagrangian_loss", lagrangian),
            ("expected_sparsity", expected_sparsity),
            ("target_sparsity", target),
            ("lambda_1", lambda_1),
            ("lambda_2", lambda_2),
            ("plan_frozen", float(self.masks.plan_frozen)),
        ):
            self._metrics[key].append(float(value.detach()) if isinstance(value, torch.Tensor) else float(value))
        return (loss, outputs) if return_outputs else loss

    def _rank_loss(
        self, outputs, teacher_outputs, alive: torch.Tensor, token_type_ids: torch.Tensor | None
    ) -> torch.Tensor:
        """
        Sum over `rank_distill_layers` of the ranking loss against the teacher's scores (`rank_distill_target`): its
        final-layer importance, whose queries are the student's (`importance_token_type`), or how likely each token
        lies inside its answer.
        """
        if self.args.rank_distill_target == "answer_span":
            teacher_importance = teacher_answer_span_scores(
                teacher_outputs.start_logits, teacher_outputs.end_logits, alive
            )
        else:
            student = self.accelerator.unwrap_model(self.model).base_model
            queries = student.importance_queries(alive, token_type_ids)
            last_layer_input = teacher_outputs.hidden_states[-2]
            teacher_importance = teacher_final_importance(self.teacher, last_layer_input, alive, queries)
        return sum(
            rank_distillation_loss(
                outputs.token_importance[layer],
                teacher_importance,
                alive,
                self.args.rank_distill_topk,
                self.args.rank_distill_loss,
                self.args.rank_distill_score,
                self.args.rank_distill_pairs,
            )
            for layer in self.rank_distill_layers
        )

    def _task_loss(self, outputs, teacher_outputs, labels, alive: torch.Tensor) -> torch.Tensor:
        """Distillation of the teacher's outputs: span logits for question answering, class logits otherwise."""
        if getattr(outputs, "start_logits", None) is not None:
            return span_distillation_loss(outputs, teacher_outputs, alive, self.args.distill_temperature)
        if self.model.config.num_labels == 1:
            if labels is None:
                raise ValueError("regression (num_labels=1) trains on labels: the batch has no 'labels'")
            return nn.functional.mse_loss(outputs.logits.squeeze(-1), labels.to(outputs.logits.dtype).squeeze(-1))
        return logit_distillation_loss(outputs.logits, teacher_outputs.logits, self.args.distill_temperature)

    def _global_lengths(self, alive: torch.Tensor) -> torch.Tensor:
        """Real lengths of the global batch (all processes), so every rank computes the same constraint."""
        lengths = alive.sum(dim=1)
        if self.accelerator.num_processes == 1:
            return lengths
        gathered = self.accelerator.gather(self.accelerator.pad_across_processes(lengths, pad_index=0))
        return gathered[gathered > 0]

    # ---- logging and evaluation -------------------------------------------------------------------------------

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the averages of the loss components since the last log to training logs."""
        if "loss" in logs and self._metrics:
            logs.update({key: sum(values) / len(values) for key, values in self._metrics.items()})
            self._metrics.clear()
        super().log(logs, start_time)

    def _get_eval_sampler(self, eval_dataset) -> torch.utils.data.Sampler | None:
        """
        Evaluate and predict in the dataset's order, also with length-grouped training batches
        (`train_sampling_strategy="group_by_length"`), for which transformers groups evaluation batches by length
        too: `predict` would return its rows in another order than the dataset's, and metrics that map predictions
        back to their rows (question answering's windows to their answers) would score the wrong rows.
        """
        if self.args.train_sampling_strategy != "group_by_length":
            return super()._get_eval_sampler(eval_dataset)
        if eval_dataset is None or not has_length(eval_dataset) or self.args.world_size > 1:
            return None  # the dataloader's default: in order (sharded in order across processes)
        return SequentialSampler(eval_dataset)

    def evaluation_loop(
        self, dataloader, description, prediction_loss_only=None, ignore_keys=None, metric_key_prefix="eval"
    ):
        """The standard loop plus the realized FLOPs reduction of the current plan on the evaluated real tokens."""
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix)
        output.metrics.update(self.flops_metrics(self._dataset_lengths(dataloader.dataset), metric_key_prefix))
        return output

    def flops_metrics(self, lengths: list[int], prefix: str = "eval") -> dict[str, float]:
        """
        Realized FLOPs reduction of the deterministic plan on sequences of `lengths` real tokens, in both
        conventions: against dense on the same real tokens, and against dense padded to `flops_padded_length`
        (default: the longest sequence); plus the realized and the target sparsity.
        """
        config = self.accelerator.unwrap_model(self.model).base_model.deployable_config()
        metrics = flops_metrics(config, lengths, self.args.flops_padded_length, prefix)
        return metrics | {f"{prefix}_target_sparsity": self.args.target_sparsity}

    @staticmethod
    def _dataset_lengths(dataset) -> list[int]:
        """Real lengths of an evaluation dataset's samples (from `attention_mask`, else `input_ids`)."""
        if hasattr(dataset, "column_names"):
            if "attention_mask" in dataset.column_names:
                return [int(sum(mask)) for mask in dataset["attention_mask"]]
            return [len(ids) for ids in dataset["input_ids"]]
        return [
            int(sum(row["attention_mask"])) if "attention_mask" in row else len(row["input_ids"]) for row in dataset
        ]

    def train(self, *args, **kwargs):
        """
        `Trainer.train`, then the realized sparsity of the final model (the kept one with `load_best_model_at_end`) on
        the evaluation texts, else the training texts: returned in the metrics as `realized_sparsity` and
        `target_sparsity`, logged into `state.log_history` (so it reaches `trainer_state.json` and the model card),
        and a warning when it is further from the target than `target_sparsity_tolerance` (short of it, or past it).
        """
        output = super().train(*args, **kwargs)
        warning = no_evaluation_reached_target_message(
            self.state.log_history, self.args, self.state.best_model_checkpoint
        )
        if warning:
            logger.warning(warning)
        dataset = self.eval_dataset if self.eval_dataset is not None else self.train_dataset
        if dataset is None or isinstance(dataset, dict) or not hasattr(dataset, "__len__"):
            return output
        realized = self.flops_metrics(self._dataset_lengths(dataset), prefix="final")["final_sparsity"]
        final = {"realized_sparsity": realized, "target_sparsity": self.args.target_sparsity}
        self.log(final)
        output.metrics.update(final)
        warning = missed_target_message(realized, self.args)
        if warning:
            logger.warning(warning)
        return output

    def _determine_best_metric(self, metrics: dict[str, float], trial) -> bool:
        """
        Only evaluations whose realized sparsity reached the target (within `target_sparsity_tolerance`) may become
        the best model.
        """
        sparsity = metrics.get("eval_sparsity")
        if sparsity is not None and sparsity < self.args.target_sparsity - self.args.target_sparsity_tolerance:
            return False
        return super()._determine_best_metric(metrics, trial)

    # ---- saving -----------------------------------------------------------------------------------------------

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """
        Save the finalized, deployable model (plan in `config.json`, no mask parameters), its tokenizer and the
        training arguments as JSON. Checkpoints written during training (internal calls with a checkpoint folder)
        keep the masks; `push_to_hub` (an internal call without a folder) saves the deployable model.
        """
        if _internal_call and output_dir is not None:
            return super().save_model(output_dir, _internal_call=True)
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if self.args.should_save:
            student = copy.deepcopy(self.accelerator.unwrap_model(self.model))
            if student.base_model.token_masks is not None:
                student.finalize_pruning()
            student.save_pretrained(output_dir)
            if self.processing_class is not None:
                self.processing_class.save_pretrained(output_dir)
            with open(os.path.join(output_dir, "training_args.json"), "w") as handle:
                json.dump(json.loads(self.args.to_json_string()), handle, indent=2)
        # `Trainer.push_to_hub` saves through here (`_internal_call=True`, no folder): it must not push again.
        if self.args.push_to_hub and not _internal_call:
            self.push_to_hub(commit_message="Model save", revision=self.args.hub_revision)

    def create_model_card(
        self,
        card_data: TopModelCardData | None = None,
        model_name: str | None = None,
        language: str | list[str] | None = None,
        license: str | None = None,
        tags: str | list[str] | None = None,
        finetuned_from: str | None = None,
        dataset_tags: str | list[str] | None = None,
        dataset_args: str | list[str] | None = None,
    ) -> None:
        """
        Write the ToP model card (`README.md`) and the kept-tokens plot into `args.output_dir`, as
        `Trainer.push_to_hub` expects.

        Without `card_data`, the card holds what this run knows: the teacher (`finetuned_from`, else the teacher's
        name when it is a Hub id), the dataset (`dataset_tags`, `dataset_args`: its Hub id and configuration), the
        last evaluation's `metric_for_best_model` and FLOPs reductions, and the pruning hyper-parameters. The
        teacher's metric and the measured latency are left out unless given in `card_data`.

        Args:
            card_data ([`TopModelCardData`], *optional*): every value of the card; the other arguments are then unused
                and must be left out.
            model_name, language, license, tags, finetuned_from, dataset_tags, dataset_args:
                as in [`~transformers.Trainer.create_model_card`].
        """
        run_values = {
            "model_name": model_name,
            "language": language,
            "license": license,
            "tags": tags,
            "finetuned_from": finetuned_from,
            "dataset_tags": dataset_tags,
            "dataset_args": dataset_args,
        }
        if card_data is not None and any(value is not None for value in run_values.values()):
            given = sorted(name for name, value in run_values.items() if value is not None)
            raise ValueError(f"pass either card_data or the card arguments {given}, not both")
        if not self.is_world_process_zero():
            return
        if card_data is None:
            card_data = card_data_from_run(
                self.args, self.state.log_history, self.teacher.config.name_or_path, **run_values
            )
        student = self.accelerator.unwrap_model(self.model)
        plot = None
        if self.eval_dataset is not None and not isinstance(self.eval_dataset, dict):
            try:
                plot = plot_kept_tokens(
                    student.base_model.deployable_config(),
                    self._dataset_lengths(self.eval_dataset),
                    os.path.join(self.args.output_dir, "kept_tokens.png"),
                )
            except ImportError:
                logger.info("matplotlib is not installed (pip install transformers-top[plots]): no kept-tokens plot")
        save_model_card(self.args.output_dir, student, card_data, plot=plot, repo_id=self.hub_model_id)


__all__ = ["TopTrainer", "TrainingDivergedError"]
