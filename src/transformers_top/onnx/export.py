"""Export a (pruned) model to ONNX with the pruning inside the graph, and quantize it to int8 with ONNX Runtime.

The graph is made by `torch.onnx.export(..., dynamo=True)` with dynamic batch and sequence axes. The pruning
decisions (the importance, the ranking, the plan's kept counts, the gathering and the shortened attention masks) are
part of the graph: an input of any length and a ragged batch prune as in PyTorch (see `docs/deployment.md`).
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoTokenizer, PreTrainedModel

from ..auto_classes import SUPPORTED_HEADS, top_model_class
from ..models.pruned_encoder import TokenPruningPreTrainedMixin

#: File names of the exported graphs.
FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"
#: `quantize` values and what they do.
QUANTIZATIONS = (None, "int8")
#: Attention implementations the graph can be traced with. `"eager"` (the default) exports the attention as the
#: plain product-softmax-product; `"sdpa"` exports transformers' scaled-dot-product path, whose decomposition also
#: replaces the NaN of fully masked rows over every score (`IsNaN` and `Where` on each layer's attention
#: probabilities), work ONNX Runtime then does on every input (see `docs/deployment.md`).
ATTENTION_IMPLEMENTATIONS = ("eager", "sdpa")
#: Operators whose weights int8 dynamic quantization stores as int8 (the matrix products with a weight: almost all
#: of the multiply-adds and of the weights). Attention's activation-by-activation products stay float.
INT8_OPERATORS = ("MatMul", "Gemm")
#: The heads `export_onnx` exports, by the Auto class that loads them, with the graph outputs of each.
EXPORTED_HEADS = {
    "AutoModelForSequenceClassification": ("logits",),
    "AutoModelForQuestionAnswering": ("start_logits", "end_logits"),
}
#: The example batch the graph is traced with: two rows, the second right-padded.
_EXAMPLE_LENGTH = 16


def export_onnx(
    model: str | os.PathLike | PreTrainedModel,
    output_dir: str | os.PathLike,
    *,
    quantize: str | None = None,
    tokenizer=None,
    revision: str | None = None,
    opset: int | None = None,
    output_kept_tokens: bool = False,
    attn_implementation: str = "eager",
) -> Path:
    """
    Export a sequence classifier or an extractive question-answering model to ONNX, the pruning inside the graph,
    optionally quantized to int8. The graph's outputs are the head's: `logits`, or `start_logits` and `end_logits`.

    Args:
        model (`str`, `os.PathLike` or [`~transformers.PreTrainedModel`]): a finalized ToP model (a folder, a Hub id
            or the model itself), or a dense one (a ToP model without a plan, or a plain transformers model of either
            head, the baselines).
        output_dir (`str` or `os.PathLike`): a new or empty folder; it receives `model.onnx` (float32) or
            `model_int8.onnx` (with `quantize="int8"`), `config.json` (with the plan) and the tokenizer's files when
            the tokenizer is known. Written whole or not at all.
        quantize (`str`, *optional*): `"int8"` for ONNX Runtime's dynamic quantization of the matrix products'
            weights.
        tokenizer (*optional*): saved beside the graph; by default the tokenizer found in the model's folder or repo.
        revision (`str`, *optional*): the Hub revision when `model` is a repo id.
        opset (`int`, *optional*): the ONNX opset (default: the exporter's).
        output_kept_tokens (`bool`, *optional*, defaults to `False`): give the graph a second output, `kept_tokens`,
            the number of real tokens entering each layer of each row (a ToP model only), to see what it prunes.
        attn_implementation (`str`, *optional*, defaults to `"eager"`): the attention the graph is traced with, one
            of `ATTENTION_IMPLEMENTATIONS`; both compute the same logits. A model object given is traced with it and
            handed back with its own implementation.

    Returns:
        `Path`: `output_dir`.

    Raises:
        `ValueError`: for a model that still holds training masks, an unknown `quantize` or `attn_implementation`, an
            `output_dir` that exists and is not empty, or a model of another head.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    if attn_implementation not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(
            f"attn_implementation must be one of {ATTENTION_IMPLEMENTATIONS}, got {attn_implementation!r}"
        )
    output_dir = _checked_output_dir(output_dir)
    model, source = _load(model, revision)
    _check_exportable(model)
    if output_kept_tokens and not isinstance(model, TokenPruningPreTrainedMixin):
        raise ValueError(f"output_kept_tokens needs a ToP model, got {type(model).__name__}")
    if tokenizer is None and source is not None:
        tokenizer = _tokenizer_of(source, revision)

    with _written_whole(output_dir) as staging:
        with _attention(model, attn_implementation):
            _export_graph(model, staging / FP32_FILE, opset, output_kept_tokens)
        if quantize == "int8":
            quantize_int8(staging / FP32_FILE, staging / INT8_FILE)
            (staging / FP32_FILE).unlink()
        config = copy.deepcopy(model.config)
        config.architectures = [type(model).__name__]  # the head, which the runtime classes check
        config.save_pretrained(staging)
        if tokenizer is not None:
            tokenizer.save_pretrained(staging)
    return output_dir


def quantize_exported(exported_dir: str | os.PathLike, output_dir: str | os.PathLike) -> Path:
    """
    Quantize a float32 folder of `export_onnx` to int8 without tracing the model again: the same graph as
    `export_onnx(..., quantize="int8")` writes, from the float32 graph already exported.

    Args:
        exported_dir (`str` or `os.PathLike`): a folder `export_onnx` wrote without `quantize` (it holds `model.onnx`).
        output_dir (`str` or `os.PathLike`): a new or empty folder; it receives `model_int8.onnx` and the other files
            of `exported_dir` (the configuration with the plan, the tokenizer's files). Written whole or not at all.

    Returns:
        `Path`: `output_dir`.

    Raises:
        `ValueError`: for an `exported_dir` without `model.onnx`, or an `output_dir` that exists and is not empty.
    """
    exported_dir = Path(exported_dir)
    if not (exported_dir / FP32_FILE).is_file():
        raise ValueError(
            f"exported_dir must hold {FP32_FILE} (a float32 folder of export_onnx), got {str(exported_dir)!r}"
        )
    output_dir = _checked_output_dir(output_dir)
    with _written_whole(output_dir) as staging:
        quantize_int8(exported_dir / FP32_FILE, staging / INT8_FILE)
        for path in exported_dir.iterdir():
            if path.name != FP32_FILE and path.is_file():
                shutil.copy2(path, staging / path.name)
    return output_dir


def _checked_output_dir(output_dir: str | os.PathLike) -> Path:
    """`output_dir` as a `Path`, refused unless it is a new or empty folder."""
    output_dir = Path(output_dir)
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise ValueError(f"output_dir must be a new or empty folder, got {str(output_dir)!r}")
    return output_dir


@contextlib.contextmanager
def _written_whole(output_dir: Path) -> Iterator[Path]:
    """A staging folder beside `output_dir`, becoming `output_dir` when the block succeeds and is removed if not."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    try:
        yield staging
        if output_dir.exists():
            output_dir.rmdir()  # empty, checked before
        os.replace(staging, output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def quantize_int8(fp32_path: str | os.PathLike, int8_path: str | os.PathLike) -> Path:
    """
    ONNX Runtime dynamic int8 quantization of a float32 graph: the weights of `INT8_OPERATORS` are stored as int8 (per
    output channel) and their activations quantized at run time, per batch.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32_path),
        str(int8_path),
        op_types_to_quantize=list(INT8_OPERATORS),
        per_channel=True,
        reduce_range=True,
        weight_type=QuantType.QInt8,
    )
    return Path(int8_path)


