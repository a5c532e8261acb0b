"""Sharing pruned models on the Hugging Face Hub, with their ToP model card.

transformers' own `model.push_to_hub` writes a generic card (or keeps the one already in the repository), and
transformers has no hook to give a model class its own card. So the card-writing upload is an explicit function:
[`push_pruned_model`] saves the model (weights, `config.json` with the pruning plan and `auto_map`, the Hub-portable
code files), the tokenizer, the ToP model card and its kept-tokens plot into one folder and uploads it as a single
commit; [`save_pruned_model`] does the same for a folder you save into. The models' own `save_pretrained` and
`push_to_hub` are transformers', with or without the plugin (a model loaded as remote code is the same class).
`TopTrainer.push_to_hub` writes the ToP card too.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from huggingface_hub import CommitInfo, CommitOperationAdd, HfApi

from ..models.pruned_encoder import TokenPruningPreTrainedMixin
from .model_card import TopModelCardData, save_model_card
from .repo_ids import check_repo_id

DEFAULT_COMMIT_MESSAGE = "Upload ToP token-pruned model (transformers-top)"
#: Where a model's ONNX exports go in its repository.
ONNX_FOLDER = "onnx"


def push_pruned_model(
    model: TokenPruningPreTrainedMixin,
    repo_id: str,
    *,
    card_data: TopModelCardData | None = None,
    tokenizer=None,
    plot: str | Path | None = None,
    save_directory: str | Path | None = None,
    onnx_exports: Sequence[str | Path] = (),
    commit_message: str | None = None,
    commit_description: str | None = None,
    private: bool | None = None,
    token: str | bool | None = None,
    max_shard_size: int | str = "50GB",
) -> CommitInfo:
    """
    Upload a finalized pruned model, its tokenizer, model card and kept-tokens plot to the Hub in one commit.

    Args:
        model ([`TopBertForSequenceClassification`] or another ToP model): a deployable model: its plan is in the
            config and it holds no training masks (call `finalize_pruning()` after training).
        repo_id (`str`): `"namespace/name"`, or `"name"` for the token owner's namespace. Created if missing.
        card_data ([`TopModelCardData`], *optional*): the run's metrics and settings for the card; without it the card
            describes the model and its plan only.
        tokenizer (*optional*): a tokenizer (anything with `save_pretrained`) uploaded with the model.
        plot (`str` or `Path`, *optional*): the kept-tokens plot referenced by the card.
        onnx_exports (`Sequence[str | Path]`, *optional*): folders written by `transformers_top.onnx.export_onnx` from
            this model (e.g. float32 and int8); their files are uploaded in the same commit under `onnx/`, where
            `TopOnnxModelForSequenceClassification.from_pretrained(repo_id, subfolder="onnx")` finds them, and the card
            lists them (with `card_data.onnx_latency_ms`, their measured latency).
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
            invalid card values, a missing plot, a non-empty `save_directory`, an ONNX export of another plan, model
            type or label count, or a tokenizer without `save_pretrained`.
        `huggingface_hub.errors.HfHubHTTPError`: when the Hub refuses the upload; local files are left as they are.
    """
    _check_deployable(model)
    check_repo_id(repo_id)
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
    onnx_files = _check_onnx_exports(model, onnx_exports)

    api = HfApi(token=token)
    repo_id = _full_repo_id(api, repo_id)
    with _staging_folder(save_directory) as folder:
        model.save_pretrained(folder, max_shard_size=max_shard_size)
        if tokenizer is not None:
            tokenizer.save_pretrained(folder)
        if onnx_files:
            model.config.save_pretrained(folder / ONNX_FOLDER)  # `architectures` names the head since the save above
        for source in onnx_files.values():
            shutil.copyfile(source, folder / ONNX_FOLDER / source.name)
        save_model_card(folder, model, card_data, plot=plot, repo_id=repo_id, onnx_files=sorted(onnx_files))
        return _upload_folder(api, folder, repo_id, private, commit_message, commit_description)


def save_pruned_model(
    model: TokenPruningPreTrainedMixin,
    save_directory: str | Path,
    *args,
    push_to_hub: bool = False,
    repo_id: str | None = None,
    commit_message: str | None = None,
    commit_description: str | None = None,
    private: bool | None = None,
    token: str | bool | None = None,
    create_pr: bool = False,
    **kwargs,
) -> CommitInfo | None:
    """
    `model.save_pretrained(save_directory)`, and with `push_to_hub=True` an upload of that folder with the ToP model
    card instead of transformers' generic one.

    With `push_to_hub=True` the model is saved in `save_directory`, which then gets the ToP card (a `README.md`
    already there, e.g. the one `TopTrainer` wrote with the run's metrics, is kept) and is uploaded in one commit.

    Args:
        model: a ToP model; to push, a deployable one (see [`push_pruned_model`]).
        save_directory (`str` or `Path`): where the model is saved.
        push_to_hub (`bool`, *optional*, defaults to `False`): upload `save_directory` afterwards.
        repo_id (`str`, *optional*): the repository (default: the name of `save_directory`, as in transformers).
        commit_message, commit_description, private, token: as in [`push_pruned_model`].
        create_pr (`bool`, *optional*, defaults to `False`): open a pull request instead of committing to `main`.
        args, kwargs: passed to transformers' `save_pretrained` (`max_shard_size`, `state_dict`, ...).

    Returns:
        `huggingface_hub.CommitInfo` of the upload with `push_to_hub=True`, else `None`.

    Raises:
        `ValueError`: before anything is saved, when pushing a model that still holds training masks or with a
            malformed repo id.
    """
    if not isinstance(create_pr, bool):
        raise ValueError(f"create_pr must be True or False, got {create_pr!r}")
    if not push_to_hub:
        return model.save_pretrained(save_directory, *args, token=token, **kwargs)
    repo_id = repo_id or Path(save_directory).name
    _check_deployable(model)
    check_repo_id(repo_id)
    api = HfApi(token=token)
    repo_id = _full_repo_id(api, repo_id)
    model.save_pretrained(save_directory, *args, token=token, **kwargs)
    folder = Path(save_directory)
    if not (folder / "README.md").is_file():
        save_model_card(folder, model, repo_id=repo_id)
    return _upload_folder(api, folder, repo_id, private, commit_message, commit_description, create_pr=create_pr)


def _check_onnx_exports(model: TokenPruningPreTrainedMixin, exports: Sequence[str | Path]) -> dict[str, Path]:
    """
    The files of `exports` by their path in the repository (`onnx/...`), but their `config.json`: every export must be
    of `model`'s plan, type and labels, so `onnx/config.json` is the model's own configuration (exports taken at other
    times may differ in fields the graph does not depend on, such as the `problem_type` a training loss set). Two
    exports may otherwise share only identical files (their tokenizer).
    """
    if isinstance(exports, (str, Path)):
        raise ValueError("onnx_exports must be a list of folders, got a single path: wrap it in a list")
    files: dict[str, Path] = {}
    for export in map(Path, exports):
        if not (export / "config.json").is_file() or not any(export.glob("*.onnx")):
            raise ValueError(f"{str(export)!r} is not a folder written by export_onnx (config.json and a .onnx file)")
        exported = json.loads((export / "config.json").read_text())
        if any(exported.get(key) != value for key, value in model.config.plan_dict().items()):
            raise ValueError(f"the ONNX export in {str(export)!r} is of another plan than the model")
        if exported.get("model_type") != model.config.model_type:
            raise ValueError(
                f"the ONNX export in {str(export)!r} is of model_type={exported.get('model_type')!r}, the model "
                f"{model.config.model_type!r}"
            )
        num_labels = type(model.config).from_dict(exported).num_labels
        if num_labels != model.config.num_labels:
            raise ValueError(
                f"the ONNX export in {str(export)!r} has num_labels={num_labels}, the model {model.config.num_labels}"
            )
        for path in sorted(export.iterdir()):
            name = f"{ONNX_FOLDER}/{path.name}"
            if path.name == "config.json":
                continue
            if path.is_file() and name in files and files[name].read_bytes() != path.read_bytes():
                raise ValueError(f"two ONNX exports hold different files named {path.name!r}")
            if path.is_file():
                files[name] = path
    return files


def _full_repo_id(api: HfApi, repo_id: str) -> str:
    """`repo_id` with the token owner's namespace when it has none."""
    return repo_id if "/" in repo_id else f"{api.whoami()['name']}/{repo_id}"


def _upload_folder(
    api: HfApi,
    folder: Path,
    repo_id: str,
    private: bool | None,
    commit_message: str | None,
    commit_description: str | None,
    create_pr: bool = False,
) -> CommitInfo:
    """Create the repository if needed and upload every file of `folder` in one commit."""
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
        create_pr=create_pr,
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


def _check_deployable(model: TokenPruningPreTrainedMixin) -> None:
    if not isinstance(model, TokenPruningPreTrainedMixin):
        raise ValueError(
            f"model must be a ToP model (e.g. TopBertForSequenceClassification), got {type(model).__name__}"
        )
    if model.config.pruning_masks or model.base_model.token_masks is not None:
        raise ValueError(
            "the model still holds its training masks (config.pruning_masks=True): call model.finalize_pruning() "
            "first, so that the pruning plan is fixed in config.json and the mask parameters are dropped"
        )
    model.config.check_pruning_plan()


__all__ = ["push_pruned_model", "save_pruned_model"]
