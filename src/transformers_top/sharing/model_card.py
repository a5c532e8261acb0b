"""Model cards of ToP-pruned models, rendered from the Jinja template `templates/model_card.md`.

The interface is two calls:

```python
from transformers_top import TopModelCardData, save_model_card

card_data = TopModelCardData(
    base_model="user/bert-finetuned-sst2",  # the teacher
    dataset="nyu-mll/glue", dataset_config="sst2", dataset_split="validation",
    metric_name="accuracy", teacher_metric=0.921, pruned_metric=0.917,
    flops_reduction=1.9, flops_reduction_padded=3.8, padded_length=64, representative_length=25,
    latency_speedup=1.6, latency_hardware="2-core x86 CPU, torch 2.13", latency_batch_size=1,
    training_hyperparameters={"learning_rate": 3e-5, "target_sparsity": 0.5},
)
save_model_card("out/final", model, card_data, plot="out/kept_tokens.png", repo_id="user/bert-top-sst2")
```

`save_model_card` writes `README.md` (YAML metadata with `model-index`, then the body) into a directory that already
holds the saved model, and copies the kept-tokens plot next to it. Every field of [`TopModelCardData`] is optional
and validated when set: a value of the wrong type raises a `ValueError` naming the field. Fields left `None` are
left out of the card, never filled in. The per-layer table comes from the model's own pruning plan
(`config.token_keep_ratios`).
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..auto_classes import SUPPORTED_HEADS
from ..models.flops import count_flops, plan_lengths
from ..models.pruned_encoder import TokenPruningPreTrainedMixin
from ..models.pruning_config import is_int, is_number
from .repo_ids import is_repo_id

TEMPLATE_PATH = Path(__file__).parent / "templates" / "model_card.md"
#: Tags every card carries, before the user's own (and the model family's, e.g. `bert`).
BASE_TAGS = ["transformers-top", "token-pruning", "top"]
#: The pipeline task of each head, by the Auto class that loads it.
PIPELINE_TAGS = {
    "AutoModel": "feature-extraction",
    "AutoModelForSequenceClassification": "text-classification",
    "AutoModelForQuestionAnswering": "question-answering",
}
#: How the card describes a model, by its pipeline task.
MODEL_KINDS = {
    "feature-extraction": "encoder",
    "text-classification": "classifier",
    "question-answering": "extractive question-answering model",
}
#: The ONNX Runtime class of `transformers_top.onnx` that runs each head's exports.
ONNX_RUNTIME_CLASSES = {
    "AutoModelForSequenceClassification": "TopOnnxModelForSequenceClassification",
    "AutoModelForQuestionAnswering": "TopOnnxModelForQuestionAnswering",
}
#: How the card names each model family.
FAMILY_NAMES = {"top_bert": "BERT", "top_roberta": "RoBERTa"}
#: File name of the kept-tokens plot in the model directory (the source file's extension is kept).
PLOT_STEM = "kept_tokens"
PLOT_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")


def _text(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"card field {name} must be a non-empty string, got {value!r}")


def _hub_id(name: str, value: Any) -> None:
    _text(name, value)
    if not is_repo_id(value):
        raise ValueError(f"card field {name} must be a Hub repository id such as 'user/name', got {value!r}")


def _number(name: str, value: Any) -> None:
    if not is_number(value) or not math.isfinite(value):
        raise ValueError(f"card field {name} must be a finite number, got {value!r}")


def _positive_number(name: str, value: Any) -> None:
    _number(name, value)
    if value <= 0:
        raise ValueError(f"card field {name} must be > 0, got {value!r}")


def _fraction(name: str, value: Any) -> None:
    _number(name, value)
    if not 0 <= value < 1:
        raise ValueError(f"card field {name} must be in [0, 1), got {value!r}")


def _positive_int(name: str, value: Any) -> None:
    if not is_int(value) or value < 1:
        raise ValueError(f"card field {name} must be a positive integer, got {value!r}")


def _text_list(name: str, value: Any) -> None:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"card field {name} must be a list of strings, got {value!r}")
    for item in value:
        _text(f"{name}[]", item)


def _latencies(name: str, value: Any) -> None:
    if not isinstance(value, dict) or not value:
        raise ValueError(f"card field {name} must be a non-empty dict of file name -> milliseconds, got {value!r}")
    for key, item in value.items():
        _text(f"{name} key", key)
        _positive_number(f"{name}[{key!r}]", item)


def _metric_pairs(name: str, value: Any) -> None:
    if not isinstance(value, dict) or not value:
        raise ValueError(
            f"card field {name} must be a non-empty dict of metric name -> {{'teacher': value, 'pruned': value}}, "
            f"got {value!r}"
        )
    for key, pair in value.items():
        _text(f"{name} key", key)
        if not isinstance(pair, dict) or not pair or set(pair) - {"teacher", "pruned"}:
            raise ValueError(f"card field {name}[{key!r}] must be a dict with 'teacher' and/or 'pruned', got {pair!r}")
        for model, item in pair.items():
            _number(f"{name}[{key!r}][{model!r}]", item)


def _hyperparameters(name: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"card field {name} must be a dict of name -> str/int/float/bool, got {value!r}")
    for key, item in value.items():
        _text(f"{name} key", key)
        if not isinstance(item, (str, int, float, bool)) or (isinstance(item, float) and not math.isfinite(item)):
            raise ValueError(f"card field {name}[{key!r}] must be a str, int, finite float or bool, got {item!r}")


def target_miss(realized: float, target: float, tolerance: float) -> str | None:
    """
    `"short"` when the realized sparsity is below the target by more than `tolerance`, `"past"` when it is above it
    by more than `tolerance`, else `None`.
    """
    if realized < target - tolerance:
        return "short"
    if realized > target + tolerance:
        return "past"
    return None


@dataclass
class TopModelCardData:
    """
    The values of one pruning run that go into the model card. All optional; unknown values stay `None`.

    Args:
        model_name (`str`, *optional*): title of the card and name in `model-index` (defaults to the repository name).
        base_model (`str`, *optional*): Hub id of the teacher (the fine-tuned, unpruned model).
        dataset (`str`, *optional*): Hub id of the evaluation dataset, e.g. `"nyu-mll/glue"`.
        dataset_config (`str`, *optional*): its configuration, e.g. `"sst2"`.
        dataset_split (`str`, *optional*): the evaluated split, e.g. `"validation"`.
        metric_name (`str`, *optional*): the task metric, e.g. `"accuracy"`; required with a metric value.
        teacher_metric (`float`, *optional*): the teacher's metric on that split.
        pruned_metric (`float`, *optional*): the pruned model's metric on that split.
        extra_metrics (`dict[str, dict[str, float]]`, *optional*): other metrics of the task on that split, by name,
            each `{"teacher": value, "pruned": value}` (either may be left out): e.g. `metric_name="f1"` and
            `extra_metrics={"exact_match": {"teacher": 71.3, "pruned": 70.8}}` for question answering. Requires
            `metric_name`.
        flops_reduction (`float`, *optional*): encoder FLOPs of the teacher / of the pruned model, both on the
            evaluation set's real (non-padding) tokens.
        flops_reduction_padded (`float`, *optional*): the same with the teacher run on inputs padded to
            `padded_length` (the ToP paper's convention); requires `padded_length`.
        padded_length (`int`, *optional*): the task's fixed max length, e.g. 64 for SST-2.
        representative_length (`int`, *optional*): a typical real length (e.g. the evaluation set's mean), at which
            the per-layer table shows token counts (defaults to `padded_length`).
        latency_speedup (`float`, *optional*): measured latency of the teacher / of the pruned model; requires
            `latency_hardware` and `latency_batch_size`.
        teacher_latency_ms, pruned_latency_ms (`float`, *optional*): the measured latencies per batch, in ms.
        latency_hardware (`str`, *optional*): where the latency was measured (CPU model, cores, library versions).
        latency_batch_size (`int`, *optional*): the batch size of the latency measurement.
        target_sparsity (`float`, *optional*): the fraction of encoder FLOPs (real tokens) the run was asked to remove.
        realized_sparsity (`float`, *optional*): the fraction the model removes on the evaluation (or training) texts;
            requires `target_sparsity`. The card says so when it is below the target by more than
            `target_sparsity_tolerance`.
        target_sparsity_tolerance (`float`, *optional*, defaults to 0.01 when a target is given): how far below its
            target a model may end without the card saying it missed it.
        onnx_latency_ms (`dict[str, float]`, *optional*): measured latency per batch of the ONNX exports pushed with
            the model, by file (`"onnx/model_int8.onnx"`), on `latency_hardware` at `latency_batch_size`.
        training_hyperparameters (`dict[str, str | int | float | bool]`, *optional*): the pruning run's settings.
        license (`str`, *optional*): license identifier, e.g. `"apache-2.0"`.
        language (`list[str]`, *optional*): language codes, e.g. `["en"]`.
        tags (`list[str]`, *optional*): tags added to `transformers-top`, `token-pruning`, `top` and `bert`.

    Raises:
        `ValueError`: at construction (and again before a card is written), naming the field with a wrong type or
        value, or a value given without the field it needs.
    """

    model_name: str | None = field(default=None, metadata={"check": _text})
    base_model: str | None = field(default=None, metadata={"check": _hub_id})
    dataset: str | None = field(default=None, metadata={"check": _hub_id})
    dataset_config: str | None = field(default=None, metadata={"check": _text})
    dataset_split: str | None = field(default=None, metadata={"check": _text})
    metric_name: str | None = field(default=None, metadata={"check": _text})
    teacher_metric: float | None = field(default=None, metadata={"check": _number})
    pruned_metric: float | None = field(default=None, metadata={"check": _number})
    extra_metrics: dict[str, dict[str, float]] | None = field(default=None, metadata={"check": _metric_pairs})
    flops_reduction: float | None = field(default=None, metadata={"check": _positive_number})
    flops_reduction_padded: float | None = field(default=None, metadata={"check": _positive_number})
    padded_length: int | None = field(default=None, metadata={"check": _positive_int})
    representative_length: int | None = field(default=None, metadata={"check": _positive_int})
    latency_speedup: float | None = field(default=None, metadata={"check": _positive_number})
    teacher_latency_ms: float | None = field(default=None, metadata={"check": _positive_number})
    pruned_latency_ms: float | None = field(default=None, metadata={"check": _positive_number})
    latency_hardware: str | None = field(default=None, metadata={"check": _text})
    latency_batch_size: int | None = field(default=None, metadata={"check": _positive_int})
    onnx_latency_ms: dict[str, float] | None = field(default=None, metadata={"check": _latencies})
    target_sparsity: float | None = field(default=None, metadata={"check": _fraction})
    realized_sparsity: float | None = field(default=None, metadata={"check": _number})
    target_sparsity_tolerance: float | None = field(default=None, metadata={"check": _fraction})
    training_hyperparameters: dict[str, str | int | float | bool] | None = field(
        default=None, metadata={"check": _hyperparameters}
    )
    license: str | None = field(default=None, metadata={"check": _text})
    language: list[str] | None = field(default=None, metadata={"check": _text_list})
    tags: list[str] | None = field(default=None, metadata={"check": _text_list})

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every set field's type and value, and that each value comes with the fields it needs."""
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None:
                item.metadata["check"](item.name, value)
        self._require("metric_name", "teacher_metric", "pruned_metric", "extra_metrics")
        self._require("padded_length", "flops_reduction_padded")
        self._require("dataset", "dataset_config", "dataset_split")
        for needed in ("latency_hardware", "latency_batch_size"):
            self._require(needed, "latency_speedup", "teacher_latency_ms", "pruned_latency_ms", "onnx_latency_ms")
        self._require("target_sparsity", "realized_sparsity", "target_sparsity_tolerance")

    @property
    def target_miss(self) -> str | None:
        """`target_miss` of the realized and target sparsity (tolerance 0.01 unless given); `None` without them."""
        if self.realized_sparsity is None or self.target_sparsity is None:
            return None
        tolerance = 0.01 if self.target_sparsity_tolerance is None else self.target_sparsity_tolerance
        return target_miss(self.realized_sparsity, self.target_sparsity, tolerance)

    def _require(self, needed: str, *dependents: str) -> None:
        if getattr(self, needed) is None:
            for name in dependents:
                if getattr(self, name) is not None:
                    raise ValueError(f"card field {name} is set, so {needed} must be set too")


def create_model_card(
    model: TokenPruningPreTrainedMixin,
    card_data: TopModelCardData | None = None,
    repo_id: str | None = None,
    plot_filename: str | None = None,
    onnx_files: list[str] | None = None,
) -> ModelCard:
    """
    Render the model card of a pruned model.

    Args:
        model ([`TopBertForSequenceClassification`] or another ToP model): the model; its plan gives the per-layer
            table (for a model still holding training masks, the plan `finalize_pruning` will store).
        card_data ([`TopModelCardData`], *optional*): the run's values; `None` gives a card from the model alone.
        repo_id (`str`, *optional*): the Hub repository, used in the loading examples and as default name.
        plot_filename (`str`, *optional*): file name of the kept-tokens plot beside the card.
        onnx_files (`list[str]`, *optional*): the ONNX graphs in the repository (`onnx/model.onnx`, ...), listed
            with their latency from `card_data.onnx_latency_ms`.

    Returns:
        `huggingface_hub.ModelCard`: metadata and body.
    """
    if not isinstance(model, TokenPruningPreTrainedMixin):
        raise ValueError(
            f"model must be a ToP model (e.g. TopBertForSequenceClassification), got {type(model).__name__}"
        )
    card_data = card_data if card_data is not None else TopModelCardData()
    if not isinstance(card_data, TopModelCardData):
        raise ValueError(f"card_data must be a TopModelCardData, got {type(card_data).__name__}")
    card_data.validate()
    config = model.base_model.deployable_config()
    plans = config.layer_plans()
    auto_class = _auto_class(model)
    pipeline_tag = PIPELINE_TAGS[auto_class]
    family = FAMILY_NAMES.get(config.model_type, config.model_type)
    title = card_data.model_name or (repo_id.split("/")[-1] if repo_id else f"ToP token-pruned {family}")
    metadata = ModelCardData(
        model_name=title,
        base_model=card_data.base_model,
        datasets=[card_data.dataset] if card_data.dataset else None,
        metrics=[card_data.metric_name] if card_data.metric_name else None,
        library_name="transformers",
        pipeline_tag=pipeline_tag,
        license=card_data.license,
        language=card_data.language,
        tags=_tags(family, card_data.tags),
        eval_results=_eval_results(card_data, pipeline_tag) or None,
    )
    length = card_data.representative_length or card_data.padded_length
    card = ModelCard.from_template(
        metadata,
        template_path=str(TEMPLATE_PATH),
        title=title,
        card=card_data,
        repo=repo_id or "path/to/this/model",
        pipeline_tag=pipeline_tag,
        model_kind=MODEL_KINDS[pipeline_tag],
        auto_class=auto_class,
        family=family,
        config=config,
        pruning_layers=[layer for layer, plan in enumerate(plans) if plan is not None],
        layers=_layer_rows(config, length),
        length=length,
        plan_flops_reduction=count_flops(config, length, dense=True) / count_flops(config, length) if length else None,
        plot_filename=plot_filename,
        onnx_graphs=[name for name in onnx_files or () if name.endswith(".onnx")],
        onnx_class=ONNX_RUNTIME_CLASSES.get(auto_class),
    )
    card.content = re.sub(r"\n{3,}", "\n\n", card.content)
    return card


def save_model_card(
    save_directory: str | Path,
    model: TokenPruningPreTrainedMixin,
    card_data: TopModelCardData | None = None,
    plot: str | Path | None = None,
    repo_id: str | None = None,
    onnx_files: list[str] | None = None,
) -> ModelCard:
    """
    Write `README.md` into `save_directory` and copy the kept-tokens plot beside it.

    Args:
        save_directory (`str` or `Path`): an existing directory, normally the one `model.save_pretrained` wrote.
        model: the ToP model (see [`create_model_card`]).
        card_data ([`TopModelCardData`], *optional*): the run's values.
        plot (`str` or `Path`, *optional*): an image (png, jpg, svg) of the fraction of tokens entering each layer;
            copied as `kept_tokens.<ext>` (the source file is left in place).
        repo_id (`str`, *optional*): the Hub repository the card will live in.
        onnx_files (`list[str]`, *optional*): the ONNX exports uploaded with the model (see [`create_model_card`]).

    Returns:
        `huggingface_hub.ModelCard`: the written card.

    Raises:
        `ValueError`: when the directory or the plot does not exist, or a card value is invalid (nothing is written).
    """
    save_directory = Path(save_directory)
    if not save_directory.is_dir():
        raise ValueError(f"save_directory must be an existing directory, got {str(save_directory)!r}")
    plot_target = None
    if plot is not None:
        plot = Path(plot)
        if not plot.is_file() or plot.suffix.lower() not in PLOT_SUFFIXES:
            raise ValueError(f"plot must be an existing {'/'.join(PLOT_SUFFIXES)} file, got {str(plot)!r}")
        plot_target = save_directory / f"{PLOT_STEM}{plot.suffix.lower()}"
    card = create_model_card(model, card_data, repo_id, plot_target.name if plot_target else None, onnx_files)
    if plot_target is not None and not (plot_target.exists() and plot_target.samefile(plot)):
        shutil.copyfile(plot, plot_target)
    card.save(save_directory / "README.md")
    return card


def _auto_class(model) -> str:
    """The Auto class that loads `model`'s class."""
    for heads in SUPPORTED_HEADS.values():
        for auto_class, model_class in heads.items():
            if type(model) is model_class:
                return auto_class
    raise ValueError(f"{type(model).__name__} is not a head registered with an Auto class")


def _tags(family: str, user_tags: list[str] | None) -> list[str]:
    base = [*BASE_TAGS, family.lower()]
    return base + [tag for tag in user_tags or () if tag not in base]


def _eval_results(card_data: TopModelCardData, task_type: str) -> list[EvalResult]:
    """`model-index` entries: the pruned model's task metric and its FLOPs reductions, when the dataset is known."""
    if card_data.dataset is None:
        return []
    dataset = {
        "task_type": task_type,
        "dataset_type": card_data.dataset,
        "dataset_name": " ".join(filter(None, (card_data.dataset, card_data.dataset_config))),
        "dataset_config": card_data.dataset_config,
        "dataset_split": card_data.dataset_split,
    }
    metrics = [
        (card_data.metric_name, card_data.metric_name, card_data.pruned_metric),
        *((name, name, pair.get("pruned")) for name, pair in (card_data.extra_metrics or {}).items()),
        ("flops_reduction", "FLOPs reduction (real tokens)", card_data.flops_reduction),
        (
            "flops_reduction_padded",
            f"FLOPs reduction (padded to {card_data.padded_length})",
            card_data.flops_reduction_padded,
        ),
    ]
    return [
        EvalResult(metric_type=metric_type, metric_name=name, metric_value=value, **dataset)
        for metric_type, name, value in metrics
        if value is not None
    ]


def _layer_rows(config, length: int | None) -> list[dict[str, Any]]:
    """One row per layer: its keep ratio, the fraction of non-[CLS] tokens entering it and, at `length`, the count."""
    ratios = [1.0 if plan is None else plan.keep_ratio for plan in config.layer_plans()]
    lengths = plan_lengths(config, length) if length else [None] * len(ratios)
    rows, fraction = [], 1.0
    for layer, (ratio, tokens) in enumerate(zip(ratios, lengths, strict=True)):
        fraction *= ratio
        rows.append({"layer": layer, "keep_ratio": ratio, "fraction": fraction, "tokens": tokens})
    return rows


__all__ = ["TopModelCardData", "create_model_card", "save_model_card"]