def model_input_names(config) -> list[str]:
    """The graph's inputs: `input_ids`, `attention_mask`, and `token_type_ids` for models with several types."""
    names = ["input_ids", "attention_mask"]
    return [*names, "token_type_ids"] if getattr(config, "type_vocab_size", 1) > 1 else names


def head_of(model_or_config) -> str:
    """
    The Auto class of an exported head (a key of `EXPORTED_HEADS`), from a model or from a configuration's
    `architectures` (a folder's `config.json`).

    Raises:
        `ValueError`: for a model of another head.
    """
    names = [type(model_or_config).__name__]
    if not isinstance(model_or_config, PreTrainedModel):
        names = list(getattr(model_or_config, "architectures", None) or [])
    for auto_class in EXPORTED_HEADS:
        if any(name.endswith(auto_class.removeprefix("AutoModel")) for name in names):
            return auto_class
    raise ValueError(
        f"export_onnx exports sequence classifiers and question-answering models, got {', '.join(names) or 'a model'}"
    )


def _load(model, revision: str | None) -> tuple[PreTrainedModel, str | None]:
    """The model to export and, when it was given by name, where it came from."""
    if isinstance(model, PreTrainedModel):
        return model, getattr(model.config, "_name_or_path", None) or None
    if not isinstance(model, (str, os.PathLike)):
        raise ValueError(f"model must be a folder, a Hub repo id or a PreTrainedModel, got {type(model).__name__}")
    source = str(model)
    config = AutoConfig.from_pretrained(source, revision=revision)
    auto_class = head_of(config)
    try:
        model_class = top_model_class(config.model_type, auto_class)
    except ValueError:
        model_class = getattr(transformers, auto_class)  # a plain transformers model: a dense baseline
    return model_class.from_pretrained(source, revision=revision), source


