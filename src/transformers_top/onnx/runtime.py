"""Running an exported (pruned) model in ONNX Runtime, from a local folder or a Hub repository: a sequence classifier
([`TopOnnxModelForSequenceClassification`]) or an extractive question-answering model
([`TopOnnxModelForQuestionAnswering`])."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig

from ..models.modeling_outputs import TopQuestionAnsweringModelOutput, TopSequenceClassifierOutput
from .export import EXPORTED_HEADS, FP32_FILE, head_of, max_input_length


class TopOnnxModel:
    """
    A model exported by [`export_onnx`], run by ONNX Runtime; each head's class (below) gives its output type.

    Args:
        folder (`str` or `os.PathLike`): the folder holding the graph and `config.json`.
        file_name (`str`, *optional*): the graph to run; by default the folder's only `.onnx` file, or `model.onnx`.
        num_threads (`int`, *optional*): ONNX Runtime's intra-op threads (default: `torch.get_num_threads()`).

    Use `from_pretrained` to load a folder or a Hub repository.
    """

    #: The Auto class of the exported head this class runs, and the output it returns.
    auto_class: str = ""
    output_class: type = dict

    def __init__(self, folder: str | os.PathLike, file_name: str | None = None, num_threads: int | None = None):
        import onnxruntime

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise ValueError(f"{str(folder)!r} has no config.json: give the folder export_onnx wrote")
        graphs = sorted(path.name for path in folder.glob("*.onnx"))
        if file_name is None:
            if not graphs:
                raise ValueError(f"{str(folder)!r} holds no .onnx file")
            file_name = graphs[0] if len(graphs) == 1 else FP32_FILE
        if file_name not in graphs:
            raise ValueError(f"{file_name!r} is not in {str(folder)!r}, which holds {graphs}")
        if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int)
                                        or num_threads < 1):  # fmt: skip
            raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
        self.folder = folder
        self.file_name = file_name
        self.config = AutoConfig.from_pretrained(folder)
        if head_of(self.config) != self.auto_class:
            raise ValueError(
                f"{str(folder)!r} holds a {', '.join(self.config.architectures or ['?'])} export; "
                f"{type(self).__name__} runs {self.auto_class.removeprefix('AutoModelFor')} exports"
            )
        self.num_threads = num_threads or torch.get_num_threads()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(folder / file_name), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [graph_input.name for graph_input in self.session.get_inputs()]
        self.output_names = [graph_output.name for graph_output in self.session.get_outputs()]
        self.max_length = max_input_length(self.config)
        expected = EXPORTED_HEADS[self.auto_class]
        if tuple(name for name in self.output_names if name != "kept_tokens") != expected:
            raise ValueError(f"{file_name!r} has the outputs {self.output_names}, expected {list(expected)}")

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        file_name: str | None = None,
        num_threads: int | None = None,
        revision: str | None = None,
        subfolder: str = "",
        token: str | bool | None = None,
        cache_dir: str | os.PathLike | None = None,
        local_files_only: bool = False,
    ) -> TopOnnxModel:
        """
        Load an exported model from a local folder or a Hub repository (`revision`, `token`, `cache_dir` and
        `local_files_only` as in transformers; `HF_HUB_OFFLINE=1` is honoured). `subfolder` picks a folder of the
        repository, e.g. `"onnx"` for the exports `push_pruned_model` uploads beside a model.
        """
        path = Path(name_or_path) / subfolder
        if not path.is_dir():
            from huggingface_hub import snapshot_download

            patterns = [f"{subfolder}/*" if subfolder else "*"]
            path = (
                Path(
                    snapshot_download(
                        str(name_or_path),
                        revision=revision,
                        allow_patterns=patterns,
                        token=token,
                        cache_dir=cache_dir,
                        local_files_only=local_files_only,
                    )
                )
                / subfolder
            )
        return cls(path, file_name=file_name, num_threads=num_threads)

    def __call__(
        self,
        input_ids: torch.Tensor | np.ndarray,
        attention_mask: torch.Tensor | np.ndarray | None = None,
        token_type_ids: torch.Tensor | np.ndarray | None = None,
        **unused,
    ):
        """
        Run the graph on tokenizer outputs (torch tensors or numpy arrays); the head's outputs (and `kept_tokens`, for
        a graph exported with them) come back in the same kind.

        Raises:
            `ValueError`: for inputs of the wrong shape, longer than the model accepts, or padded on the left.
        """
        as_torch = isinstance(input_ids, torch.Tensor)
        input_ids = _numpy(input_ids)
        if input_ids.ndim != 2 or 0 in input_ids.shape:
            raise ValueError(f"input_ids must have shape (batch_size, sequence_length), got {input_ids.shape}")
        if input_ids.shape[1] > self.max_length:
            raise ValueError(
                f"sequence length {input_ids.shape[1]} exceeds the {self.max_length} tokens the model accepts; "
                "truncate the input (e.g. tokenizer(..., truncation=True))"
            )
        attention_mask = np.ones_like(input_ids) if attention_mask is None else _numpy(attention_mask)
        if attention_mask.shape != input_ids.shape:
            raise ValueError(f"attention_mask has shape {attention_mask.shape}, expected {input_ids.shape}")
        if not attention_mask[:, 0].all():
            rows = np.flatnonzero(attention_mask[:, 0] == 0).tolist()
            raise ValueError(
                f"rows {rows} of attention_mask are padding at position 0: every row needs a real first token; "
                "left padding is not supported (tokenizer.padding_side = 'right')"
            )
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids) if token_type_ids is None else _numpy(token_type_ids)
        outputs = dict(zip(self.output_names, self.session.run(self.output_names, feeds), strict=True))
        if as_torch:
            outputs = {name: torch.from_numpy(value) for name, value in outputs.items()}
        return self.output_class(**outputs)

    forward = __call__

    # What transformers' pipelines ask of a model: it runs on the CPU, in inference mode.
    device = torch.device("cpu")
    dtype = torch.float32

    def to(self, *args, **kwargs) -> TopOnnxModel:
        return self

    def eval(self) -> TopOnnxModel:
        return self

    def max_input_length(self) -> int:
        """The longest input the model accepts."""
        return self.max_length

    def can_generate(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.folder / self.file_name)!r}, num_threads={self.num_threads})"


def _numpy(values: torch.Tensor | np.ndarray) -> np.ndarray:
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"the inputs must be integer arrays, got {array.dtype}")
    return array.astype(np.int64, copy=False)


class TopOnnxModelForSequenceClassification(TopOnnxModel):
    """
    A sequence classifier exported by [`export_onnx`], run by ONNX Runtime: `model(**tokenizer(...)).logits`; it
    works in transformers' `pipeline("text-classification", model=..., tokenizer=...)`. See [`TopOnnxModel`].
    """

    auto_class = "AutoModelForSequenceClassification"
    output_class = TopSequenceClassifierOutput


class TopOnnxModelForQuestionAnswering(TopOnnxModel):
    """
    An extractive question-answering model exported by [`export_onnx`], run by ONNX Runtime:
    `model(**tokenizer(question, context)).start_logits` and `.end_logits`; it works in
    `TopQuestionAnsweringPipeline(model=..., tokenizer=...)`. See [`TopOnnxModel`].
    """

    auto_class = "AutoModelForQuestionAnswering"
    output_class = TopQuestionAnsweringModelOutput


__all__ = ["TopOnnxModel", "TopOnnxModelForQuestionAnswering", "TopOnnxModelForSequenceClassification"]
