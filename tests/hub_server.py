"""A loopback stand-in for the Hugging Face Hub HTTP API, for tests that push and load models without a network.

The real `huggingface_hub` client (and transformers through it) talks HTTP to this server when `HF_ENDPOINT` points
at it. It keeps model repositories in memory with a linear history per branch and implements what pushing and
loading use:

- `POST /api/repos/create` (409 when the repository exists), `POST /api/validate-yaml` (README front matter),
  `GET /api/whoami-v2`;
- `POST /api/models/{repo}/preupload/{rev}` (every file is a regular git blob: no LFS, no Xet) and
  `POST /api/models/{repo}/commit/{rev}` (NDJSON: a header line, then base64 `file` and `deletedFile` lines);
- `GET /api/models/{repo}[/revision/{rev}]` (`sha`, `siblings`) and `GET /api/models/{repo}/tree/{rev}[/{folder}]`;
- `HEAD`/`GET /{repo}/resolve/{rev}/{file}` with `X-Repo-Commit`, `ETag` and `Content-Length`; a missing repository,
  revision or file answers 404 with the `X-Error-Code` the client maps to its exceptions.

Writes need `Authorization: Bearer <token>` with the server's token (401 otherwise); repositories listed in
`read_only_repos` refuse uploads with 403, so a failed upload can be tested. Anything else answers 404.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import yaml

DEFAULT_USER = "test-user"
DEFAULT_TOKEN = "hf_loopback_test_token"
INITIAL_FILES = {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}

_REPO = r"(?P<repo>[^/]+/[^/]+)"
_ROUTES = [
    ("POST", re.compile(r"/api/repos/create"), "create_repo"),
    ("POST", re.compile(r"/api/validate-yaml"), "validate_yaml"),
    ("GET", re.compile(r"/api/whoami-v2"), "whoami"),
    ("POST", re.compile(rf"/api/models/{_REPO}/preupload/(?P<rev>[^/]+)"), "preupload"),
    ("POST", re.compile(rf"/api/models/{_REPO}/commit/(?P<rev>[^/]+)"), "commit"),
    ("GET", re.compile(rf"/api/models/{_REPO}(?:/revision/(?P<rev>[^/]+))?"), "model_info"),
    ("GET", re.compile(rf"/api/models/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.+))?"), "tree"),
    ("HEAD", re.compile(rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)"), "resolve"),
    ("GET", re.compile(rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)"), "resolve"),
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for a server started later in the same session)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def git_blob_oid(content: bytes) -> str:
    """The git object id of a file, as the Hub reports it for regular (non-LFS) files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Commit:
    """One commit: its id, message and the complete file tree it leaves."""

    sha: str
    message: str
    files: dict[str, bytes]


@dataclass
class Repository:
    """A model repository: commits by id and branch heads."""

    repo_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        """The commit a branch name or a full commit id points to."""
        sha = self.branches.get(revision, revision)
        return self.commits.get(sha)

    def history(self, branch: str = "main") -> list[Commit]:
        """Commits in creation order up to the branch head (the history is linear)."""
        head = self.branches[branch]
        ordered = list(self.commits.values())
        return ordered[: ordered.index(self.commits[head]) + 1]


