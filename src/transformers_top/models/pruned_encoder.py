"""The family-neutral part of the ToP models: an encoder that prunes tokens layer by layer.

A family's base model (e.g. `TopBertModel`) builds its own embeddings and transformers' layer stack, then mixes in
[`TokenPrunedEncoderMixin`], which runs the layers on one of three paths (see `docs/method.md`):

- `_dense_forward`: no plan and no masks, every layer exactly as transformers runs it;
- `_soft_masked_forward`: training with masks, a fresh hard-concrete sample scales each prune layer's input;
- `_fixed_plan_forward`: a plan (stored, or frozen from the masks), the least important tokens are dropped.

The layers are transformers' encoder layers (`layer.attention.self` with query/key/value projections,
`layer.attention.output`, `layer.feed_forward_chunk`), which BERT, RoBERTa and XLM-R share.
"""

from __future__ import annotations

import copy
from typing import ClassVar

import torch
from torch import nn
from transformers import initialization as init
from transformers.masking_utils import create_bidirectional_mask
from transformers.pytorch_utils import apply_chunking_to_forward

from .flops import expected_sparsity
from .hard_concrete import BIN_LOG_ALPHA_INIT, GATE_LOG_ALPHA_INIT, TokenPruningMasks
from .input_checks import check_encoder_inputs, check_first_tokens_are_real, check_importance_layers, embed_checked
from .modeling_outputs import OutputCollector, TopModelOutput
from .pruning_config import LayerPlan
from .token_importance import self_attention_with_importance
from .token_selection import (
    gather_kept_tokens,
    gather_tokens,
    kept_by_plan,
    rank_alive_tokens,
    select_tokens_in_graph,
)
from .token_tracking import SoftMasking, SoftTokenRestorer, TokenRestorer

#: Added to the ranking score of a protected token: importance (attention received, a mean of probabilities) and
#: random scores lie in `[0, 1]`, so a protected token outranks every other one.
PROTECTED_SCORE_OFFSET = 2.0


class TokenPruningPreTrainedMixin:
    """
    Mixed into a family's `PreTrainedModel` base class: initialises the mask parameters, writes the family's full
    `auto_map` on save, and gives every head the pruning API of its base model.
    """

    #: `auto_map` written by `save_pretrained`: Auto class name -> `"module.Class"` (set by each family).
    auto_map: ClassVar[dict[str, str]] = {}

    supports_gradient_checkpointing = True
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
        """Save as transformers does, with an `auto_map` entry for every Auto class of the family (remote code)."""
        self.config.auto_map = dict(self.auto_map)
        return super().save_pretrained(save_directory, *args, **kwargs)

    def add_pruning_masks(self) -> TokenPruningMasks:
        """See [`TokenPrunedEncoderMixin.add_pruning_masks`]."""
        return self.base_model.add_pruning_masks()

    def finalize_pruning(self):
        """See [`TokenPrunedEncoderMixin.finalize_pruning`]."""
        return self.base_model.finalize_pruning()

    def expected_sparsity(self, seq_lengths: torch.Tensor) -> torch.Tensor:
        """See [`TokenPrunedEncoderMixin.expected_sparsity`]."""
        return self.base_model.expected_sparsity(seq_lengths)


