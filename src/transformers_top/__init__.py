"""transformers-top: ToP token pruning for Hugging Face BERT models.

Importing the package registers the `top_bert` model type with `AutoConfig`, `AutoModel` and
`AutoModelForSequenceClassification` (importing it again is harmless), and makes the models' `push_to_hub` upload
the ToP model card (see `transformers_top.hub`).
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .configuration_top_bert import TopBertConfig
from .flops import count_flops
from .hub import push_pruned_model, save_pruned_model
from .model_card import TopModelCardData, save_model_card
from .modeling_top_bert import (
    TopBertForSequenceClassification,
    TopBertModel,
    TopBertModelOutput,
    TopBertPreTrainedModel,
    TopSequenceClassifierOutput,
)
from .trainer import TopTrainer, TrainingDivergedError
from .training_args import TopTrainingArguments

__version__ = "0.1.0"

AutoConfig.register(TopBertConfig.model_type, TopBertConfig, exist_ok=True)
AutoModel.register(TopBertConfig, TopBertModel, exist_ok=True)
AutoModelForSequenceClassification.register(TopBertConfig, TopBertForSequenceClassification, exist_ok=True)

# modeling_top_bert.py is copied to the Hub for trust_remote_code users, so it cannot import the card code; the
# package gives its own classes the push and save_pretrained(push_to_hub=True) that keep the ToP model card (see
# transformers_top.hub).
TopBertPreTrainedModel.push_to_hub = push_pruned_model
TopBertPreTrainedModel.save_pretrained = save_pruned_model

__all__ = [
    "TopBertConfig",
    "TopBertForSequenceClassification",
    "TopBertModel",
    "TopBertModelOutput",
    "TopBertPreTrainedModel",
    "TopModelCardData",
    "TopSequenceClassifierOutput",
    "TopTrainer",
    "TopTrainingArguments",
    "TrainingDivergedError",
    "__version__",
    "count_flops",
    "push_pruned_model",
    "save_model_card",
    "save_pruned_model",
]