class HubError(Exception):
    """An HTTP error answer: status, the client's `X-Error-Code`, and a message."""

    def __init__(self, status: HTTPStatus, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.error_code = status, message, error_code


class LoopbackHub:
    """
    The in-memory Hub and its HTTP server on 127.0.0.1, serving from a daemon thread.

    Args:
        port (`int`): the port to listen on (0 picks a free one).
        token (`str`): the only token accepted for writes.
        user (`str`): the namespace of repositories created without one.
    """

    def __init__(self, port: int = 0, token: str = DEFAULT_TOKEN, user: str = DEFAULT_USER) -> None:
        self.token, self.user = token, user
        self.repos: dict[str, Repository] = {}
        self.read_only_repos: set[str] = set()
        self.lock = threading.Lock()
        self._commit_counter = itertools.count()
        handler = type("BoundHandler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-hub", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- repository operations (called by the handler with the lock held) ---

    def _repo(self, repo_id: str) -> Repository:
        repo = self.repos.get(repo_id)
        if repo is None:
            raise HubError(HTTPStatus.NOT_FOUND, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def _commit_at(self, repo_id: str, revision: str) -> Commit:
        commit = self._repo(repo_id).resolve(revision)
        if commit is None:
            raise HubError(HTTPStatus.NOT_FOUND, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def _new_commit(self, repo: Repository, branch: str, message: str, files: dict[str, bytes]) -> Commit:
        digest = hashlib.sha1(f"{repo.repo_id}\0{next(self._commit_counter)}\0{message}".encode())
        for path in sorted(files):
            digest.update(path.encode() + b"\0" + files[path])
        commit = Commit(sha=digest.hexdigest(), message=message, files=files)
        repo.commits[commit.sha] = commit
        repo.branches[branch] = commit.sha
        return commit

    def create_repo(self, body: dict) -> tuple[HTTPStatus, dict]:
        name, namespace = body.get("name"), body.get("organization") or self.user
        if body.get("type", "model") != "model" or not name:
            raise HubError(HTTPStatus.BAD_REQUEST, f"only model repositories with a name are supported, got {body}")
        repo_id = f"{namespace}/{name}"
        url = {"url": f"{self.endpoint}/{repo_id}"}
        if repo_id in self.repos:
            return HTTPStatus.CONFLICT, {**url, "error": "You already created this model repo"}
        repo = self.repos[repo_id] = Repository(repo_id)
        self._new_commit(repo, "main", "initial commit", dict(INITIAL_FILES))
        return HTTPStatus.OK, url

    def _check_writable(self, repo_id: str) -> None:
        if repo_id in self.read_only_repos:
            raise HubError(HTTPStatus.FORBIDDEN, f"You don't have the rights to create a commit in {repo_id}")

    def preupload(self, repo_id: str, revision: str, body: dict) -> dict:
        self._check_writable(repo_id)
        files = self._commit_at(repo_id, revision).files
        return {
            "files": [
                {
                    "path": entry["path"],
                    "uploadMode": "regular",
                    "shouldIgnore": False,
                    "oid": git_blob_oid(files[entry["path"]]) if entry["path"] in files else None,
                }
                for entry in body["files"]
            ]
        }

    def commit(self, repo_id: str, revision: str, lines: list[dict], create_pr: bool = False) -> dict:
        repo = self._repo(repo_id)
        self._check_writable(repo_id)
        if revision not in repo.branches:
            raise HubError(HTTPStatus.NOT_FOUND, f"Invalid rev id: {revision}", "RevisionNotFound")
        pull_request = None
        if create_pr:  # the commit goes to a new branch refs/pr/N, opened from `revision`
            pull_request = 1 + sum(branch.startswith("refs/pr/") for branch in repo.branches)
            branch = f"refs/pr/{pull_request}"
            repo.branches[branch] = repo.branches[revision]
            revision = branch
        header, operations = lines[0], lines[1:]
        if header.get("key") != "header":
            raise HubError(HTTPStatus.BAD_REQUEST, "the first NDJSON line must be the commit header")
        files = dict(repo.resolve(revision).files)
        for operation in operations:
            key, value = operation["key"], operation["value"]
            if key == "file" and value.get("encoding") == "base64":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile" and value["path"] in files:
                del files[value["path"]]
            else:
                raise HubError(HTTPStatus.BAD_REQUEST, f"unsupported commit operation {key}: {value.get('path')}")
        commit = self._new_commit(repo, revision, header["value"]["summary"], files)
        return {
            "commitUrl": f"{self.endpoint}/{repo_id}/commit/{commit.sha}",
            "commitOid": commit.sha,
            "pullRequestUrl": None
            if pull_request is None
            else f"{self.endpoint}/{repo_id}/discussions/{pull_request}",
        }

    def model_info(self, repo_id: str, revision: str | None) -> dict:
        commit = self._commit_at(repo_id, revision or "main")
        return {
            "id": repo_id,
            "modelId": repo_id,
            "author": repo_id.split("/")[0],
            "sha": commit.sha,
            "private": False,
            "siblings": [{"rfilename": path} for path in sorted(commit.files)],
        }

    def tree(self, repo_id: str, revision: str, folder: str | None, recursive: bool) -> list[dict]:
        files = self._commit_at(repo_id, revision).files
        prefix = f"{folder.strip('/')}/" if folder else ""
        paths = [path for path in sorted(files) if path.startswith(prefix)]
        if folder and not paths:
            raise HubError(HTTPStatus.NOT_FOUND, f"{folder} does not exist on {revision}", "EntryNotFound")
        entries, folders = [], set()
        for path in paths:
            relative = path[len(prefix) :]
            if "/" in relative and not recursive:
                folders.add(prefix + relative.split("/")[0])
                continue
            content = files[path]
            entries.append({"type": "file", "path": path, "size": len(content), "oid": git_blob_oid(content)})
        return [
            {"type": "directory", "path": path, "oid": git_blob_oid(path.encode())} for path in sorted(folders)
        ] + entries

    def resolve_file(self, repo_id: str, revision: str, path: str) -> tuple[Commit, bytes]:
        commit = self._commit_at(repo_id, revision)
        if path not in commit.files:
            raise HubError(HTTPStatus.NOT_FOUND, f"Entry not found: {path}", "EntryNotFound")
        return commit, commit.files[path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: LoopbackHub

    def log_message(self, format: str, *args) -> None:
        """Silent: pytest output stays clean."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        for route_method, pattern, name in _ROUTES:
            match = pattern.fullmatch(url.path)
            if route_method == method and match:
                params = {key: unquote(value) for key, value in match.groupdict().items() if value is not None}
                try:
                    with self.hub.lock:
                        getattr(self, f"_{name}")(body, url.query, **params)
                except HubError as error:
                    self._send_json(error.status, {"error": error.message}, error_code=error.error_code)
                return
        self._send_json(HTTPStatus.NOT_FOUND, {"error": f"not served by the loopback hub: {method} {url.path}"})

    def _check_token(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {self.hub.token}":
            raise HubError(HTTPStatus.UNAUTHORIZED, "Invalid credentials in Authorization header")

    def _send_json(self, status: HTTPStatus, payload, error_code: str | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_code is not None:
            self.send_header("X-Error-Code", error_code)
            self.send_header("X-Error-Message", payload["error"])
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _create_repo(self, body: bytes, query: str) -> None:
        self._check_token()
        self._send_json(*self.hub.create_repo(json.loads(body)))

    def _whoami(self, body: bytes, query: str) -> None:
        self._check_token()
        self._send_json(HTTPStatus.OK, {"type": "user", "name": self.hub.user})

    def _validate_yaml(self, body: bytes, query: str) -> None:
        content = json.loads(body)["content"]
        front_matter = re.match(r"^---\n(.*?)\n---\n", content, flags=re.DOTALL)
        try:
            metadata = yaml.safe_load(front_matter.group(1)) if front_matter else {}
        except yaml.YAMLError as error:
            self._send_json(HTTPStatus.BAD_REQUEST, {"errors": [{"message": f"invalid YAML: {error}"}]})
            return
        if not isinstance(metadata, dict):
            self._send_json(HTTPStatus.BAD_REQUEST, {"errors": [{"message": "metadata must be a YAML mapping"}]})
            return
        self._send_json(HTTPStatus.OK, {"errors": [], "warnings": []})

    def _preupload(self, body: bytes, query: str, repo: str, rev: str) -> None:
        self._check_token()
        self._send_json(HTTPStatus.OK, self.hub.preupload(repo, rev, json.loads(body)))

    def _commit(self, body: bytes, query: str, repo: str, rev: str) -> None:
        self._check_token()
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        create_pr = "create_pr=1" in query.split("&")
        self._send_json(HTTPStatus.OK, self.hub.commit(repo, rev, lines, create_pr=create_pr))

    def _model_info(self, body: bytes, query: str, repo: str, rev: str | None = None) -> None:
        self._send_json(HTTPStatus.OK, self.hub.model_info(repo, rev))

    def _tree(self, body: bytes, query: str, repo: str, rev: str, path: str | None = None) -> None:
        recursive = "recursive=true" in query.lower() or "recursive=1" in query
        self._send_json(HTTPStatus.OK, self.hub.tree(repo, rev, path, recursive))

    def _resolve(self, body: bytes, query: str, repo: str, rev: str, path: str) -> None:
        commit, content = self.hub.resolve_file(repo, rev, path)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("ETag", f'"{git_blob_oid(content)}"')
        self.send_header("X-Repo-Commit", commit.sha)
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(content)