class TokenPrunedEncoderMixin:
    """
    Mixed into a family's base model, which names its transformers blocks: `embeddings_class` (called as BERT-style
    embeddings are), `encoder_class` (whose `layer` list holds transformers' layers) and `pooler_class`. Builds
    them and gives the model the forward pass, the trainable masks and the plan. A family whose position ids are
    offset (RoBERTa) overrides [`max_input_length`].

    Args:
        config: the family's ToP configuration.
        add_pooling_layer (`bool`, *optional*, defaults to `True`): whether to add the first-token pooler.
    """

    embeddings_class: ClassVar[type[nn.Module]]
    encoder_class: ClassVar[type[nn.Module]]
    pooler_class: ClassVar[type[nn.Module]]

    def __init__(self, config, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        if config.is_decoder or config.add_cross_attention:
            raise ValueError(f"{type(self).__name__} is an encoder: is_decoder and add_cross_attention must be False")
        self.embeddings = self.embeddings_class(config)
        self.encoder = self.encoder_class(config)
        self.pooler = self.pooler_class(config) if add_pooling_layer else None
        self.init_token_masks()
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def max_input_length(self) -> int:
        """The longest input the position embeddings allow."""
        return self.config.max_position_embeddings

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
        output_kept_tokens: bool = False,
    ) -> TopModelOutput | tuple:
        r"""
        Args:
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds:
                As in the family's transformers model (`BertModel`, ...). Padding must be on the right (position 0 is
                [CLS] in every row).
            output_attentions (`bool`, *optional*): not supported; `True` raises a `ValueError`.
            output_hidden_states (`bool`, *optional*): return every layer's output (at its pruned length).
            return_dict (`bool`, *optional*): return a [`TopModelOutput`] instead of a tuple.
            importance_layers (`list[int]`, *optional*): layers whose token importance to return (with gradient).
            restore_pruned_tokens (`bool`, *optional*, defaults to `True`): scatter the kept tokens back to their
                positions so `last_hidden_state` has the input length; `False` returns the shortened sequence
                (faster, used by the classification heads, which only need [CLS]).
            output_kept_tokens (`bool`, *optional*, defaults to `False`): return `kept_tokens`, the number of real
                tokens ([CLS] included) entering each layer, per row.
        """
        config = self.config
        batch_size, seq_length = check_encoder_inputs(
            input_ids=input_ids,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            output_attentions=output_attentions,
            hidden_size=config.hidden_size,
            max_length=self.max_input_length(),
        )
        importance_layers = check_importance_layers(importance_layers, config.num_hidden_layers)
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else config.return_dict

        hidden_states = embed_checked(
            lambda: self.embeddings(
                input_ids=input_ids,
                token_type_ids=token_type_ids,
                position_ids=position_ids,
                inputs_embeds=inputs_embeds,
            ),
            {
                "input_ids": (input_ids, config.vocab_size),
                "token_type_ids": (token_type_ids, config.type_vocab_size),
                "position_ids": (position_ids, config.max_position_embeddings),
            },
        )
        if attention_mask is None:
            alive = torch.ones(batch_size, seq_length, dtype=torch.bool, device=hidden_states.device)
        else:
            alive = attention_mask.to(device=hidden_states.device, dtype=torch.bool)
        output = self.encode(
            hidden_states,
            alive,
            importance_layers,
            output_hidden_states,
            restore_pruned_tokens,
            output_kept_tokens,
            protected=self.protected_tokens(alive, token_type_ids),
            importance_queries=self.importance_queries(alive, token_type_ids),
        )
        # [CLS] is position 0 of the restored and of the shortened sequence alike.
        output.pooler_output = self.pooler(output.last_hidden_state) if self.pooler is not None else None
        return output if return_dict else output.to_tuple()

    # ---- masks and plans ---------------------------------------------------------------------------------------

    def init_token_masks(self) -> None:
        """Create the masks a training checkpoint carries (`config.pruning_masks`), else none."""
        config = self.config
        self.token_masks = (
            TokenPruningMasks(len(config.prune_layers), config.num_bins, config.bin_order)
            if config.pruning_masks
            else None
        )
        self._stored_plan: tuple[tuple, list[LayerPlan | None]] | None = None

    def add_pruning_masks(self) -> TokenPruningMasks:
        """
        Add trainable hard-concrete masks (gates closed, bins open) at `config.prune_layers` with `config.num_bins`
        bins in `config.bin_order`, and record it in the config so that training checkpoints reload with their masks.

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
        device = self.get_input_embeddings().weight.device
        config = self.config
        self.token_masks = TokenPruningMasks(len(config.prune_layers), config.num_bins, config.bin_order).to(device)
        self.config.pruning_masks = True
        return self.token_masks

    def finalize_pruning(self):
        """
        Freeze the trained masks deterministically (`config.plan_freeze_rule`) into `config.token_keep_ratios` (and
        `config.token_keep_bins` where a layer's kept bins are not a prefix of the ranking), then remove the mask
        parameters, so `save_pretrained` writes a compact deployable checkpoint.

        Returns:
            The updated configuration.

        Raises:
            `ValueError`: when the model has no masks.
        """
        if self.token_masks is None:
            raise ValueError("the model has no pruning masks to finalize (call add_pruning_masks and train first)")
        _store_plan(self.config, *self.plan_from_masks())
        self.token_masks = None
        return self.config

    def deployable_config(self):
        """A copy of the configuration with the current masks frozen into the plan, as `finalize_pruning` writes it."""
        config = copy.deepcopy(self.config)
        if self.token_masks is not None:
            _store_plan(config, *self.plan_from_masks())
        return config

    def plan_from_masks(self) -> tuple[list[float], list[list[int] | None]]:
        """
        The deterministic plan of the current masks (`config.plan_freeze_rule`) as `(token_keep_ratios,
        token_keep_bins)`, with a bin pattern only for the layers whose kept bins are not a prefix of the ranking.
        """
        num_layers, num_bins = self.config.num_hidden_layers, self.config.num_bins
        ratios, patterns = [1.0] * num_layers, [None] * num_layers
        frozen_plan = self._checked_masks().frozen_plan(self.config.plan_freeze_rule)
        for layer, keep in zip(self.config.prune_layers, frozen_plan, strict=True):
            if keep is None:
                continue
            num_kept = sum(keep)
            ratios[layer] = num_kept / num_bins
            if keep != [1] * num_kept + [0] * (num_bins - num_kept):
                patterns[layer] = keep
        return ratios, patterns

    def _checked_masks(self) -> TokenPruningMasks:
        """The masks, after checking that `config.bin_order` still says the order they were created with."""
        masks = self.token_masks
        if masks.bin_order != self.config.bin_order:
            raise ValueError(
                f"config.bin_order is {self.config.bin_order!r} but the model's masks were created with bin_order="
                f"{masks.bin_order!r}: the order of existing masks cannot change (set it before add_pruning_masks)"
            )
        return masks

    def layer_keep_ratios(self) -> torch.Tensor:
        """Expected keep ratio at each layer's input under the masks (1 where it does not prune), differentiable."""
        if self.token_masks is None:
            raise ValueError("the model has no pruning masks")
        ratios = torch.ones(self.config.num_hidden_layers, device=self.token_masks.gate_log_alpha.device)
        locations = torch.tensor(self.config.prune_layers, dtype=torch.long, device=ratios.device)
        return ratios.index_put((locations,), self.token_masks.expected_keep_ratios())

    def expected_sparsity(self, seq_lengths: torch.Tensor) -> torch.Tensor:
        """Differentiable expected FLOPs sparsity of the masks for a batch of `seq_lengths` real tokens per sample."""
        return expected_sparsity(self.config, self.layer_keep_ratios(), seq_lengths)

    def current_layer_plans(self) -> list[LayerPlan | None]:
        """
        The plan pruning uses now, per layer (`None` where the layer does not prune): the masks' frozen plan when the
        model holds masks, else the stored plan (validated by `config.layer_plans()`, cached until it changes).
        """
        if self.token_masks is not None:
            ratios, patterns = self.plan_from_masks()
            return [LayerPlan(r, p) if r < 1.0 else None for r, p in zip(ratios, patterns, strict=True)]
        key = self.config.plan_key()
        if self._stored_plan is None or self._stored_plan[0] != key:
            self._stored_plan = (key, self.config.layer_plans())
        return self._stored_plan[1]

    # ---- the forward pass ----------------------------------------------------------------------------------------

    def encode(
        self,
        hidden_states: torch.Tensor,
        alive: torch.Tensor,
        importance_layers: frozenset[int] = frozenset(),
        output_hidden_states: bool = False,
        restore_pruned_tokens: bool = True,
        output_kept_tokens: bool = False,
        protected: torch.Tensor | None = None,
        importance_queries: torch.Tensor | None = None,
    ) -> TopModelOutput:
        """
        Run the encoder layers on the embeddings, dropping tokens as the masks or the plan say.

        Args:
            hidden_states (`torch.Tensor` of shape `(batch, length, hidden)`): the embedding output.
            alive (`torch.Tensor` of shape `(batch, length)`, bool): the real tokens.
            importance_layers (`frozenset[int]`): layers whose token importance to return.
            output_hidden_states (`bool`): return every layer's output.
            restore_pruned_tokens (`bool`): give `last_hidden_state` the input length (see `TopModelOutput`).
            output_kept_tokens (`bool`): return the number of tokens entering each layer, per row.
            protected (`torch.Tensor` of shape `(batch, length)`, bool, *optional*): tokens ranked above all others
                at every pruning decision (`config.protected_token_type`).
            importance_queries (`torch.Tensor` of shape `(batch, length)`, bool, *optional*): the tokens whose
                attention makes the importance (`config.importance_token_type`); `None`: every alive token.

        Returns:
            [`TopModelOutput`] without `pooler_output`.
        """
        collect = OutputCollector(
            hidden_states, len(self.encoder.layer), importance_layers, output_hidden_states, output_kept_tokens
        )
        if self.training and self.token_masks is not None and not self.token_masks.plan_frozen:
            check_first_tokens_are_real(alive)
            return collect.output(
                self._soft_masked_forward(
                    hidden_states, alive, collect, restore_pruned_tokens, protected, importance_queries
                )
            )
        plans = self.current_layer_plans()
        if any(plans):
            if torch.jit.is_tracing():
                raise RuntimeError(
                    "torch.jit.trace cannot trace a model that prunes tokens: the traced graph would keep the traced "
                    "input's number of tokens for every input. Trace the dense model (config.token_keep_ratios = "
                    "None), or run the pruned model eagerly"
                )
            if not _is_tracing():
                check_first_tokens_are_real(alive)
            return collect.output(
                self._fixed_plan_forward(
                    hidden_states, alive, plans, collect, restore_pruned_tokens, protected, importance_queries
                )
            )
        if not _is_tracing():
            check_first_tokens_are_real(alive)
        return collect.output(self._dense_forward(hidden_states, alive, collect, importance_queries))

    def _dense_forward(self, hidden_states, alive, collect: OutputCollector, importance_queries) -> torch.Tensor:
        """Every layer on every token, as transformers runs it (importance computed only where asked)."""
        kernel_mask = self._kernel_mask(alive, hidden_states)
        for index, layer in enumerate(self.encoder.layer):
            collect.layer_input(alive)
            if collect.wants_importance(index):
                queries = alive if importance_queries is None else importance_queries
                context, importance = self._attention_with_importance(layer, hidden_states, queries, alive)
                collect.importance(index, importance)
                hidden_states = self._rest_of_layer(layer, context, hidden_states)
            else:
                hidden_states = layer(hidden_states, kernel_mask)
            collect.layer_output(hidden_states)
        return hidden_states

    def _soft_masked_forward(
        self,
        hidden_states,
        alive,
        collect: OutputCollector,
        restore_pruned_tokens: bool,
        protected,
        importance_queries,
    ) -> torch.Tensor:
        """
        Training with masks: each prune layer's input is scaled by its soft keep values; lengths do not change. With
        `restore_pruned_tokens` and `config.masked_token_output="carried"`, each position's output is the soft
        carry-over of [`SoftTokenRestorer`] instead of the last layer's.
        """
        masking = SoftMasking(self._checked_masks(), self.config.prune_layers, alive, hidden_states.dtype)
        carrying = restore_pruned_tokens and self.config.masked_token_output == "carried"
        restorer = SoftTokenRestorer(hidden_states) if carrying else None
        kernel_mask = self._kernel_mask(alive, hidden_states)
        for index, layer in enumerate(self.encoder.layer):
            collect.layer_input(masking.alive_queries())
            masks_next = masking.prunes(index + 1)
            if masks_next or collect.wants_importance(index):
                decision_input = hidden_states
                queries = masking.alive_queries()
                if importance_queries is not None:
                    queries = queries & importance_queries
                context, importance = self._attention_with_importance(layer, hidden_states, queries, alive)
                collect.importance(index, importance)
                hidden_states = self._rest_of_layer(layer, context, hidden_states)
                if masks_next:
                    keep_before = masking.keep_values()
                    hidden_states = masking.apply(index + 1, self.ranking_scores(importance, protected), hidden_states)
                    if restorer is not None:
                        restorer.record(keep_before, masking.keep_values(), decision_input)
            else:
                hidden_states = layer(hidden_states, kernel_mask)
            collect.layer_output(hidden_states)
        if restorer is None:
            return hidden_states
        return restorer.output(masking.keep_values(), hidden_states)

    def _fixed_plan_forward(
        self,
        hidden_states,
        alive,
        plans,
        collect: OutputCollector,
        restore_pruned_tokens: bool,
        protected,
        importance_queries,
    ) -> torch.Tensor:
        """A fixed plan: inside the layer before each pruning layer, the dropped tokens leave the sequence."""
        restorer = TokenRestorer(alive, hidden_states) if restore_pruned_tokens else None
        # Traced with eager attention, every layer runs the explicit attention (the same product, softmax, product,
        # whose mask costs no pass over the scores in a graph); a layer that decides nothing leaves its importance
        # unused, and the exporter drops it.
        explicit = _is_tracing() and self.config._attn_implementation == "eager"
        kernel_mask = None if explicit else self._kernel_mask(alive, hidden_states)
        for index, layer in enumerate(self.encoder.layer):
            collect.layer_input(alive)
            next_plan = plans[index + 1] if index + 1 < len(plans) else None
            if next_plan is None and not collect.wants_importance(index) and not explicit:
                hidden_states = layer(hidden_states, kernel_mask)
            else:
                queries = alive if importance_queries is None else importance_queries
                context, importance = self._attention_with_importance(layer, hidden_states, queries, alive)
                collect.importance(index, importance)
                if next_plan is not None:
                    if restorer is not None:
                        restorer.record(hidden_states)
                    # The rest of the layer is per token: run it on the kept tokens only.
                    scores = self.ranking_scores(importance, protected)
                    keep_index, alive = _select_tokens(scores, alive, next_plan)
                    if protected is not None:
                        protected = gather_tokens(protected, keep_index) & alive
                    if importance_queries is not None:
                        importance_queries = gather_tokens(importance_queries, keep_index) & alive
                    context, hidden_states = (
                        gather_tokens(context, keep_index),
                        gather_tokens(hidden_states, keep_index),
                    )
                    if restorer is not None:
                        restorer.gather(keep_index, alive)
                    kernel_mask = None if explicit else self._kernel_mask(alive, hidden_states)
                hidden_states = self._rest_of_layer(layer, context, hidden_states)
            collect.layer_output(hidden_states)
        if restorer is None:
            return hidden_states
        restorer.record(hidden_states)
        return restorer.output()

    # ---- one layer, in two parts -------------------------------------------------------------------------------

    def _attention_with_importance(
        self, layer: nn.Module, hidden_states: torch.Tensor, queries: torch.Tensor, keys: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer's self-attention context and the token importance (recomputed in backward under checkpointing)."""
        return _checkpointed(layer, self.training, self_attention_with_importance)(
            layer.attention.self, hidden_states, queries, keys
        )

    def _rest_of_layer(self, layer: nn.Module, context: torch.Tensor, hidden_states: torch.Tensor) -> torch.Tensor:
        """Output projection, residual and feed-forward network of a layer, per token."""
        return _checkpointed(layer, self.training, _finish_layer)(layer, context, hidden_states)

    def ranking_scores(self, importance: torch.Tensor, protected: torch.Tensor | None) -> torch.Tensor:
        """
        The scores a pruning decision ranks the current tokens by: the importance, or random scores
        (`config.token_ranking="random"`), both in `[0, 1]`, each the best within `config.ranking_pool_width`
        positions when that is set; protected tokens score `PROTECTED_SCORE_OFFSET` more, above every other token.

        Args:
            importance (`torch.Tensor` of shape `(batch, length)`): the deciding layer's importance over the current
                tokens (`token_importance` of a forward with `importance_layers`).
            protected (`torch.Tensor` of shape `(batch, length)`, bool, *optional*): the tokens ranked first
                (`protected_tokens`); `None`: none.
        """
        scores = torch.rand_like(importance) if self.config.token_ranking == "random" else importance
        if self.config.ranking_pool_width:
            scores = _neighbourhood_max(scores, self.config.ranking_pool_width)
        if protected is None:
            return scores
        return scores + protected.to(scores.dtype) * PROTECTED_SCORE_OFFSET

    def protected_tokens(self, alive: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor | None:
        """
        The alive tokens of `config.protected_token_type`, which every decision ranks first (`None` when nothing is
        protected).
        """
        return _alive_tokens_of_type(alive, token_type_ids, self.config.protected_token_type)

    def importance_queries(self, alive: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor | None:
        """The alive tokens of `config.importance_token_type` (`None`: every alive token is a query)."""
        return _alive_tokens_of_type(alive, token_type_ids, self.config.importance_token_type)

    def _kernel_mask(self, alive: torch.Tensor, hidden_states: torch.Tensor) -> torch.Tensor | None:
        """The attention mask in the format of the configured attention implementation, for the current tokens."""
        return create_bidirectional_mask(config=self.config, inputs_embeds=hidden_states, attention_mask=alive)


def _alive_tokens_of_type(
    alive: torch.Tensor, token_type_ids: torch.Tensor | None, token_type: int | None
) -> torch.Tensor | None:
    """The alive tokens whose type is `token_type` (inputs without `token_type_ids` are all of type 0); `None` for
    `token_type=None`."""
    if token_type is None:
        return None
    if token_type_ids is None:
        return alive if token_type == 0 else torch.zeros_like(alive)
    return alive & (token_type_ids.to(alive.device) == token_type)


def _neighbourhood_max(scores: torch.Tensor, width: int) -> torch.Tensor:
    """
    Each position's largest score within `width` positions of it, `(batch, length)`. Shifted maxima rather than
    `max_pool1d`, whose shape check cannot be exported on a length the pruning decided.
    """
    length = scores.shape[1]
    padded = nn.functional.pad(scores, (width, width), value=float("-inf"))
    pooled = scores
    for offset in range(2 * width + 1):
        pooled = torch.maximum(pooled, padded[:, offset : offset + length])
    return pooled


def _is_tracing() -> bool:
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def _finish_layer(layer: nn.Module, context: torch.Tensor, hidden_states: torch.Tensor) -> torch.Tensor:
    attention_output = layer.attention.output(context, hidden_states)
    return apply_chunking_to_forward(
        layer.feed_forward_chunk, layer.chunk_size_feed_forward, layer.seq_len_dim, attention_output
    )


def _checkpointed(layer: nn.Module, training: bool, function):
    """`function`, recomputed in the backward pass when activation checkpointing is on for `layer` (as transformers
    does for the layer's own forward)."""
    if getattr(layer, "gradient_checkpointing", False) and training and torch.is_grad_enabled():
        return lambda *args: layer._gradient_checkpointing_func(function, *args)
    return function


def _store_plan(config, ratios: list[float], patterns: list[list[int] | None]) -> None:
    """Write a frozen plan into a configuration that no longer has masks."""
    config.pruning_masks = False
    config.token_keep_ratios = ratios
    config.token_keep_bins = patterns if any(pattern is not None for pattern in patterns) else None
    config.check_pruning_plan()


def _select_tokens(scores: torch.Tensor, alive: torch.Tensor, plan: LayerPlan) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Indices of the tokens a fixed plan keeps ([CLS] always) and the alive mask of the shortened sequence, as wide as
    the batch's row that keeps most. In an exported graph (`torch.export`, ONNX) that width is a data-dependent size
    of its own, one per prune layer (written as a function of the input length, the nested bin counts of several
    prune layers grow too large to export), and at least 2, so that attention's `query_length > 1` is known; a
    second column of padding changes no result. `torch.compile` reads it the same way when
    `torch._dynamo.config.capture_scalar_outputs` is on, and breaks the graph there when it is off.
    """
    if _is_tracing():
        return select_tokens_in_graph(scores, alive, plan.keep_ratio, plan.keep_bins)
    ranks, num_alive = rank_alive_tokens(scores, alive)
    keep = kept_by_plan(ranks, num_alive, plan.keep_ratio, plan.keep_bins)
    keep[:, 0] = True
    return gather_kept_tokens(keep)


__all__ = ["TokenPrunedEncoderMixin", "TokenPruningPreTrainedMixin"]
