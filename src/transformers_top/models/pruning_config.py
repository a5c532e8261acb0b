"""The token-pruning fields shared by every ToP configuration, their validation, and the plan they describe.

Each encoder family's configuration (`TopBertConfig`, ...) is its transformers configuration plus
[`TokenPruningConfigMixin`]. [`TokenPruningConfigMixin.layer_plans`] is the one place where a stored plan is read and
validated; the models, the FLOPs model and the model card all go through it.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar, NamedTuple

from .hard_concrete import BIN_ORDERS, FREEZE_RULES
from .token_tracking import MASKED_TOKEN_OUTPUTS

#: How the tokens are ranked at a pruning decision: by the attention they receive (ToP), or at random (the baseline
#: that shows what the ranking is worth).
TOKEN_RANKINGS = ("attention", "random")


class LayerPlan(NamedTuple):
    """The fixed pruning decision at one layer's input: the kept fraction and, when the kept ranks are not a prefix
    of the ranking, the 0/1 pattern of kept rank bins."""

    keep_ratio: float
    keep_bins: list[int] | None = None


def is_int(value: Any) -> bool:
    """Whether `value` is an integer (Python or numpy) and not a bool."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether `value` is a real number (Python or numpy) and not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)


@dataclass(kw_only=True, repr=False)
class TokenPruningConfigMixin:
    r"""
    The pruning fields of a ToP configuration, added to a transformers encoder configuration.

    Args:
        prune_layers (`list[int]`, *optional*):
            Layers whose input may be pruned. Layer `l` is pruned with the token importance of layer `l - 1`, so
            layer 0 can never prune. Defaults to `2 .. num_hidden_layers - 1`.
        num_bins (`int`, *optional*, defaults to 50):
            Number of rank bins per prune layer used by the trainable masks. A token ranked `r` among the `A` alive
            non-[CLS] tokens falls in bin `floor(r * num_bins / A)`.
        bin_order (`str`, *optional*, defaults to `"free"`):
            How the trainable masks' rank bins take their log-alphas: `"free"`, each bin its own (the method, whose
            trained plan may keep any set of bins), or `"sorted"`, each location's log-alphas sorted in decreasing
            order, so bin 0 is the most likely kept and the trained plan always keeps a prefix of the ranking. Read
            when the masks are created (`add_pruning_masks`, or loading a checkpoint that has them); unused once the
            plan is finalized.
        token_keep_ratios (`list[float]`, *optional*):
            One value in `(0, 1]` per layer: the fraction of the alive non-[CLS] tokens kept at that layer's input
            (`ceil(ratio * A)` of them, the most important first). Values below 1 are only allowed in
            `prune_layers`. `None` means dense (no pruning).
        token_keep_bins (`list[list[int] | None]`, *optional*):
            The exact trained plan where it is not a prefix of the ranking: one entry per layer, either `None` (use
            `token_keep_ratios`) or `num_bins` values in `{0, 1}` telling which rank bins are kept. Written by
            `finalize_pruning`; requires `token_keep_ratios` with `ratio == sum(bins) / num_bins`.
        plan_freeze_rule (`str`, *optional*, defaults to `"threshold"`):
            How trained masks become a deterministic plan (evaluation during training and `finalize_pruning`):
            `"threshold"` (a location prunes iff its gate has `P(g > 0) >= 0.5`, then drops
            `round(K - sum_b P(z_b > 0))` bins) or `"expected"` (each location drops `round(K * (1 - rho))` bins,
            `rho` its expected keep ratio). See `docs/method.md`. Unused once the plan is finalized.
        token_ranking (`str`, *optional*, defaults to `"attention"`):
            `"attention"` ranks tokens by the attention they receive (the method); `"random"` by random scores, the
            random-dropping baseline with the same plan.
        protected_token_type (`int`, *optional*):
            A token type id (segment) whose tokens rank above every other token at each pruning decision, so a
            plan that keeps the top of the ranking prunes them last (a bin pattern that drops the first rank bins
            drops them first): `0` protects the question of a BERT question-answering input (`[CLS] question
            [SEP]` is segment 0, the context segment 1). The plan's counts do not change: a protected
            segment longer than a layer keeps is ranked within itself by importance. Inputs without
            `token_type_ids` are all of type 0. Needs a model with several token types (`type_vocab_size > 1`).
            `None` (the default) ranks every token by importance alone.
        importance_token_type (`int`, *optional*):
            A token type id (segment) whose tokens alone are the queries of the token importance: each token is
            ranked by the attention it receives from the alive tokens of that segment, rather than from every alive
            token. `0` ranks the tokens of a BERT question-answering input by the attention they receive from
            `[CLS] question [SEP]` (see `docs/method.md`). Needs a model with several token types. `None` (the
            default): from every alive token (the method).
        ranking_pool_width (`int`, *optional*, defaults to 0):
            Each token ranks by the largest score within this many positions of it in the current sequence (a max
            pool of the importance), so the neighbourhood of an important token stays with it, e.g. an answer span
            next to the words a question attends to. 0: each token by its own score (the method).
        masked_token_output (`str`, *optional*, defaults to `"last_layer"`):
            What a masked token's output is while soft masks train, in the heads whose outputs cover every position
            (question answering): `"last_layer"`, the last layer's output at its position (the method: its scaled
            state runs on through the remaining layers), or `"carried"`, the state it entered the masking decision
            with, weighted by the keep value it lost there, as inference carries a pruned token's state over (see
            `docs/method.md`). Read in training only; inference always carries the state over.
        pruning_masks (`bool`, *optional*, defaults to `False`):
            Whether the model holds trainable hard-concrete masks (set by `add_pruning_masks`, cleared by
            `finalize_pruning`). Checkpoints written during training carry the mask parameters and this flag.
    """

    #: Model types of the plain checkpoints this configuration loads without a warning (e.g. `("bert",)`).
    source_model_types: ClassVar[tuple[str, ...]] = ()

    prune_layers: list[int] | None = None
    num_bins: int = 50
    bin_order: str = "free"
    token_keep_ratios: list[float] | None = None
    token_keep_bins: list[list[int] | None] | None = None
    plan_freeze_rule: str = "threshold"
    token_ranking: str = "attention"
    protected_token_type: int | None = None
    importance_token_type: int | None = None
    ranking_pool_width: int = 0
    masked_token_output: str = "last_layer"
    pruning_masks: bool = False

    def __post_init__(self, **kwargs: Any) -> None:
        # A plain checkpoint's config.json carries its own model_type; the class value must win in memory and on disk.
        kwargs.pop("model_type", None)
        super().__post_init__(**kwargs)
        if self.prune_layers is None:
            self.prune_layers = list(range(2, self.num_hidden_layers))
        self.check_pruning_plan()

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path: Any, **kwargs: Any) -> tuple[dict[str, Any], dict]:
        """
        As in transformers, except that the configuration of a plain checkpoint of a source family (e.g. a BERT
        checkpoint loaded into `TopBertConfig`, the supported way in) is read as this model type, without
        transformers' warning that loading another model type is unsupported.

        Raises:
            `ValueError`: for a checkpoint of another model family (e.g. a RoBERTa checkpoint loaded as `top_bert`).
        """
        config_dict, kwargs = super().get_config_dict(pretrained_model_name_or_path, **kwargs)
        model_type = config_dict.get("model_type")
        if model_type is not None and model_type != cls.model_type:
            if model_type not in cls.source_model_types:
                accepted = [cls.model_type, *cls.source_model_types]
                raise ValueError(
                    f"{pretrained_model_name_or_path!r} is a {model_type!r} checkpoint, which {cls.__name__} cannot "
                    f"load: it loads checkpoints of model type {' or '.join(map(repr, accepted))}"
                )
            config_dict = {**config_dict, "model_type": cls.model_type}
        return config_dict, kwargs

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any) -> Any:
        """
        As in transformers, then the pruning plan is checked again: keyword overrides (e.g.
        `from_pretrained(path, token_keep_ratios=[...])`) are assigned after construction.
        """
        result = super().from_dict(config_dict, **kwargs)
        (result[0] if isinstance(result, tuple) else result).check_pruning_plan()
        return result

    def to_json_file(self, json_file_path: str | os.PathLike, use_diff: bool = True) -> None:
        """
        Write the configuration as JSON, atomically: the plan is checked (and normalised to Python numbers) and the
        text built first, and it replaces the file only once written whole, so a value that cannot be serialised
        raises without leaving a truncated `config.json` behind.
        """
        self.check_pruning_plan()
        text = self.to_json_string(use_diff=use_diff)
        directory = os.path.dirname(os.path.abspath(json_file_path))
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".config-", suffix=".json.tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as writer:
                writer.write(text)
            os.replace(temporary, json_file_path)
        except BaseException:
            os.unlink(temporary)
            raise

    def check_pruning_plan(self) -> None:
        """
        Validate the pruning fields against the architecture, normalising numbers to Python types (numpy scalars
        become `float` / `int`, so the configuration always serialises).

        Called at construction, at load and by [`~TokenPruningConfigMixin.layer_plans`], so a plan assigned after
        construction (`config.token_keep_ratios = [...]`) is checked before it is used.

        Raises:
            `ValueError`: naming the field and the bad value.
        """
        num_layers = self.num_hidden_layers
        layers = self.prune_layers
        if not isinstance(layers, (list, tuple)) or not all(is_int(layer) for layer in layers):
            raise ValueError(f"prune_layers must be a list of layer indices, got {layers!r}")
        layers = self.prune_layers = [int(layer) for layer in layers]
        if layers != sorted(set(layers)) or any(not 1 <= layer < num_layers for layer in layers):
            raise ValueError(
                f"prune_layers must be increasing, distinct and within 1..{num_layers - 1} "
                f"(layer 0 has no earlier importance to prune with), got {layers!r}"
            )
        if not is_int(self.num_bins) or self.num_bins < 1:
            raise ValueError(f"num_bins must be a positive integer, got {self.num_bins!r}")
        self.num_bins = int(self.num_bins)
        for name, choices in (
            ("bin_order", BIN_ORDERS),
            ("plan_freeze_rule", FREEZE_RULES),
            ("token_ranking", TOKEN_RANKINGS),
            ("masked_token_output", MASKED_TOKEN_OUTPUTS),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        if not isinstance(self.pruning_masks, bool):
            raise ValueError(f"pruning_masks must be a bool, got {self.pruning_masks!r}")
        self._check_token_type_fields()
        if not is_int(self.ranking_pool_width) or self.ranking_pool_width < 0:
            raise ValueError(f"ranking_pool_width must be an integer >= 0, got {self.ranking_pool_width!r}")
        self._check_keep_ratios()
        self._check_keep_bins()

    def _check_token_type_fields(self) -> None:
        """`protected_token_type` and `importance_token_type`: `None`, or a token type id of a multi-segment model."""
        num_types = getattr(self, "type_vocab_size", 1)
        for name in ("protected_token_type", "importance_token_type"):
            token_type = getattr(self, name)
            if token_type is None:
                continue
            if num_types < 2:
                raise ValueError(
                    f"{name}={token_type!r} needs a model with several token types, but type_vocab_size={num_types}: "
                    "every token has the same type, there is no segment to single out"
                )
            if not is_int(token_type) or not 0 <= token_type < num_types:
                raise ValueError(
                    f"{name} must be None or a token type id in 0..{num_types - 1} (type_vocab_size={num_types}), "
                    f"got {token_type!r}"
                )
            setattr(self, name, int(token_type))

    def _check_keep_ratios(self) -> None:
        ratios = self.token_keep_ratios
        if ratios is None:
            return
        num_layers = self.num_hidden_layers
        if not isinstance(ratios, (list, tuple)) or len(ratios) != num_layers:
            raise ValueError(
                f"token_keep_ratios must be a list of {num_layers} floats (one per layer), got {ratios!r}"
            )
        for layer, ratio in enumerate(ratios):
            if not is_number(ratio) or not 0.0 < ratio <= 1.0:
                raise ValueError(f"token_keep_ratios[{layer}] must be a number in (0, 1], got {ratio!r}")
            if ratio < 1.0 and layer not in self.prune_layers:
                raise ValueError(
                    f"token_keep_ratios[{layer}] = {ratio} prunes layer {layer}, which is not in "
                    f"prune_layers {self.prune_layers}"
                )
        self.token_keep_ratios = [float(ratio) for ratio in ratios]

    def _check_keep_bins(self) -> None:
        patterns = self.token_keep_bins
        if patterns is None:
            return
        num_layers = self.num_hidden_layers
        if not isinstance(patterns, (list, tuple)) or len(patterns) != num_layers:
            raise ValueError(f"token_keep_bins must be a list of {num_layers} entries, got {patterns!r}")
        if self.token_keep_ratios is None:
            raise ValueError("token_keep_bins requires token_keep_ratios (the kept fraction of each pattern)")
        normalised = []
        for layer, pattern in enumerate(patterns):
            if pattern is None:
                normalised.append(None)
                continue
            if (
                not isinstance(pattern, (list, tuple))
                or len(pattern) != self.num_bins
                or any(not is_int(bit) or bit not in (0, 1) for bit in pattern)
            ):
                raise ValueError(
                    f"token_keep_bins[{layer}] must be a list of {self.num_bins} values in {{0, 1}}, got {pattern!r}"
                )
            if layer not in self.prune_layers:
                raise ValueError(f"token_keep_bins[{layer}] is set but layer {layer} is not in prune_layers")
            expected = sum(pattern) / self.num_bins
            if sum(pattern) == 0 or not math.isclose(self.token_keep_ratios[layer], expected, abs_tol=1e-9):
                raise ValueError(
                    f"token_keep_bins[{layer}] keeps {sum(pattern)} of {self.num_bins} bins, so "
                    f"token_keep_ratios[{layer}] must be {expected}, got {self.token_keep_ratios[layer]!r}"
                )
            normalised.append([int(bit) for bit in pattern])
        self.token_keep_bins = normalised

    def layer_plans(self) -> list[LayerPlan | None]:
        """
        The stored plan, validated, one entry per layer: `None` where the layer's input is not pruned, else its
        [`LayerPlan`].
        """
        self.check_pruning_plan()
        ratios = self.token_keep_ratios or [1.0] * self.num_hidden_layers
        patterns = self.token_keep_bins or [None] * self.num_hidden_layers
        return [
            LayerPlan(ratio, pattern) if ratio < 1.0 else None for ratio, pattern in zip(ratios, patterns, strict=True)
        ]

    def plan_key(self) -> tuple:
        """A cheap, hashable fingerprint of the fields `layer_plans` reads (models cache their plan under it)."""
        return tuple(
            _hashable(value)
            for value in (
                self.num_hidden_layers,
                self.prune_layers,
                self.num_bins,
                self.token_keep_ratios,
                self.token_keep_bins,
                self.token_ranking,
                self.protected_token_type,
                self.importance_token_type,
                self.ranking_pool_width,
            )
        )

    def plan_dict(self) -> dict[str, Any]:
        """
        The plan as plain JSON values (for results files and model cards): prune layers, bins, ratios, patterns, the
        protected token type, the importance's token type and the ranking's pool width.
        """
        return {
            "prune_layers": list(self.prune_layers),
            "num_bins": self.num_bins,
            "token_keep_ratios": self.token_keep_ratios,
            "token_keep_bins": self.token_keep_bins,
            "protected_token_type": self.protected_token_type,
            "importance_token_type": self.importance_token_type,
            "ranking_pool_width": self.ranking_pool_width,
        }

    @property
    def is_pruned(self) -> bool:
        """Whether the stored plan removes any token."""
        return any(plan is not None for plan in self.layer_plans())


def _hashable(value: Any) -> Any:
    """`value` (a config field, lists nested at most twice) as a hashable key; anything unusual by its `repr`."""
    if isinstance(value, (list, tuple)):
        value = tuple(tuple(item) if isinstance(item, (list, tuple)) else item for item in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


__all__ = ["TOKEN_RANKINGS", "LayerPlan", "TokenPruningConfigMixin", "is_int", "is_number"]
