"""Hosted dataset repos: the minimal API huggingface_hub uses to create a dataset repo, commit to
it and download from it (publishing round trips, offline). Repos live in memory and are not rate
limited; `HubEmulator` mixes `RepoHosting` in."""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import yaml
from aiohttp import web

from hf_croissant_assets_tests.hub_emulator.config import NAMESPACE_RE, EmulatorConfig
from hf_croissant_assets_tests.hub_emulator.responses import (
    decode_cursor,
    encode_cursor,
    hub_error,
)
from hf_croissant_assets_tests.hub_emulator.timestamps import now_iso

DEFAULT_GITATTRIBUTES = (
    b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    b"*.arrow filter=lfs diff=lfs merge=lfs -text\n"
    b"*.zst filter=lfs diff=lfs merge=lfs -text\n"
)
_REPO_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_COMMIT_OID_RE = re.compile(r"^[0-9a-f]{40}$")


def git_blob_oid(data: bytes) -> str:
    """The git blob id of `data` (what the Hub reports as a regular file's `oid` / ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class _Commit:
    oid: str
    parent: str | None
    title: str
    message: str
    date: str
    author: str
    files: dict[str, str]  # path -> blob oid (the whole tree at this commit)


@dataclass
class _HostedRepo:
    repo_id: str
    private: bool
    created_at: str
    commits: list[_Commit] = field(default_factory=list)

    @property
    def head(self) -> _Commit:
        return self.commits[-1]

    def resolve(self, revision: str) -> _Commit | None:
        if revision in ("main", "refs/heads/main"):
            return self.head
        if _COMMIT_OID_RE.match(revision):
            for commit in reversed(self.commits):
                if commit.oid == revision:
                    return commit
        return None


class _AuthError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class RepoHosting:
    """Dataset repos hosted by the emulator (mixed into `HubEmulator`, which provides `config`,
    `_lock`, `_stats` with a "repo" entry (`empty_repo_stats`) and `dataset(id)`).

    Endpoints (what `HfApi(endpoint=..., token=...)` calls): `GET /api/whoami-v2`,
    `POST /api/repos/create`, `DELETE /api/repos/delete`, `POST /api/validate-yaml`,
    `GET /api/datasets/{id}[/revision/{rev}]` (repo info of a hosted repo),
    `GET /api/datasets/{id}/tree/{rev}[/{path}]`, `POST /api/datasets/{id}/paths-info/{rev}`,
    `GET /api/datasets/{id}/commits/{rev}`, `POST /api/datasets/{id}/preupload/{rev}` (every file
    is "regular": no LFS / Xet), `POST /api/datasets/{id}/commit/{rev}` (NDJSON: header, file,
    deletedFile, deletedFolder) and `GET|HEAD /datasets/{id}/resolve/{rev}/{path}`.

    Auth: `write_tokens` may write to `token_user`'s namespace and `token_orgs`; `read_tokens`
    get 403 on any write (like a read-scoped token on the Hub); anonymous requests may read
    public repos. Hosted repos are not in the `/api/datasets` listing (the synthetic catalogue
    stays the ground truth).
    """

    config: EmulatorConfig
    _lock: threading.RLock
    _stats: dict[str, Any]

    def _init_repos(self) -> None:
        """No hosted repos yet (the host's __init__ calls this)."""
        #: repo id -> repo, blob oid -> bytes
        self._repos: dict[str, _HostedRepo] = {}
        self._blobs: dict[str, bytes] = {}
        self.repo_log: collections.deque[tuple[float, str, str, int]] = collections.deque(
            maxlen=10_000
        )

    # -- inspection (tests) -------------------------------------------------------------------
    def repo_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._repos)

    def repo_files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """path -> content of a hosted repo at `revision`; KeyError if there is no such repo."""
        with self._lock:
            commit = self._repos[repo_id].resolve(revision)
            if commit is None:
                raise KeyError(f"{repo_id}: no revision {revision!r}")
            return {path: self._blobs[oid] for path, oid in sorted(commit.files.items())}

    def repo_commits(self, repo_id: str) -> list[dict[str, Any]]:
        """Commits of a hosted repo, oldest first."""
        with self._lock:
            return [
                {"oid": c.oid, "title": c.title, "date": c.date, "files": len(c.files)}
                for c in self._repos[repo_id].commits
            ]

    # -- auth ----------------------------------------------------------------------------------
    @staticmethod
    def _bearer(request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        return auth[7:].strip() or None if auth.startswith("Bearer ") else None

    def _role(self, request: web.Request) -> str | None:
        """ "write", "read", None (anonymous); unknown tokens are refused (401) like the Hub."""
        token = self._bearer(request)
        if token is None:
            return None
        if token in self.config.write_tokens:
            return "write"
        if token in self.config.read_tokens or token in self.config.accepted_tokens:
            return "read"
        raise _AuthError(401, "Invalid credentials in Authorization header")

    def _namespaces(self) -> set[str]:
        return {self.config.token_user, *self.config.token_orgs}

    def _require_write(self, request: web.Request, namespace: str, what: str) -> None:
        role = self._role(request)
        if role is None:
            raise _AuthError(401, f"You must be authenticated to {what}")
        if role != "write":
            raise _AuthError(
                403,
                f"You don't have the rights to {what}: your token is read-only "
                "(a token with the write role is needed)",
            )
        if namespace not in self._namespaces():
            raise _AuthError(
                403, f"You don't have the rights to {what}: no write access to {namespace!r}"
            )

    def _readable(self, request: web.Request, repo_id: str) -> _HostedRepo:
        role = self._role(request)
        repo = self._repos.get(repo_id)
        namespace = repo_id.partition("/")[0]
        if repo is None or (repo.private and (role is None or namespace not in self._namespaces())):
            raise _AuthError(404, "Repository not found", "RepoNotFound")
        return repo

    def _repo_counted(self, kind: str, inner):
        async def handler(request: web.Request) -> web.StreamResponse:
            status = 0
            try:
                try:
                    resp = await inner(request)
                except _AuthError as exc:
                    resp = hub_error(exc.status, exc.message, exc.code)
                status = resp.status
                return resp
            finally:
                with self._lock:
                    rs = self._stats["repo"]
                    rs["requests"] += 1
                    if kind in ("whoami", "preuploads"):
                        rs[kind] += 1
                    if status in (401, 403):
                        rs["refused"] += 1
                    self.repo_log.append((time.time(), request.method, request.path_qs, status))

        return handler

    def add_repo_routes(self, r: web.UrlDispatcher) -> None:
        c = self._repo_counted
        r.add_get("/api/whoami-v2", c("whoami", self._whoami))
        r.add_post("/api/repos/create", c("create", self._create_repo))
        r.add_route("DELETE", "/api/repos/delete", c("delete", self._delete_repo))
        r.add_post("/api/validate-yaml", c("validate", self._validate_yaml))
        base = "/api/datasets/{namespace}/{name}"
        r.add_get(base + "/revision/{revision}", c("info", self._repo_info))
        r.add_get(base + "/tree/{revision}", c("tree", self._tree))
        r.add_get(base + "/tree/{revision}/{path:.+}", c("tree", self._tree))
        r.add_post(base + "/paths-info/{revision}", c("paths-info", self._paths_info))
        r.add_get(base + "/commits/{revision}", c("commits", self._commits))
        r.add_post(base + "/preupload/{revision}", c("preuploads", self._preupload))
        r.add_post(base + "/commit/{revision}", c("commit", self._commit))
        resolve = c("resolve", self._resolve)
        r.add_route("GET", "/datasets/{namespace}/{name}/resolve/{revision}/{path:.+}", resolve)
        r.add_route("HEAD", "/datasets/{namespace}/{name}/resolve/{revision}/{path:.+}", resolve)
        r.add_get("/_emulator/repos", self._admin_repos)

    def is_hosted(self, repo_id: str) -> bool:
        with self._lock:
            return repo_id in self._repos

    def hosted_info_handler(self):
        """`GET /api/datasets/{id}` of a hosted repo (the info route dispatches here)."""
        return self._repo_counted("info", self._repo_info)

    # -- handlers --------------------------------------------------------------------------------
    async def _whoami(self, request: web.Request) -> web.Response:
        role = self._role(request)
        if role is None:
            raise _AuthError(401, "Invalid credentials in Authorization header")
        c = self.config
        user_id = hashlib.sha1(c.token_user.encode()).hexdigest()[:24]
        return web.json_response(
            {
                "type": "user",
                "id": user_id,
                "name": c.token_user,
                "fullname": c.token_user,
                "isPro": False,
                "canPay": False,
                "emailVerified": True,
                "orgs": [
                    {
                        "type": "org",
                        "id": hashlib.sha1(o.encode()).hexdigest()[:24],
                        "name": o,
                        "fullname": o,
                        "roleInOrg": "write",
                    }
                    for o in c.token_orgs
                ],
                "auth": {
                    "type": "access_token",
                    "accessToken": {
                        "displayName": f"emulator-{role}",
                        "role": role,
                        "createdAt": "2026-01-01T00:00:00.000Z",
                    },
                },
            }
        )

    async def _create_repo(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return hub_error(400, "body must be JSON")
        name = body.get("name")
        namespace = body.get("organization") or self.config.token_user
        repo_type = body.get("type") or "model"
        if not isinstance(name, str) or not _REPO_NAME_RE.match(name) or ".." in name:
            return hub_error(400, f"invalid repo name {name!r}")
        if not isinstance(namespace, str) or not NAMESPACE_RE.match(namespace):
            return hub_error(400, f"invalid namespace {namespace!r}")
        self._require_write(request, namespace, f"create a {repo_type} under {namespace!r}")
        if repo_type != "dataset":
            return hub_error(400, "the emulator hosts dataset repos only")
        repo_id = f"{namespace}/{name}"
        url = f"{request.url.origin()}/datasets/{repo_id}"
        with self._lock:
            if repo_id in self._repos or self.dataset(repo_id) is not None:  # type: ignore[attr-defined]
                return web.json_response(
                    {"error": "You already created this dataset repo", "url": url}, status=409
                )
            visibility = body.get("visibility")
            private = bool(body.get("private")) or visibility == "private"
            repo = _HostedRepo(repo_id, private=private, created_at=now_iso())
            self._apply_commit(
                repo,
                "initial commit",
                "",
                [("file", ".gitattributes", DEFAULT_GITATTRIBUTES)],
                count=False,
            )
            self._repos[repo_id] = repo
            self._stats["repo"]["repos_created"] += 1
        return web.json_response({"url": url, "name": repo_id, "id": repo.head.oid[:24]})

    async def _delete_repo(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return hub_error(400, "body must be JSON")
        namespace = body.get("organization") or self.config.token_user
        repo_id = f"{namespace}/{body.get('name')}"
        self._require_write(request, namespace, f"delete {repo_id}")
        with self._lock:
            if self._repos.pop(repo_id, None) is None:
                return hub_error(404, "Repository not found", "RepoNotFound")
        return web.json_response({"ok": True})

    async def _validate_yaml(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            content = body["content"]
        except (ValueError, KeyError, TypeError):
            return hub_error(400, "body must be JSON with `content`")
        errors = []
        try:
            _front_matter(content)
        except ValueError as exc:
            errors.append({"message": str(exc)})
        return web.json_response({"errors": errors, "warnings": []}, status=400 if errors else 200)

    @staticmethod
    def _repo_id(request: web.Request) -> str:
        mi = request.match_info
        return f"{mi['namespace']}/{mi['name']}"

    def _commit_at(self, request: web.Request) -> tuple[_HostedRepo, _Commit]:
        repo = self._readable(request, self._repo_id(request))
        revision = request.match_info.get("revision", "main")
        commit = repo.resolve(revision)
        if commit is None:
            raise _AuthError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo, commit

    async def _repo_info(self, request: web.Request) -> web.Response:
        with self._lock:
            repo, commit = self._commit_at(request)
            siblings = [
                {"rfilename": p, "size": len(self._blobs[o]), "blobId": o}
                for p, o in sorted(commit.files.items())
            ]
            used = sum(len(self._blobs[o]) for o in set(commit.files.values()))
            readme = self._blobs.get(commit.files.get("README.md", ""), b"")
        try:
            card = _front_matter(readme.decode("utf-8", "replace")) if readme else None
        except ValueError:
            card = None
        namespace = repo.repo_id.partition("/")[0]
        return web.json_response(
            {
                "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
                "id": repo.repo_id,
                "author": namespace,
                "sha": commit.oid,
                "createdAt": repo.created_at,
                "lastModified": commit.date,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "cardData": card,
                "siblings": siblings,
                "usedStorage": used,
            }
        )

    def _entries(self, commit: _Commit, prefix: str, recursive: bool) -> list[dict[str, Any]]:
        """Tree entries under `prefix` ("" = root): files and folders, folders first."""
        base = prefix.strip("/")
        lead = base + "/" if base else ""
        files: list[dict[str, Any]] = []
        folders: dict[str, list[str]] = {}
        for path, oid in sorted(commit.files.items()):
            if not path.startswith(lead):
                continue
            rest = path[len(lead) :]
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                if depth > 1 and not recursive:
                    break
                folders.setdefault(lead + "/".join(parts[:depth]), []).append(oid)
            if recursive or len(parts) == 1:
                files.append(
                    {"type": "file", "oid": oid, "size": len(self._blobs[oid]), "path": path}
                )
        dirs = [
            {
                "type": "directory",
                "oid": hashlib.sha1("".join(oids).encode()).hexdigest(),
                "size": 0,
                "path": path,
            }
            for path, oids in sorted(folders.items())
        ]
        return dirs + files

    async def _tree(self, request: web.Request) -> web.Response:
        path = request.match_info.get("path", "").strip("/")
        recursive = request.query.get("recursive", "").lower() in ("1", "true")
        with self._lock:
            _, commit = self._commit_at(request)
            if (
                path
                and path not in commit.files
                and not any(p.startswith(path + "/") for p in commit.files)
            ):
                raise _AuthError(404, f"{path} does not exist on the revision", "EntryNotFound")
            entries = self._entries(commit, path, recursive)
        start = 0
        cursor = request.query.get("cursor")
        if cursor is not None:
            last = decode_cursor(cursor)
            if last is None:
                return hub_error(400, f"invalid cursor: {cursor!r}")
            start = last + 1
        size = self.config.tree_page_size
        page = entries[start : start + size]
        resp = web.json_response(page)
        if start + size < len(entries):
            params = [(k, v) for k, v in request.query.items() if k != "cursor"]
            params.append(("cursor", encode_cursor(start + size - 1)))
            resp.headers["Link"] = (
                f'<{request.url.origin()}{request.path}?{urlencode(params)}>; rel="next"'
            )
        return resp

    async def _paths_info(self, request: web.Request) -> web.Response:
        form = await request.post()
        paths = [str(p).strip("/") for p in form.getall("paths", [])]
        with self._lock:
            _, commit = self._commit_at(request)
            out = []
            for path in paths:
                if path in commit.files:
                    oid = commit.files[path]
                    out.append(
                        {"type": "file", "oid": oid, "size": len(self._blobs[oid]), "path": path}
                    )
                elif any(p.startswith(path + "/") for p in commit.files):
                    oid = hashlib.sha1(path.encode() + commit.oid.encode()).hexdigest()
                    out.append({"type": "directory", "oid": oid, "size": 0, "path": path})
        return web.json_response(out)

    async def _commits(self, request: web.Request) -> web.Response:
        with self._lock:
            repo, commit = self._commit_at(request)
            chain = []
            by_oid = {c.oid: c for c in repo.commits}
            at: _Commit | None = commit
            while at is not None:
                chain.append(
                    {
                        "id": at.oid,
                        "title": at.title,
                        "message": at.message,
                        "date": at.date,
                        "authors": [{"user": at.author}],
                    }
                )
                at = by_oid.get(at.parent) if at.parent else None
        return web.json_response(chain)

    async def _preupload(self, request: web.Request) -> web.Response:
        repo_id = self._repo_id(request)
        self._require_write(request, repo_id.partition("/")[0], f"upload to {repo_id}")
        try:
            body = await request.json()
            files = body["files"]
            if not isinstance(files, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return hub_error(400, "body must be JSON with a `files` list")
        with self._lock:
            _, commit = self._commit_at(request)
            out = []
            for f in files:
                path = str(f.get("path", "")) if isinstance(f, dict) else ""
                out.append(
                    {
                        "path": path,
                        "uploadMode": "regular",  # no LFS / Xet in the emulator
                        "shouldIgnore": False,
                        "oid": commit.files.get(path),
                    }
                )
        return web.json_response({"files": out, "commitOid": commit.oid})

    async def _commit(self, request: web.Request) -> web.Response:
        repo_id = self._repo_id(request)
        self._require_write(request, repo_id.partition("/")[0], f"commit to {repo_id}")
        if request.query.get("create_pr") in ("1", "true"):
            return hub_error(400, "the emulator does not support pull requests")
        revision = request.match_info["revision"]
        if revision not in ("main", "refs/heads/main"):
            return hub_error(400, f"the emulator commits to main only, not {revision!r}")
        raw = await request.read()
        header: dict[str, Any] | None = None
        ops: list[tuple[str, str, bytes | None]] = []
        try:
            for line in raw.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key == "header":
                    header = value
                elif key == "file":
                    if value.get("encoding", "base64") != "base64":
                        raise ValueError(f"unsupported encoding {value.get('encoding')!r}")
                    content = base64.b64decode(value["content"], validate=True)
                    ops.append(("file", _clean_repo_path(value["path"]), content))
                elif key in ("deletedFile", "deletedFolder"):
                    ops.append((key, _clean_repo_path(value["path"]), None))
                elif key == "lfsFile":
                    raise ValueError(
                        f"{value.get('path')}: LFS pointer to an object that was never uploaded "
                        "(the emulator answers uploadMode=regular to every file)"
                    )
                else:
                    raise ValueError(f"unknown commit operation {key!r}")
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            return hub_error(400, f"bad commit payload: {exc}")
        if header is None or not str(header.get("summary", "")).strip():
            return hub_error(400, "bad commit payload: a header with a summary is required")
        with self._lock:
            repo = self._readable(request, repo_id)
            parent = header.get("parentCommit")
            if parent and not repo.head.oid.startswith(str(parent)):
                return hub_error(
                    412, f"parentCommit {parent} is not the head of main ({repo.head.oid})"
                )
            try:
                commit = self._apply_commit(
                    repo, str(header["summary"]), str(header.get("description") or ""), ops
                )
            except KeyError as exc:
                return hub_error(404, str(exc.args[0]), "EntryNotFound")
        url = f"{request.url.origin()}/datasets/{repo_id}/commit/{commit.oid}"
        return web.json_response(
            {"success": True, "commitOid": commit.oid, "commitUrl": url, "pullRequestUrl": None}
        )

    def _apply_commit(
        self,
        repo: _HostedRepo,
        title: str,
        message: str,
        ops: list[tuple[str, str, bytes | None]],
        count: bool = True,
    ) -> _Commit:
        """Apply operations in order on a copy of the head tree; all or nothing (lock held)."""
        files = dict(repo.head.files) if repo.commits else {}
        written = deleted = nbytes = 0
        new_blobs: dict[str, bytes] = {}
        for kind, path, content in ops:
            if kind == "file":
                assert content is not None
                oid = git_blob_oid(content)
                new_blobs[oid] = content
                files[path] = oid
                written += 1
                nbytes += len(content)
            elif kind == "deletedFile":
                if path not in files:
                    raise KeyError(f"A file with this name doesn't exist: {path}")
                del files[path]
                deleted += 1
            else:  # deletedFolder
                under = [p for p in files if p.startswith(path.rstrip("/") + "/")]
                if not under:
                    raise KeyError(f"A folder with this name doesn't exist: {path}")
                for p in under:
                    del files[p]
                deleted += len(under)
        self._blobs.update(new_blobs)
        parent = repo.head.oid if repo.commits else None
        date = now_iso()
        seed = json.dumps([parent, title, date, len(repo.commits), sorted(files.items())])
        commit = _Commit(
            oid=hashlib.sha1(seed.encode()).hexdigest(),
            parent=parent,
            title=title,
            message=message,
            date=date,
            author=self.config.token_user,
            files=files,
        )
        repo.commits.append(commit)
        if count:
            rs = self._stats["repo"]
            rs["commits"] += 1
            rs["files_written"] += written
            rs["bytes_written"] += nbytes
            rs["files_deleted"] += deleted
        return commit

    async def _resolve(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        with self._lock:
            _, commit = self._commit_at(request)
            oid = commit.files.get(path)
            data = self._blobs[oid] if oid is not None else None
        if data is None:
            return hub_error(
                404, "Entry not found", "EntryNotFound", headers={"X-Repo-Commit": commit.oid}
            )
        headers = {
            "ETag": f'"{oid}"',
            "X-Repo-Commit": commit.oid,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        body, status = data, 200
        rng = request.headers.get("Range", "")
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
        if m:
            first = int(m.group(1))
            last = int(m.group(2)) if m.group(2) else len(data) - 1
            if first >= len(data) or last < first:
                return hub_error(416, "Range Not Satisfiable")
            body, status = data[first : last + 1], 206
            headers["Content-Range"] = f"bytes {first}-{first + len(body) - 1}/{len(data)}"
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return web.Response(status=status, headers=headers)
        with self._lock:
            rs = self._stats["repo"]
            rs["downloads"] += 1
            rs["bytes_downloaded"] += len(body)
        return web.Response(status=status, body=body, headers=headers)

    async def _admin_repos(self, request: web.Request) -> web.Response:
        with self._lock:
            out = {
                repo_id: {
                    "private": repo.private,
                    "head": repo.head.oid,
                    "commits": len(repo.commits),
                    "files": {p: len(self._blobs[o]) for p, o in sorted(repo.head.files.items())},
                }
                for repo_id, repo in sorted(self._repos.items())
            }
        return web.json_response(out)


def _clean_repo_path(path: Any) -> str:
    """A repo path as committed: relative, no `..`, no `.git/`; else ValueError."""
    if not isinstance(path, str) or not path.strip("/"):
        raise ValueError(f"bad path {path!r}")
    clean = path.strip("/") if path.endswith("/") else path
    parts = clean.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or parts[0] == ".git":
        raise ValueError(f"bad path {path!r}")
    return clean


def _front_matter(text: str) -> dict[str, Any] | None:
    """The YAML metadata block of a README (None without one); ValueError if it is not valid."""
    if not text.startswith("---"):
        return None
    m = re.match(r"^---\r?\n(.*?)\r?\n---\s*(\r?\n|$)", text, re.S)
    if m is None:
        raise ValueError("the YAML metadata block is not closed by a --- line")
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML metadata: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("the YAML metadata must be a mapping")
    for config in data.get("configs") or []:
        if not isinstance(config, dict) or "config_name" not in config:
            raise ValueError("configs: every entry needs a config_name")
    return data


def empty_repo_stats() -> dict[str, int]:
    """The counters of `stats["repo"]` (hosted repos: not rate limited, counted apart)."""
    return {
        "requests": 0,
        "whoami": 0,
        "repos_created": 0,
        "preuploads": 0,
        "commits": 0,
        "files_written": 0,
        "bytes_written": 0,
        "files_deleted": 0,
        "downloads": 0,
        "bytes_downloaded": 0,
        "refused": 0,
    }
