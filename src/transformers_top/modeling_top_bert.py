"""PyTorch BERT with ToP token pruning: tokens are physically removed at inference.

Built from transformers' own BERT blocks (`BertEmbeddings`, `BertEncoder`, `BertPooler`), so every BERT checkpoint
loads under the same parameter names. This file and the ones it imports are copied next to `config.json` by
`save_pretrained`, so they import each other with single-dot relative imports only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from transformers import initialization as init
from transformers.masking_utils import create_bidirectional_mask
from transformers.modeling_outputs import BaseModelOutputWithPooling, SequenceClassifierOutput
from transformers.models.bert.modeling_bert import BertEmbeddings, BertEncoder, BertPooler, BertPreTrainedModel
from transformers.pytorch_utils import apply_chunking_to_forward

from .configuration_top_bert import TopBertConfig
from .flops import expected_sparsity
from .hard_concrete import BIN_LOG_ALPHA_INIT, GATE_LOG_ALPHA_INIT, TokenPruningMasks
from .token_importance import self_attention_with_importance
from .token_selection import gather_kept_tokens, gather_tokens, kept_by_plan, rank_alive_tokens, rank_bins

#: What `save_pretrained` writes as `auto_map`, so that all three Auto classes load the checkpoint as remote code.
AUTO_MAP = {
    "AutoConfig": "configuration_top_bert.TopBertConfig",
    "AutoModel": "modeling_top_bert.TopBertModel",
    "AutoModelForSequenceClassification": "modeling_top_bert.TopBertForSequenceClassification",
}

#: A layer's fixed pruning decision: the keep ratio and, when the plan is not a prefix of the ranking, the bin pattern.
LayerPlan = tuple[float, list[int] | None]


@dataclass
class TopBertModelOutput(BaseModelOutputWithPooling):
    """
    Output of [`TopBertModel`].

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`):
            Hidden states of the last layer. With pruning, a pruned token carries its hidden state from the last
            layer it fully went through (unless `restore_pruned_tokens=False`, which returns the shortened sequence).
        pooler_output (`torch.FloatTensor` of shape `(batch_size, hidden_size)`): the pooled [CLS] state.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): embedding output and each layer's output, at the
            length each layer really ran on.
        token_importance (`tuple(torch.FloatTensor | None)`, *optional*): one entry per layer, the token importance
            of the layers listed in `importance_layers` (shape `(batch_size, length at that layer)`), `None` elsewhere.
    """

    token_importance: tuple[torch.Tensor | None, ...] | None = None


@dataclass
class TopSequenceClassifierOutput(SequenceClassifierOutput):
    """`SequenceClassifierOutput` plus `token_importance` (see [`TopBertModelOutput`])."""

    token_importance: tuple[torch.Tensor | None, ...] | None = None


class TopBertPreTrainedModel(BertPreTrainedModel):
    """Base class: weight initialisation (mask parameters included) and `save_pretrained` with a full `auto_map`."""

    config_class = TopBertConfig
    config: TopBertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = False
    _supports_flash_attn = False
    _supports_flex_attn = False
    _supports_attention_backend = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, TokenPruningMasks):
            init.constant_(module.gate_log_alpha, GATE_LOG_ALPHA_INIT)
            init.constant_(module.bin_log_alpha, BIN_LOG_ALPHA_INIT)
            init.zeros_(module.lagrange_multipliers)

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Save as transformers does, with `auto_map` entries for AutoConfig, AutoModel and sequence classification."""
        self.config.auto_map = dict(AUTO_MAP)
        return super().save_pretrained(save_directory, *args, **kwargs)

    # The pruning API lives on the base model; heads delegate to it.
    def add_pruning_masks(self) -> TokenPruningMasks:
        """See [`TopBertModel.add_pruning_masks`]."""
        return self.base_model.add_pruning_masks()

    def finalize_pruning(self) -> TopBertConfig:
        """See [`TopBertModel.finalize_pruning`]."""
        return self.base_model.finalize_pruning()

    def expected_sparsity(self, seq_lengths: torch.Tensor) -> torch.Tensor:
        """See [`TopBertModel.expected_sparsity`]."""
        return self.base_model.expected_sparsity(seq_lengths)


class TopBertModel(TopBertPreTrainedModel):
    """
    BERT encoder that prunes tokens layer by layer.

    - No plan and no masks: exactly transformers' `BertModel`.
    - A plan (`config.token_keep_ratios`, `config.token_keep_bins`), or trainable masks in eval mode: at each prune
      layer the least important tokens are gathered out of the sequence, so later layers run on fewer tokens.
    - Trainable masks in training mode: a fresh hard-concrete sample per forward multiplies each prune layer's input
      (soft masking, the sequence keeps its length) so the masks can be learnt; once `token_masks.plan_frozen` is
      set, training prunes with the masks' deterministic plan, as evaluation does.

    Args:
        config ([`TopBertConfig`]): model configuration.
        add_pooling_layer (`bool`, *optional*, defaults to `True`): whether to add the [CLS] pooler.
    """

    _no_split_modules = ("BertEmbeddings", "BertLayer")

    def __init__(self, config: TopBertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        if config.is_decoder or config.add_cross_attention:
            raise ValueError("TopBertModel is an encoder: is_decoder and add_cross_attention must be False")
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.token_masks = (
            TokenPruningMasks(len(config.prune_layers), config.num_bins) if config.pruning_masks else None
        )
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def add_pruning_masks(self) -> TokenPruningMasks:
        """
        Add trainable hard-concrete masks (gates closed, bins open) at `config.prune_layers` with `config.num_bins`
        bins, and record it in the config so that training checkpoints reload with their masks.

        Raises:
            `ValueError`: when the model already has masks or a fixed plan.
        """
        if self.token_masks is not None:
            raise ValueError("the model already has pruning masks")
        if self.config.is_pruned or self.config.token_keep_bins is not None:
            raise ValueError(
                f"the model already has a fixed pruning plan (token_keep_ratios={self.config.token_keep_ratios}); "
                "masks are learnt from a dense model: set config.token_keep_ratios = None first"
            )
        self.config.check_pruning_plan()
        device = self.embeddings.word_embeddings.weight.device
        self.token_masks = TokenPruningMasks(len(self.config.prune_layers), self.config.num_bins).to(device)
        self.config.pruning_masks = True
        return self.token_masks

    def finalize_pruning(self) -> TopBertConfig:
        """
        Freeze the trained masks deterministically (`config.plan_freeze_rule`; spec section 6 by default) into
        `config.token_keep_ratios` (and `config.token_keep_bins` where a layer's kept bins are not a prefix of the
        ranking), then remove the mask parameters, so `save_pretrained` writes a compact deployable checkpoint.

        Returns:
            [`TopBertConfig`]: the updated configuration.

        Raises:
            `ValueError`: when the model has no masks.
        """
        if self.token_masks is None:
            raise ValueError("the model has no pruning masks to finalize (call add_pruning_masks and train first)")
        _store_plan(self.config, *self.plan_from_masks())
        self.token_masks = None
        return self.config

    def deployable_config(self) -> TopBertConfig:
        """A copy of the configuration with the current masks frozen into the plan, as `finalize_pruning` writes it."""
        config = copy.deepcopy(self.config)
        if self.token_masks is not None:
            _store_plan(config, *self.plan_from_masks())
        return config

    def plan_from_masks(self) -> tuple[list[float], list[list[int] | None]]:
        """
        The deterministic plan of the current masks (`config.plan_freeze_rule`; spec section 6 by default) as
        `(token_keep_ratios, token_keep_bins)`, with a bin pattern only for the layers whose kept bins are not a
        prefix of the ranking.
        """
        num_layers, num_bins = self.config.num_hidden_layers, self.config.num_bins
        ratios, patterns = [1.0] * num_layers, [None] * num_layers
        frozen_plan = self.token_masks.frozen_plan(self.config.plan_freeze_rule)
        for layer, keep in zip(self.config.prune_layers, frozen_plan, strict=True):
            if keep is None:
                continue
            num_kept = sum(keep)
            ratios[layer] = num_kept / num_bins
            if keep != [1] * num_kept + [0] * (num_bins - num_kept):
                patterns[layer] = keep
        return ratios, patterns

    def layer_keep_ratios(self) -> torch.Tensor:
        """Expected keep ratio at each layer's input under the masks (1 where it does not prune), differentiable."""
        if self.token_masks is None:
            raise ValueError("the model has no pruning masks")
        ratios = torch.ones(self.config.num_hidden_layers, device=self.token_masks.gate_log_alpha.device)
        locations = torch.tensor(self.config.prune_layers, device=ratios.device)
        return ratios.index_put((locations,), self.token_masks.expected_keep_ratios())

    def expected_sparsity(self, seq_lengths: torch.Tensor) -> torch.Tensor:
        """
        Differentiable expected FLOPs sparsity of the masks for a batch with `seq_lengths` real tokens per sample
        (spec section 4).
        """
        return expected_sparsity(self.config, self.layer_keep_ratios(), seq_lengths)

    def _fixed_layer_plans(self) -> list[LayerPlan | None]:
        """The plan pruning uses now, per layer (`None` where the layer does not prune)."""
        if self.token_masks is not None:
            ratios, patterns = self.plan_from_masks()
        else:
            self.config.check_pruning_plan()
            if not self.config.is_pruned:
                return [None] * self.config.num_hidden_layers
            ratios = self.config.token_keep_ratios
            patterns = self.config.token_keep_bins or [None] * len(ratios)
        return [(ratio, pattern) if ratio < 1.0 else None for ratio, pattern in zip(ratios, patterns, strict=True)]

    def _check_inputs(
        self, input_ids, inputs_embeds, attention_mask, token_type_ids, output_attentions
    ) -> tuple[int, int]:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        if output_attentions:
            raise ValueError(
                "output_attentions is not supported by TopBert (pruned layers see different tokens); "
                "pass importance_layers=[...] to get the token importance instead"
            )
        shape = tuple(input_ids.shape) if input_ids is not None else tuple(inputs_embeds.shape[:-1])
        if len(shape) != 2 or shape[0] == 0 or shape[1] == 0:
            raise ValueError(f"inputs must have shape (batch_size, sequence_length) with both > 0, got {shape}")
        if inputs_embeds is not None and inputs_embeds.shape[-1] != self.config.hidden_size:
            raise ValueError(
                f"inputs_embeds must end with hidden_size={self.config.hidden_size}, got {tuple(inputs_embeds.shape)}"
            )
        if shape[1] > self.config.max_position_embeddings:
            raise ValueError(
                f"sequence length {shape[1]} exceeds max_position_embeddings={self.config.max_position_embeddings}; "
                "truncate the input (e.g. tokenizer(..., truncation=True))"
            )
        if token_type_ids is not None and tuple(token_type_ids.shape) != shape:
            raise ValueError(f"token_type_ids has shape {tuple(token_type_ids.shape)}, expected {shape}")
        for name, ids, size in (
            ("input_ids", input_ids, self.config.vocab_size),
            ("token_type_ids", token_type_ids, self.config.type_vocab_size),
        ):
            if ids is None:
                continue
            if ids.dtype not in (torch.int64, torch.int32):
                raise ValueError(f"{name} must be an integer (int64 or int32) tensor, got {ids.dtype}")
            if ids.min() < 0 or ids.max() >= size:
                raise ValueError(
                    f"{name} must be within 0..{size - 1}, got values from {int(ids.min())} to {int(ids.max())}"
                )
        if attention_mask is not None:
            if tuple(attention_mask.shape) != shape:
                raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)}, expected {shape}")
            first_padded = (attention_mask[:, 0] == 0).nonzero().flatten().tolist()
            if first_padded:
                raise ValueError(
                    f"rows {first_padded} of attention_mask are padding at position 0: every row needs a real first "
                    "token ([CLS]); all-padding rows and left padding are not supported"
                )
        return shape

    def _kernel_mask(self, alive: torch.Tensor, hidden_states: torch.Tensor) -> torch.Tensor | None:
        """The attention mask in the format of the configured attention implementation, for the current tokens."""
        return create_bidirectional_mask(config=self.config, inputs_embeds=hidden_states, attention_mask=alive)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        importance_layers: list[int] | tuple[int, ...] | None = None,
        restore_pruned_tokens: bool = True,
    ) -> TopBertModelOutput | tuple:
        r"""
        Args:
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds:
                As in transformers' `BertModel`. Padding must be on the right (position 0 is [CLS] in every row).
            output_attentions (`bool`, *optional*): not supported; `True` raises a `ValueError`.
            output_hidden_states (`bool`, *optional*): return every layer's output (at its pruned length).
            return_dict (`bool`, *optional*): return a [`TopBertModelOutput`] instead of a tuple.
            importance_layers (`list[int]`, *optional*): layers whose token importance to return (with gradient).
            restore_pruned_tokens (`bool`, *optional*, defaults to `True`): scatter the kept tokens back to their
                positions so `last_hidden_state` has the input length; `False` returns the shortened sequence
                (faster, used by the classification head which only needs [CLS]).
        """
        batch_size, seq_length = self._check_inputs(
            input_ids, inputs_embeds, attention_mask, token_type_ids, output_attentions
        )
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        num_layers = self.config.num_hidden_layers
        importance_layers = set(importance_layers or ())
        if any(not 0 <= layer < num_layers for layer in importance_layers):
            raise ValueError(f"importance_layers must be within 0..{num_layers - 1}, got {sorted(importance_layers)}")

        hidden_states = self.embeddings(
            input_ids=input_ids, token_type_ids=token_type_ids, position_ids=position_ids, inputs_embeds=inputs_embeds
        )
        device = hidden_states.device
        if attention_mask is None:
            alive = torch.ones(batch_size, seq_length, dtype=torch.bool, device=device)
        else:
            alive = attention_mask.to(device=device, dtype=torch.bool)

        soft_masks = self.training and self.token_masks is not None and not self.token_masks.plan_frozen
        if soft_masks:
            pruner = _SoftMasking(self.token_masks, self.config.prune_layers, alive, hidden_states.dtype)
            layer_plans = [None] * num_layers
        else:
            pruner = None
            layer_plans = self._fixed_layer_plans()
        restorer = _TokenRestorer(alive, hidden_states) if restore_pruned_tokens and any(layer_plans) else None

        kernel_mask = self._kernel_mask(alive, hidden_states)
        all_hidden_states = (hidden_states,) if output_hidden_states else None
        importances: list[torch.Tensor | None] = [None] * num_layers
        for index, layer in enumerate(self.encoder.layer):
            next_plan = layer_plans[index + 1] if index + 1 < num_layers else None
            soft_next = pruner is not None and pruner.prunes(index + 1)
            if next_plan is None and not soft_next and index not in importance_layers:
                hidden_states = layer(hidden_states, kernel_mask)
            else:
                queries = pruner.alive_queries() if pruner is not None else alive
                context, importance = self_attention_with_importance(
                    layer.attention.self, hidden_states, queries, keys_alive=alive
                )
                if index in importance_layers:
                    importances[index] = importance
                if next_plan is not None:
                    if restorer is not None:
                        restorer.record(hidden_states)
                    # The rest of the layer is per token: run it on the kept tokens only.
                    keep_index, alive = _select_tokens(importance, alive, next_plan)
                    context, hidden_states = (
                        gather_tokens(context, keep_index),
                        gather_tokens(hidden_states, keep_index),
                    )
                    if restorer is not None:
                        restorer.gather(keep_index, alive)
                    kernel_mask = self._kernel_mask(alive, hidden_states)
                attention_output = layer.attention.output(context, hidden_states)
                hidden_states = apply_chunking_to_forward(
                    layer.feed_forward_chunk, layer.chunk_size_feed_forward, layer.seq_len_dim, attention_output
                )
                if soft_next:
                    hidden_states = pruner.apply(index + 1, importance, hidden_states)
            if output_hidden_states:
                all_hidden_states += (hidden_states,)

        sequence_output = hidden_states
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if restorer is not None:
            restorer.record(sequence_output)
            sequence_output = restorer.output()
        token_importance = tuple(importances) if importance_layers else None
        if not return_dict:
            return tuple(
                v for v in (sequence_output, pooled_output, all_hidden_states, token_importance) if v is not None
            )
        return TopBertModelOutput(
            last_hidden_state=sequence_output,
            pooler_output=pooled_output,
            hidden_states=all_hidden_states,
            token_importance=token_importance,
        )


def _store_plan(config: TopBertConfig, ratios: list[float], patterns: list[list[int] | None]) -> None:
    """Write a frozen plan into a configuration that no longer has masks."""
    config.pruning_masks = False
    config.token_keep_ratios = ratios
    config.token_keep_bins = patterns if any(pattern is not None for pattern in patterns) else None
    config.check_pruning_plan()


def _select_tokens(
    importance: torch.Tensor, alive: torch.Tensor, plan: LayerPlan
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the tokens a fixed plan keeps ([CLS] always) and the alive mask of the shortened sequence."""
    ranks, num_alive = rank_alive_tokens(importance, alive)
    keep = kept_by_plan(ranks, num_alive, *plan)
    keep[:, 0] = True
    return gather_kept_tokens(keep)


class _SoftMasking:
    """Training-time soft token masks: `m_j = (1 - (1 - z_bin(j)) * g_p) * m_j(previous location)` (spec section 2)."""

    def __init__(self, masks: TokenPruningMasks, prune_layers: list[int], alive: torch.Tensor, dtype: torch.dtype):
        self.gates, self.bins = masks.sample()
        self.location = {layer: position for position, layer in enumerate(prune_layers)}
        self.alive = alive
        self.keep = alive.to(dtype)
        self.is_cls = torch.zeros_like(alive)
        self.is_cls[:, 0] = True

    def prunes(self, layer: int) -> bool:
        return layer in self.location

    def alive_queries(self) -> torch.Tensor:
        return self.alive & (self.keep > 0)

    def apply(self, layer: int, importance: torch.Tensor, layer_input: torch.Tensor) -> torch.Tensor:
        location = self.location[layer]
        ranks, num_alive = rank_alive_tokens(importance, self.alive_queries())
        bin_values = self.bins[location][rank_bins(ranks, num_alive, self.bins.shape[1])]
        keep = (1.0 - (1.0 - bin_values) * self.gates[location]) * self.keep
        self.keep = torch.where(self.is_cls, torch.ones_like(keep), keep)
        return layer_input * self.keep[..., None]


class _TokenRestorer:
    """Keeps each token's latest hidden state at its original position, so pruned tokens can be put back."""

    def __init__(self, alive: torch.Tensor, hidden_states: torch.Tensor) -> None:
        batch_size, seq_length, hidden_size = hidden_states.shape
        self.seq_length = seq_length
        # One spare column receives the writes of padding entries.
        self.buffer = hidden_states.new_zeros(batch_size, seq_length + 1, hidden_size)
        positions = torch.arange(seq_length, device=alive.device).expand(batch_size, -1)
        self.origin = positions.masked_fill(~alive, seq_length)
        self.row_offsets = torch.arange(batch_size, device=alive.device)[:, None] * (seq_length + 1)

    def record(self, hidden_states: torch.Tensor) -> None:
        # In place, whole rows of the flattened buffer (copying the buffer or scattering with an index expanded over
        # the hidden dimension costs more than the layers themselves at short lengths).
        rows = (self.origin + self.row_offsets).flatten()
        self.buffer.view(-1, self.buffer.shape[-1]).index_copy_(0, rows, hidden_states.flatten(0, 1))

    def gather(self, keep_index: torch.Tensor, alive: torch.Tensor) -> None:
        self.origin = gather_tokens(self.origin, keep_index).masked_fill(~alive, self.seq_length)

    def output(self) -> torch.Tensor:
        return self.buffer[:, : self.seq_length]


class TopBertForSequenceClassification(TopBertPreTrainedModel):
    """
    [`TopBertModel`] with a linear head on the pooled [CLS] state, weight-compatible with transformers'
    `BertForSequenceClassification`.

    Args:
        config ([`TopBertConfig`]): model configuration (`num_labels`, `problem_type` as in BERT).
    """

    def __init__(self, config: TopBertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = TopBertModel(config)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        importance_layers: list[int] | tuple[int, ...] | None = None,
    ) -> TopSequenceClassifierOutput | tuple:
        r"""
        Args:
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*): as in `BertForSequenceClassification`
                (regression when `num_labels == 1`).
            importance_layers (`list[int]`, *optional*): layers whose token importance to return.

        The other arguments are those of [`TopBertModel.forward`].
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            importance_layers=importance_layers,
            restore_pruned_tokens=False,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output))
        loss = self._loss(logits, labels) if labels is not None else None
        result = TopSequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            token_importance=outputs.token_importance,
        )
        return result if return_dict else result.to_tuple()

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss of `BertForSequenceClassification`, by `config.problem_type` (inferred as BERT does)."""
        if self.config.problem_type is None:
            if self.num_labels == 1:
                self.config.problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                self.config.problem_type = "single_label_classification"
            else:
                self.config.problem_type = "multi_label_classification"
        if self.config.problem_type == "regression":
            return nn.functional.mse_loss(logits.squeeze(-1), labels.squeeze(-1).to(logits.dtype))
        if self.config.problem_type == "single_label_classification":
            return nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


TopBertModel.register_for_auto_class("AutoModel")
TopBertForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = [
    "TopBertForSequenceClassification",
    "TopBertModel",
    "TopBertModelOutput",
    "TopBertPreTrainedModel",
    "TopSequenceClassifierOutput",
]
