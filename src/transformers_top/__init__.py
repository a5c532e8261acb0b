"""transformers-top: ToP token pruning for Hugging Face BERT models.

Importing the package registers the `top_bert` model type with `AutoConfig`, `AutoModel` and
`AutoModelForSequenceClassification` (importing it again is harmless).
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .configuration_top_bert import TopBertConfig
from .flops import count_flops
from .trainer import TopTrainer, TrainingDivergedError
from .training_args import TopTrainingArguments
from .modeling_top_bert import (
    TopBertForSequenceClassification,
    TopBertModel,
    TopBertModelOutput,
    TopBertPreTrainedModel,
    TopSequenceClassifierOutput,
)

__version__ = "0.1.0"

AutoConfig.register(TopBertConfig.model_type, TopBertConfig, exist_ok=True)
AutoModel.register(TopBertConfig, TopBertModel, exist_ok=True)
AutoModelForSequenceClassification.register(TopBertConfig, TopBertForSequenceClassification, exist_ok=True)

__all__ = [
    "TopBertConfig",
    "TopBertForSequenceClassification",
    "TopBertModel",
    "TopBertModelOutput",
    "TopBertPreTrainedModel",
    "TopSequenceClassifierOutput",
    "TopTrainer",
    "TopTrainingArguments",
    "TrainingDivergedError",
    "__version__",
    "count_flops",
]
