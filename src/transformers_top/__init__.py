"""transformers-top: ToP token pruning for Hugging Face encoders (BERT, RoBERTa, XLM-RoBERTa).

The package has three wings:

- `transformers_top.models`: the Hub-portable model files (configuration, modeling and the pruning mechanics), the
  ones `save_pretrained` copies next to `config.json`;
- `transformers_top.training`: `TopTrainingArguments`, `TopTrainer` and its losses;
- `transformers_top.sharing`: the Hub upload with the ToP model card, and the kept-tokens plot.

Importing the package registers the `top_bert` and `top_roberta` model types with `AutoConfig`, `AutoModel`,
`AutoModelForSequenceClassification` and `AutoModelForQuestionAnswering` (importing it again is harmless). It
changes no class.
"""

from .auto_classes import register_auto_classes, top_model_class
from .models import (
    TopBertConfig,
    TopBertForQuestionAnswering,
    TopBertForSequenceClassification,
    TopBertModel,
    TopBertModelOutput,
    TopBertPreTrainedModel,
    TopQuestionAnsweringModelOutput,
    TopRobertaConfig,
    TopRobertaForQuestionAnswering,
    TopRobertaForSequenceClassification,
    TopRobertaModel,
    TopSequenceClassifierOutput,
    count_flops,
)
from .sharing import TopModelCardData, create_model_card, push_pruned_model, save_model_card, save_pruned_model
from .training import TopTrainer, TopTrainingArguments, TrainingDivergedError

__version__ = "0.1.0"

register_auto_classes()

__all__ = [
    "TopBertConfig",
    "TopBertForQuestionAnswering",
    "TopBertForSequenceClassification",
    "TopBertModel",
    "TopBertModelOutput",
    "TopBertPreTrainedModel",
    "TopModelCardData",
    "TopQuestionAnsweringModelOutput",
    "TopRobertaConfig",
    "TopRobertaForQuestionAnswering",
    "TopRobertaForSequenceClassification",
    "TopRobertaModel",
    "TopSequenceClassifierOutput",
    "TopTrainer",
    "TopTrainingArguments",
    "TrainingDivergedError",
    "__version__",
    "count_flops",
    "create_model_card",
    "push_pruned_model",
    "save_model_card",
    "save_pruned_model",
    "top_model_class",
]
