"""The Hub-portable model files: exactly what `save_pretrained` copies next to `config.json`.

Every module here imports the others with single-dot relative imports only and imports nothing else of
`transformers_top`, so a saved model runs with transformers alone (`trust_remote_code=True`). A new encoder family is a
`configuration_top_<family>.py` and a `modeling_top_<family>.py` beside the BERT ones; the pruning machinery
(`pruned_encoder.py`, `token_importance.py`, `token_selection.py`, `hard_concrete.py`, `flops.py`) is shared.
"""

from .configuration_top_bert import TopBertConfig
from .configuration_top_roberta import TopRobertaConfig
from .flops import count_flops, encoder_flops, expected_sparsity, plan_lengths, total_flops
from .hard_concrete import TokenPruningMasks
from .modeling_outputs import TopQuestionAnsweringModelOutput
from .modeling_top_bert import (
    TopBertForQuestionAnswering,
    TopBertForSequenceClassification,
    TopBertModel,
    TopBertModelOutput,
    TopBertPreTrainedModel,
    TopSequenceClassifierOutput,
)
from .modeling_top_roberta import (
    TopRobertaForQuestionAnswering,
    TopRobertaForSequenceClassification,
    TopRobertaModel,
    TopRobertaPreTrainedModel,
)
from .pruning_config import LayerPlan, TokenPruningConfigMixin

__all__ = [
    "LayerPlan",
    "TokenPruningConfigMixin",
    "TokenPruningMasks",
    "TopBertConfig",
    "TopBertForQuestionAnswering",
    "TopBertForSequenceClassification",
    "TopBertModel",
    "TopBertModelOutput",
    "TopBertPreTrainedModel",
    "TopQuestionAnsweringModelOutput",
    "TopRobertaConfig",
    "TopRobertaForQuestionAnswering",
    "TopRobertaForSequenceClassification",
    "TopRobertaModel",
    "TopRobertaPreTrainedModel",
    "TopSequenceClassifierOutput",
    "count_flops",
    "encoder_flops",
    "expected_sparsity",
    "plan_lengths",
    "total_flops",
]
