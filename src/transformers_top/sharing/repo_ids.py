"""The one check of Hugging Face Hub repository ids used by the sharing code, the model card and the trainer."""

from __future__ import annotations

import os
from typing import Any

from huggingface_hub.utils import HFValidationError, validate_repo_id


def is_repo_id(value: Any) -> bool:
    """Whether `value` is a valid Hub repository id: `'name'` or `'namespace/name'`."""
    if not isinstance(value, str) or value.count("/") > 1:
        return False
    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return True


def check_repo_id(repo_id: Any, name: str = "repo_id") -> str:
    """
    `repo_id`, unchanged, or a `ValueError` naming the argument and the bad value.

    Args:
        repo_id: the value to check.
        name (`str`): how the error message names it.
    """
    if not is_repo_id(repo_id):
        raise ValueError(
            f"{name} must be 'namespace/name' or 'name' (letters, digits, '-', '_', '.'; at most 96), got {repo_id!r}"
        )
    return repo_id


def is_hub_model_id(name: Any) -> bool:
    """Whether a model's `name_or_path` names a Hub repository rather than a local folder."""
    return bool(name) and not os.path.exists(name) and is_repo_id(name)


__all__ = ["check_repo_id", "is_hub_model_id", "is_repo_id"]
