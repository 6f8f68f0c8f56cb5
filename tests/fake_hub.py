"""A fake Hugging Face Hub at the HTTP transport: the real huggingface_hub client talks to it.

It answers the endpoints a commit uses (repo info, preupload, commit, YAML validation), keeps
the files of the dataset repository in memory, records every request, and can fail the next
requests with a status code or a connection error to exercise retries.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx2


@dataclass
class Commit:
    """One commit (or pull request) the fake Hub received."""

    summary: str
    description: str
    parent: str | None
    files: dict[str, bytes]
    create_pr: bool


@dataclass
class FakeHub:
    repo_id: str
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[Commit] = field(default_factory=list)
    requests: list[httpx2.Request] = field(default_factory=list)
    failures: list[int | str] = field(default_factory=list)  # status codes or "connect"

    @property
    def sha(self) -> str:
        return hashlib.sha1(json.dumps(sorted(self.files)).encode()).hexdigest()

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        base = f"/api/datasets/{self.repo_id}"
        resolve = f"/datasets/{self.repo_id}/resolve/"
        if path.startswith(resolve):
            self.requests.append(request)
            return self._resolve(path.removeprefix(resolve).split("/", 1)[1])
        if not path.startswith((base, "/api/validate-yaml")):
            # client housekeeping (e.g. agent detection): not part of the repository protocol
            return httpx2.Response(404, json={"error": "not found"})
        self.requests.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if failure == "connect":
                raise httpx2.ConnectError("connection refused", request=request)
            return httpx2.Response(int(failure), json={"error": "try again"})
        if request.method == "GET" and re.fullmatch(rf"{base}(/revision/[^/]+)?", path):
            return httpx2.Response(
                200,
                json={
                    "id": self.repo_id,
                    "sha": self.sha,
                    "private": False,
                    "siblings": [{"rfilename": name} for name in sorted(self.files)],
                },
            )
        if request.method == "GET" and re.fullmatch(rf"{base}/tree/[^/]+", path):
            return httpx2.Response(
                200,
                json=[
                    {
                        "type": "file",
                        "path": name,
                        "size": len(content),
                        "oid": hashlib.sha1(content).hexdigest(),
                    }
                    for name, content in sorted(self.files.items())
                ],
            )
        if request.method == "POST" and re.fullmatch(rf"{base}/preupload/[^/]+", path):
            files = json.loads(request.content)["files"]
            return httpx2.Response(
                200,
                json={
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                        for f in files
                    ]
                },
            )
        if request.method == "POST" and re.fullmatch(rf"{base}/commit/[^/]+", path):
            return self._commit(request)
        if request.method == "POST" and path == "/api/validate-yaml":
            return httpx2.Response(200, json={"errors": [], "warnings": []})
        return httpx2.Response(404, json={"error": f"fake hub: no route {request.method} {path}"})

    def _resolve(self, name: str) -> httpx2.Response:
        if name not in self.files:
            return httpx2.Response(404, headers={"X-Error-Code": "EntryNotFound"})
        content = self.files[name]
        headers = {
            "ETag": f'"{hashlib.sha1(content).hexdigest()}"',
            "X-Repo-Commit": self.sha,
            "Content-Length": str(len(content)),
        }
        return httpx2.Response(200, headers=headers, content=content)

    def _commit(self, request: httpx2.Request) -> httpx2.Response:
        lines = [json.loads(line) for line in request.content.decode().splitlines() if line]
        header = next(item["value"] for item in lines if item["key"] == "header")
        parent = header.get("parentCommit")
        if parent is not None and parent != self.sha:
            return httpx2.Response(412, json={"error": "parent commit is not the head"})
        added: dict[str, bytes] = {}
        for item in lines:
            if item["key"] == "file":
                value: dict[str, Any] = item["value"]
                added[value["path"]] = base64.b64decode(value["content"])
        create_pr = request.url.params.get("create_pr") == "1"
        self.commits.append(
            Commit(header["summary"], header.get("description", ""), parent, added, create_pr)
        )
        if not create_pr:
            self.files.update(added)
        number = len(self.commits)
        url = f"https://huggingface.co/datasets/{self.repo_id}"
        return httpx2.Response(
            200,
            json={
                "commitUrl": f"{url}/commit/{number:040x}",
                "commitOid": f"{number:040x}",
                "pullRequestUrl": f"{url}/discussions/{number}" if create_pr else None,
            },
        )
