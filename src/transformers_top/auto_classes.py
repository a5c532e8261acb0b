"""Registration of the ToP models with transformers' Auto classes (done once, when `transformers_top` is imported).

Besides the heads the plugin has, every other Auto class a user may try on a ToP checkpoint is given a placeholder
that says which heads exist, instead of transformers' bare "Unrecognized configuration class".
"""

from __future__ import annotations

import transformers

from .models import (
    TopBertConfig,
    TopBertForQuestionAnswering,
    TopBertForSequenceClassification,
    TopBertModel,
    TopRobertaConfig,
    TopRobertaForQuestionAnswering,
    TopRobertaForSequenceClassification,
    TopRobertaModel,
)

#: Per configuration class (one per encoder family), the Auto classes the plugin serves and the class each one loads.
SUPPORTED_HEADS: dict[type, dict[str, type]] = {
    TopBertConfig: {
        "AutoModel": TopBertModel,
        "AutoModelForSequenceClassification": TopBertForSequenceClassification,
        "AutoModelForQuestionAnswering": TopBertForQuestionAnswering,
    },
    TopRobertaConfig: {
        "AutoModel": TopRobertaModel,
        "AutoModelForSequenceClassification": TopRobertaForSequenceClassification,
        "AutoModelForQuestionAnswering": TopRobertaForQuestionAnswering,
    },
}

#: Auto classes that load encoder checkpoints but have no ToP head yet.
UNSUPPORTED_AUTO_CLASSES = (
    "AutoModelForCausalLM",
    "AutoModelForMaskedLM",
    "AutoModelForMultipleChoice",
    "AutoModelForNextSentencePrediction",
    "AutoModelForPreTraining",
    "AutoModelForTokenClassification",
)


def _unsupported_head(config_class: type, auto_class: str) -> type:
    """A placeholder model class whose loading raises a `ValueError` naming the heads that exist."""
    supported = ", ".join(SUPPORTED_HEADS[config_class])
    message = (
        f"transformers-top has no {auto_class} head for {config_class.model_type!r} checkpoints; the heads it "
        f"provides are {supported}"
    )

    def refuse(cls, *args, **kwargs):
        raise ValueError(message)

    return type(
        f"Unsupported{auto_class.removeprefix('AutoModel')}For{config_class.__name__}",
        (),
        {"config_class": config_class, "from_pretrained": classmethod(refuse), "_from_config": classmethod(refuse)},
    )


def top_model_class(model_type: str, auto_class: str = "AutoModelForSequenceClassification") -> type:
    """
    The ToP class that loads checkpoints of `model_type` (a ToP one, or a plain family such as `"bert"`,
    `"roberta"`, `"xlm-roberta"`) for `auto_class`: `TopRobertaForSequenceClassification` for a RoBERTa classifier.

    Raises:
        `ValueError`: naming the model type or the head when the plugin has no such model.
    """
    for config_class, heads in SUPPORTED_HEADS.items():
        if model_type in (config_class.model_type, *config_class.source_model_types):
            if auto_class not in heads:
                raise ValueError(f"transformers-top has no {auto_class} head; the heads it provides are {list(heads)}")
            return heads[auto_class]
    families = sorted(t for config_class in SUPPORTED_HEADS for t in config_class.source_model_types)
    raise ValueError(f"transformers-top does not prune {model_type!r} models; it prunes {', '.join(families)} models")


def register_auto_classes() -> None:
    """Register every ToP configuration, its heads and the placeholders (calling it again is harmless)."""
    for config_class, heads in SUPPORTED_HEADS.items():
        transformers.AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        for auto_class, model_class in heads.items():
            getattr(transformers, auto_class).register(config_class, model_class, exist_ok=True)
        for auto_class in UNSUPPORTED_AUTO_CLASSES:
            if auto_class not in heads:
                getattr(transformers, auto_class).register(
                    config_class, _unsupported_head(config_class, auto_class), exist_ok=True
                )


__all__ = ["SUPPORTED_HEADS", "register_auto_classes", "top_model_class"]
