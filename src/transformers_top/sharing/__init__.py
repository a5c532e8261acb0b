"""Sharing pruned models: the Hub upload with the ToP model card, the card itself, and the kept-tokens plot."""

from .hub import push_pruned_model, save_pruned_model
from .model_card import TopModelCardData, create_model_card, save_model_card

__all__ = ["TopModelCardData", "create_model_card", "push_pruned_model", "save_model_card", "save_pruned_model"]