def _check_exportable(model: PreTrainedModel) -> None:
    auto_class = head_of(model)
    if isinstance(model, TokenPruningPreTrainedMixin):
        if not any(type(model) is heads.get(auto_class) for heads in SUPPORTED_HEADS.values()):
            raise ValueError(f"export_onnx exports ToP sequence classifiers and question-answering models, got "
                             f"{type(model).__name__}")  # fmt: skip
        if model.config.pruning_masks or model.base_model.token_masks is not None:
            raise ValueError(
                "the model still holds its training masks (config.pruning_masks=True): call model.finalize_pruning() "
                "first, so that the pruning plan is fixed in config.json"
            )
        model.config.check_pruning_plan()


@contextlib.contextmanager
def _attention(model: PreTrainedModel, attn_implementation: str) -> Iterator[None]:
    """`model` with `attn_implementation` inside the block, and its own implementation again after it."""
    previous = model.config._attn_implementation
    model.set_attn_implementation(attn_implementation)
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


class _GraphOutputs(torch.nn.Module):
    """The exported computation: the head's outputs, and the kept token counts when asked for."""

    def __init__(self, model: PreTrainedModel, output_kept_tokens: bool) -> None:
        super().__init__()
        self.model = model
        self.output_kept_tokens = output_kept_tokens
        self.output_names = EXPORTED_HEADS[head_of(model)]

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ):
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        if not self.output_kept_tokens:
            outputs = self.model(**inputs, return_dict=True)
            return tuple(outputs[name] for name in self.output_names)
        outputs = self.model(**inputs, output_kept_tokens=True, return_dict=True)
        return (*(outputs[name] for name in self.output_names), outputs.kept_tokens)


def _export_graph(model: PreTrainedModel, path: Path, opset: int | None, output_kept_tokens: bool) -> None:
    """Trace `model` on a ragged example batch with dynamic batch and sequence axes and write the ONNX graph."""
    model = model.eval()
    names = model_input_names(model.config)
    example = _example_inputs(model.config, names)
    # DYNAMIC rather than named dimensions: the kept counts are floor divisions of the length, which the exporter's
    # solver cannot prove in-range for every length, though they are; the runtime class checks the length instead.
    dynamic = torch.export.Dim.DYNAMIC
    dynamic_shapes = {name: {0: dynamic, 1: dynamic} for name in names}
    graph = _GraphOutputs(model, output_kept_tokens)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on symbolic shapes it cannot prove for every size
        program = torch.onnx.export(
            graph,
            (),
            kwargs=example,
            dynamic_shapes=dynamic_shapes,
            input_names=names,
            output_names=[*graph.output_names, "kept_tokens"] if output_kept_tokens else list(graph.output_names),
            opset_version=opset,
            dynamo=True,
            verbose=False,
        )
    program.save(str(path))


def max_input_length(config) -> int:
    """The longest input a model accepts: its positions, less RoBERTa's offset past the padding index."""
    offset = config.pad_token_id + 1 if "roberta" in config.model_type else 0
    return config.max_position_embeddings - offset


def _example_inputs(config, names: list[str]) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    pad = config.pad_token_id or 0
    input_ids = torch.randint(pad + 1, config.vocab_size, (2, _EXAMPLE_LENGTH), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, _EXAMPLE_LENGTH // 2 :] = 0
    inputs = {"input_ids": input_ids.masked_fill(attention_mask == 0, pad), "attention_mask": attention_mask}
    if "token_type_ids" in names:
        inputs["token_type_ids"] = torch.zeros_like(input_ids)
    return inputs


def _tokenizer_of(source: str, revision: str | None):
    try:
        return AutoTokenizer.from_pretrained(source, revision=revision)
    except (OSError, ValueError, TypeError):
        return None  # a model without tokenizer files: the folder holds the graph and the config only


__all__ = [
    "ATTENTION_IMPLEMENTATIONS",
    "EXPORTED_HEADS",
    "FP32_FILE",
    "INT8_FILE",
    "INT8_OPERATORS",
    "export_onnx",
    "head_of",
    "max_input_length",
    "model_input_names",
    "quantize_int8",
]
