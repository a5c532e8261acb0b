"""Sharing pruned models on the Hugging Face Hub, with their ToP model card.

transformers' own `PreTrainedModel.push_to_hub` replaces `README.md` with a generic card. [`push_pruned_model`]
instead saves the model (weights, `config.json` with the pruning plan and `auto_map`, the Hub-portable code files),
the tokenizer, the ToP model card and its kept-tokens plot into one folder and uploads it as a single commit.

Importing `transformers_top` installs it as `push_to_hub` of the ToP models, so `model.push_to_hub("user/name")`
keeps the card. The function lives here and not in `modeling_top_bert.py` because that file is copied to the Hub
for `trust_remote_code` users and may only import the other portable files; without the plugin a model loaded as
remote code keeps transformers' `push_to_hub`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from huggingface_hub import CommitInfo, CommitOperationAdd, HfApi

from .model_card import TopModelCardData, is_repo_id, save_model_card
from .modeling_top_bert import TopBertPreTrainedModel

DEFAULT_COMMIT_MESSAGE = "Upload ToP token-pruned model (transformers-top)"


def push_pruned_model(
    model: TopBertPreTrainedModel,
    repo_id: str,
    *,
    card_data: TopModelCardData | None = None,
    tokenizer=None,
    plot: str | Path | None = None,
    save_directory: str | Path | None = None,
    commit_message: str | None = None,
    commit_description: str | None = None,
    private: bool | None = None,
    token: str | bool | None = None,
    max_shard_size: int | str = "50GB",
) -> CommitInfo:
    """
    Upload a finalized pruned model, its tokenizer, model card and kept-tokens plot to the Hub in one commit.

    Also available as `model.push_to_hub(repo_id, ...)` once `transformers_top` is imported.

    Args:
        model ([`TopBertPreTrainedModel`]): a deployable model: its plan is in the config and it holds no training
            masks (call `finalize_pruning()` after training).
        repo_id (`str`): `"namespace/name"`, or `"name"` for the token owner's namespace. Created if missing.
        card_data ([`TopModelCardData`], *optional*): the run's metrics and settings for the card; without it the card
            describes the model and its plan only.
        tokenizer (*optional*): a tokenizer (anything with `save_pretrained`) uploaded with the model.
        plot (`str` or `Path`, *optional*): the kept-tokens plot referenced by the card.
        save_directory (`str` or `Path`, *optional*): an empty or new directory that keeps the uploaded files (also
            when the upload fails); by default a temporary directory is used and removed.
        commit_message, commit_description (`str`, *optional*): the commit's summary and description.
        private (`bool`, *optional*): visibility of a newly created repository.
        token (`str` or `bool`, *optional*): Hub token; defaults to the logged-in one (`HF_TOKEN`).
        max_shard_size (`int` or `str`, *optional*, defaults to `"50GB"`): passed to `save_pretrained`.

    Returns:
        `huggingface_hub.CommitInfo`: the commit (a `str` equal to its URL; `.oid` is the commit id to pin).

    Raises:
        `ValueError`: before anything is uploaded, for a model that still holds training masks, a malformed repo id,
            invalid card values, a missing plot, a non-empty `save_directory`, or a tokenizer without
            `save_pretrained`.
        `huggingface_hub.errors.HfHubHTTPError`: when the Hub refuses the upload; local files are left as they are.
    """
    _check_deployable(model)
    _check_repo_id(repo_id)
    if card_data is not None:
        if not isinstance(card_data, TopModelCardData):
            raise ValueError(f"card_data must be a TopModelCardData, got {type(card_data).__name__}")
        card_data.validate()
    if tokenizer is not None and not callable(getattr(tokenizer, "save_pretrained", None)):
        raise ValueError(f"tokenizer must have a save_pretrained method, got {type(tokenizer).__name__}")
    if save_directory is not None:
        save_directory = Path(save_directory)
        if save_directory.exists() and (not save_directory.is_dir() or any(save_directory.iterdir())):
            raise ValueError(f"save_directory must be a new or empty directory, got {str(save_directory)!r}")

    api = HfApi(token=token)
    if "/" not in repo_id:
        repo_id = f"{api.whoami()['name']}/{repo_id}"
    with _staging_folder(save_directory) as folder:
        model.save_pretrained(folder, max_shard_size=max_shard_size)
        if tokenizer is not None:
            tokenizer.save_pretrained(folder)
        save_model_card(folder, model, card_data, plot=plot, repo_id=repo_id)
        repo_url = api.create_repo(repo_id, private=private, exist_ok=True)
        operations = [
            CommitOperationAdd(path_in_repo=path.relative_to(folder).as_posix(), path_or_fileobj=path)
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        ]
        return api.create_commit(
            repo_url.repo_id,
            operations,
            commit_message=commit_message or DEFAULT_COMMIT_MESSAGE,
            commit_description=commit_description,
        )


@contextmanager
def _staging_folder(save_directory: Path | None) -> Iterator[Path]:
    """The folder the files are written to before the upload: `save_directory`, or a temporary one."""
    if save_directory is not None:
        save_directory.mkdir(parents=True, exist_ok=True)
        yield save_directory
        return
    with tempfile.TemporaryDirectory(prefix="top-push-") as folder:
        yield Path(folder)


def _check_deployable(model: TopBertPreTrainedModel) -> None:
    if not isinstance(model, TopBertPreTrainedModel):
        raise ValueError(f"model must be a TopBertPreTrainedModel, got {type(model).__name__}")
    if model.config.pruning_masks or model.base_model.token_masks is not None:
        raise ValueError(
            "the model still holds its training masks (config.pruning_masks=True): call model.finalize_pruning() "
            "first, so that the pruning plan is fixed in config.json and the mask parameters are dropped"
        )
    model.config.check_pruning_plan()


def _check_repo_id(repo_id: str) -> None:
    message = (
        f"repo_id must be 'namespace/name' or 'name' (letters, digits, '-', '_', '.'; at most 96), got {repo_id!r}"
    )
    if not is_repo_id(repo_id):
        raise ValueError(message)


__all__ = ["push_pruned_model"]
