"""Deployment: export a pruned model to ONNX with the pruning inside the graph, quantize it, run it in ONNX Runtime.

Needs the `[onnx]` extra (`onnx`, `onnxscript`, `onnxruntime`). See `docs/deployment.md`.
"""

from .export import export_onnx, quantize_exported, quantize_int8
from .runtime import TopOnnxModel, TopOnnxModelForQuestionAnswering, TopOnnxModelForSequenceClassification

__all__ = [
    "TopOnnxModel",
    "TopOnnxModelForQuestionAnswering",
    "TopOnnxModelForSequenceClassification",
    "export_onnx",
    "quantize_exported",
    "quantize_int8",
]
