"""Finds a collection's files: its folders walked (symlinks followed, loops caught), globs applied."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from knowledge.config import CollectionConfig
from knowledge.loaders import is_supported


@dataclass(frozen=True)
class FoundFile:
    path: str  # relative to its collection folder, with forward slashes: the id of the file everywhere
    absolute: Path
    size: int


@dataclass(frozen=True)
class FileFailure:
    path: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    files: tuple[FoundFile, ...]
    failures: tuple[FileFailure, ...]
    missing_folders: tuple[str, ...]


def discover(collection: CollectionConfig, *, max_bytes: int) -> Discovery:
    include = pathspec.PathSpec.from_lines("gitwildmatch", collection.include)
    exclude = pathspec.PathSpec.from_lines("gitwildmatch", collection.exclude)
    files: dict[str, FoundFile] = {}
    failures: list[FileFailure] = []
    missing: list[str] = []
    for folder in collection.paths:
        root = Path(folder).expanduser()
        if not root.is_dir():
            missing.append(folder)
            continue
        for relative, absolute, problem in _walk(root):
            if not (include.match_file(relative) and not exclude.match_file(relative)):
                continue
            if problem is None and not is_supported(absolute):
                continue  # images, archives…: not knowledge, and not an error either
            if problem is None and relative in files:
                problem = f"the same path also exists in {files[relative].absolute.parent}; only the first is indexed"
            if problem is None:
                problem, size = _check_file(absolute, max_bytes=max_bytes)
            if problem is not None:
                failures.append(FileFailure(relative, problem))
            else:
                files[relative] = FoundFile(relative, absolute, size)
    return Discovery(tuple(sorted(files.values(), key=lambda f: f.path)), tuple(failures), tuple(missing))


def _walk(root: Path) -> Iterator[tuple[str, Path, str | None]]:
    """Yield (relative path, absolute path, problem or None); a directory seen twice is a symlink loop."""
    seen: set[tuple[int, int]] = set()
    errors: list[OSError] = []
    for directory, subdirs, names in os.walk(root, followlinks=True, onerror=errors.append):
        yield from _unreadable(errors, root)
        here = Path(directory)
        info = here.stat()
        if (info.st_dev, info.st_ino) in seen:
            subdirs.clear()
            yield here.relative_to(root).as_posix(), here, "symbolic link loop: this folder is already indexed"
            continue
        seen.add((info.st_dev, info.st_ino))
        subdirs.sort()
        for name in sorted(names):
            path = here / name
            yield path.relative_to(root).as_posix(), path, None
    yield from _unreadable(errors, root)


def _unreadable(errors: list[OSError], root: Path) -> Iterator[tuple[str, Path, str | None]]:
    for error in errors:
        failed = Path(error.filename or root)
        yield _relative(failed, root), failed, f"cannot be read ({error.strerror or error})"
    errors.clear()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _check_file(path: Path, *, max_bytes: int) -> tuple[str | None, int]:
    try:
        info = path.stat()
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop", 0
        if error.errno == errno.ENOENT:
            return ("broken symbolic link" if path.is_symlink() else "the file disappeared"), 0
        return f"cannot be read ({error.strerror})", 0
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file", 0
    if info.st_size > max_bytes:
        return (
            f"it is {info.st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit (sync.max_file_mb)",
            info.st_size,
        )
    return None, info.st_size
