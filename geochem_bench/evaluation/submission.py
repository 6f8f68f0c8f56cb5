"""Loading a submission: a folder with ``submission.toml``, ``module:Class`` or ``file.py:Class``.

A submission folder holds a ``submission.toml``::

    [submission]
    name = "bicubic"
    version = "1.0.0"
    model = "geochem_bench.models:BicubicUpsampling"   # or "model.py:MyModel" in the folder
    authors = ["..."]
    licence = "MIT"

    [params]          # keyword arguments of the model's constructor
    a = -0.5

and a ``README.md`` model card.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from geochem_bench.core.atomic import write_text_atomic
from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.provenance import git_revision
from geochem_bench.evaluation.records import read_model, submission_fingerprint

CONFIG_NAME = "submission.toml"
#: Seeds a stochastic submission is evaluated with, at least (see Submission.stochastic).
MIN_SEEDS: Final = 3
CARD_NAME = "submission.json"


@dataclass(frozen=True)
class Submission:
    """A model plus the configuration it is evaluated with.

    Attributes:
        name: submission name (results are namespaced by it).
        version: submission version.
        model: reference to the model class, ``module:Class`` or ``path/file.py:Class``.
        params: constructor keyword arguments.
        folder: the submission folder, if any (relative model paths resolve against it).
        revision: VCS revision of the submission's code, if known.
        metadata: the other fields of ``[submission]`` (authors, licence, ...).
    """

    name: str
    version: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    revision: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def stochastic(self) -> bool:
        """Whether the model's output depends on its seed (``stochastic = true`` in the card).

        Stochastic submissions are evaluated with :data:`MIN_SEEDS` seeds or more, and the
        board refuses to rank them on fewer: one seed's luck is not the method's skill
        (three CNN training seeds spanned 0.013 skill on one task, more than the bootstrap
        half-width there).
        """
        value = self.metadata.get("stochastic", False)
        if not isinstance(value, bool):
            raise InvalidInputError(
                f"[submission] stochastic must be true or false, got {value!r} in {CONFIG_NAME}"
            )
        return value

    @property
    def protocols(self) -> tuple[str, ...]:
        """The protocols the model enters (``protocols = [...]`` in the card; default: all).

        A method built for one protocol (area-to-point kriging needs the block means of the
        grid protocol) declares it, so that ``evaluate`` runs it only there and the board does
        not list the other protocols' tasks as missing.
        """
        from geochem_bench.core.task import PROTOCOLS

        value = self.metadata.get("protocols", list(PROTOCOLS))
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(p, str) and p in PROTOCOLS for p in value)
        ):
            raise InvalidInputError(
                f"[submission] protocols must be a non-empty list of {list(PROTOCOLS)}, got "
                f"{value!r} in {CONFIG_NAME}"
            )
        return tuple(p for p in PROTOCOLS if p in value)

    def default_seeds(self) -> tuple[int, ...]:
        """The seeds an official run uses: 0..MIN_SEEDS-1 if stochastic, else 0."""
        return tuple(range(MIN_SEEDS)) if self.stochastic else (0,)

    def model_class(self) -> Any:
        """Import the model class without instantiating it (to read its class attributes)."""
        return import_object(self.model, self.folder)

    def build(self) -> Any:
        """Import the model class and instantiate it with ``params``."""
        model = self.model_class()(**self.params)
        for method in ("fit", "predict"):
            if not callable(getattr(model, method, None)):
                raise TypeError(
                    f"{self.model} has no {method}() method; a model implements "
                    "geochem_bench.models.FusionModel (fit(inputs), predict(inputs))"
                )
        return model

    def resolved(self) -> Submission:
        """A copy whose file paths are absolute (the model process runs in another folder)."""
        module_part, _, attr = self.model.rpartition(":")
        folder = None if self.folder is None else self.folder.resolve()
        model = self.model
        if module_part.endswith(".py") and not Path(module_part).is_absolute():
            model = f"{((folder or Path.cwd()) / module_part).resolve()}:{attr}"
        return replace(self, model=model, folder=folder)

    def code_digest(self) -> str:
        """sha256 of the source the model is built from, found without importing it.

        The submission folder (every source file in it except results, caches and VCS
        data), and, for a ``module:Class`` reference, the top-level package the class lives
        in (a packaged baseline's folder holds only its configuration).
        """
        module_part = self.model.rpartition(":")[0]
        parts: list[str] = []
        if self.folder is not None:
            parts.append(_tree_digest(self.folder))
        if module_part.endswith(".py"):
            file = Path(module_part)
            if not file.is_absolute() and self.folder is not None:
                file = self.folder / file
            if self.folder is None:
                parts.append(_tree_digest(file.parent))
        else:
            package = self.package_source()
            parts.append("unknown" if package is None else _tree_digest(package))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def package_source(self) -> Path | None:
        """Where the top-level package (or module) of a ``module:Class`` reference lives.

        Found without importing it (finding a top-level name executes nothing); None for a
        ``file.py:Class`` reference or a package that cannot be found.
        """
        module_part = self.model.rpartition(":")[0]
        if module_part.endswith(".py"):
            return None
        try:
            spec = importlib.util.find_spec(module_part.split(".")[0])
        except (ImportError, ValueError):
            return None
        if spec is None or spec.origin is None:
            return None
        origin = Path(spec.origin)
        return origin.parent if origin.name == "__init__.py" else origin

    def fingerprint(self, seed: int) -> str:
        """sha256 of everything that determines this submission's predictions.

        Model reference, params, code digest, seed and package version: resume reuses a
        record only when its fingerprint matches, so records of other params, seeds or code
        are never mixed under one name and version.
        """
        from geochem_bench import __version__

        return submission_fingerprint(
            self.model, self.params, self.code_digest(), seed, __version__
        )


_SKIPPED_DIRS = {"__pycache__", ".git", ".hg", "results", ".ipynb_checkpoints"}


def _tree_digest(root: Path) -> str:
    """sha256 over the relative paths and bytes of the source files under ``root``."""
    digest = hashlib.sha256()
    files = (
        [root]
        if root.is_file()
        else sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and p.suffix in {".py", ".toml", ".json", ".yaml", ".yml", ".cfg", ".txt"}
            and not _SKIPPED_DIRS.intersection(p.relative_to(root).parts)
        )
    )
    for file in files:
        digest.update(str(file.relative_to(root) if file != root else file.name).encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def load_submission(
    spec: str | Path,
    *,
    config: str | Path | None = None,
    name: str | None = None,
    version: str | None = None,
) -> Submission:
    """Resolve a submission from a folder, ``module:Class`` or ``file.py:Class``.

    Args:
        spec: a folder with ``submission.toml``, the name of a packaged baseline
            (``ordinary-kriging``; a folder of that name in the working directory wins), or a
            model reference.
        config: a TOML file with ``[params]`` (and optionally ``[submission]``) for a model
            reference.
        name: override of the submission name.
        version: override of the submission version.

    Raises:
        FileNotFoundError: a folder without ``submission.toml``.
        ValueError: a malformed spec or config.
    """
    path = Path(spec)
    if path.is_dir() and not (path / CONFIG_NAME).is_file() and str(spec) in _baseline_names():
        # A folder that merely shares a baseline's name (e.g. a results folder --out bicubic)
        # must not hide the packaged baseline.
        from geochem_bench import resources

        path = resources.baseline_dir(str(spec))
    if path.is_dir():
        if config is not None:
            raise InvalidInputError(
                f"--config applies to a 'module:Class' reference, not to the submission folder "
                f"{path}; edit its {CONFIG_NAME} (geochem-bench init-submission DIR gives a copy "
                "to edit) or pass the folder's model reference with --config"
            )
        config_path = path / CONFIG_NAME
        if not config_path.is_file():
            raise FileNotFoundError(
                f"{path} has no {CONFIG_NAME}; a submission folder needs one "
                "(geochem-bench init-submission DIR writes a working example)"
            )
        table = _read_toml(config_path)
        meta = dict(table.get("submission", {}))
        if "model" not in meta:
            raise InvalidInputError(
                f"{config_path}: [submission] needs a 'model = \"module:Class\"' entry"
            )
        # pop both keys before the overrides win, so they never end up in the metadata
        folder_name, folder_version = meta.pop("name", path.name), meta.pop("version", "0")
        submission = Submission(
            name=name or folder_name,
            version=version or str(folder_version),
            model=meta.pop("model"),
            params=dict(table.get("params", {})),
            folder=path.resolve(),
            revision=None,
            metadata=meta,
        )
        # the model's package counts too: a baseline's folder holds only its card
        return replace(submission, revision=git_revision(path, submission.package_source()))
    text = str(spec)
    if ":" not in text:
        from geochem_bench import resources

        if text in resources.baselines():  # a packaged baseline by name
            return load_submission(
                resources.baseline_dir(text), config=config, name=name, version=version
            )
        raise InvalidInputError(
            f"{text!r} is neither a submission folder, a baseline name nor a model reference; "
            f"use a folder with {CONFIG_NAME}, a baseline ({', '.join(resources.baselines())}), "
            "'package.module:Class' or 'path/to/file.py:Class'"
        )
    table = _read_toml(Path(config)) if config else {}
    meta = dict(table.get("submission", {}))
    meta.pop("model", None)  # the reference given here wins over the config's
    module_part = text.rsplit(":", 1)[0]
    revision = None
    if module_part.endswith(".py") and Path(module_part).is_file():
        revision = git_revision(Path(module_part).resolve().parent) or _file_digest(
            Path(module_part)
        )
    config_name, config_version = meta.pop("name", text.rsplit(":", 1)[1]), meta.pop("version", "0")
    return Submission(
        name=name or config_name,
        version=version or str(config_version),
        model=text,
        params=dict(table.get("params", {})),
        folder=None,
        revision=revision,
        metadata=meta,
    )


def import_object(reference: str, base_dir: Path | None = None) -> Any:
    """Import ``module:attr`` or ``path/file.py:attr``.

    Raises:
        ImportError: with the reference and what to check.
    """
    module_part, _, attr = reference.rpartition(":")
    if not module_part or not attr:
        raise ImportError(
            f"model reference {reference!r} must look like 'module:Class' or 'file.py:Class'"
        )
    if module_part.endswith(".py"):
        file = Path(module_part)
        if not file.is_absolute() and base_dir is not None:
            file = base_dir / file
        if not file.is_file():
            raise ImportError(f"model file {file} does not exist")
        digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
        module_name = f"geochem_bench_submission_{digest}"
        module_spec = importlib.util.spec_from_file_location(module_name, file)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot import {file}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(file.parent))  # let the file import its siblings
        try:
            module_spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(file.parent))
    else:
        module = importlib.import_module(module_part)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"{module_part} has no attribute {attr!r}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc


def _file_digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class SubmissionCard(BaseModel):
    """Model-card facts of a submission, stored next to its results as ``submission.json``.

    The leaderboard shows them, and ``geochem-bench submit`` requires ``authors`` and
    ``licence``. They come from the ``[submission]`` table of ``submission.toml``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    model: str | None = None
    revision: str | None = None
    authors: list[str] = Field(default_factory=list)
    licence: str | None = None
    code: str | None = Field(None, description="URL of the code")
    parameters: int | None = Field(None, description="number of trainable parameters")
    training_data: str | None = Field(None, description="data used for training")
    open_weights: bool | None = None
    description: str | None = None
    stochastic: bool = Field(
        False, description="output depends on the seed: evaluated and ranked on >= 3 seeds"
    )
    protocols: list[Literal["grid", "points", "transfer"]] | None = Field(
        None, description="the protocols the model enters (None: all)"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="constructor arguments")

    @property
    def entered(self) -> tuple[str, ...]:
        """The protocols the submission enters, in suite order (every one when not declared)."""
        from geochem_bench.core.task import PROTOCOLS

        return tuple(p for p in PROTOCOLS if not self.protocols or p in self.protocols)

    @classmethod
    def from_submission(cls, submission: Submission) -> SubmissionCard:
        """The card of a resolved submission.

        Raises:
            ValueError: ``[submission]`` has a key the card does not know.
        """
        known = set(cls.model_fields) - {"name", "version", "model", "revision", "params"}
        unknown = sorted(set(submission.metadata) - known)
        if unknown:
            raise InvalidInputError(
                f"unknown [submission] keys {unknown} in {CONFIG_NAME}; known: {sorted(known)}"
            )
        return cls(
            name=submission.name,
            version=submission.version,
            model=submission.model,
            revision=submission.revision,
            params=submission.params,
            **submission.metadata,
        )


def card_path(out_dir: str | Path, name: str, version: str) -> Path:
    """Where a submission's card lives: ``<out>/<name>/<version>/submission.json``."""
    from geochem_bench.evaluation.records import safe_name

    return Path(out_dir) / safe_name(name) / safe_name(version) / CARD_NAME


def write_card(card: SubmissionCard, out_dir: str | Path) -> Path:
    """Write a submission card next to its results, atomically."""
    path = card_path(out_dir, card.name, card.version)
    write_text_atomic(path, card.model_dump_json(indent=2) + "\n")
    return path


def read_card(path: str | Path) -> SubmissionCard:
    """Read and validate a submission card.

    Raises:
        ValueError: naming the file, when it is not a valid card.
    """
    # size and depth capped: cards are uploaded
    return read_model(path, SubmissionCard, "submission card")


def _baseline_names() -> set[str]:
    from geochem_bench import resources

    return set(resources.baselines())
