"""What a report was computed from: fingerprints of input files and the code version.

A parameter whose value (given or default) names an existing file or folder,
relative to the notebook's folder, is an input: its files are hashed (SHA-256)
and tables counted (Parquet from the footer, CSV by parsing). Knows nothing about CX.
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cxlib.report.params import NO_DEFAULT, NotebookParameters

MAX_FILES = 2000  # a folder with more files than this is an input we do not fingerprint
TABLE_SUFFIXES = {".parquet", ".csv", ".tsv"}


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def count_rows(path: Path) -> int | None:
    """Rows of a Parquet or CSV/TSV table (header excluded), None for other files or on error."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        if suffix in {".csv", ".tsv"}:
            for encoding in ("utf-8-sig", "cp932"):
                try:
                    with open(path, newline="", encoding=encoding) as handle:
                        delimiter = "\t" if suffix == ".tsv" else ","
                        return max(sum(1 for _ in csv.reader(handle, delimiter=delimiter)) - 1, 0)
                except UnicodeDecodeError:
                    continue
    except Exception:  # a file we cannot read as a table is still hashed
        return None
    return None


def _visible_files(folder: Path) -> list[Path]:
    """Files under ``folder``, hidden ones and hidden folders skipped; stops past MAX_FILES."""
    found: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / n for n in names if not n.startswith(".")]
        if len(found) > MAX_FILES:
            break
    return sorted(found)


def fingerprint(path: Path) -> dict[str, Any]:
    """SHA-256 of a file, or of a folder's files (names and contents), with table row counts.

    Hidden files and folders are skipped. The folder hash covers each file's relative
    path and hash, so renaming a file changes it.
    """
    path = Path(path)
    if path.is_file():
        files = [path]
        base = path.parent
    else:
        files = _visible_files(path)
        base = path
    if len(files) > MAX_FILES:
        return {"path": str(path), "sha256": None, "files": [],
                "note": f"more than {MAX_FILES} files: not fingerprinted"}
    total = hashlib.sha256()
    entries = []
    for file in files:
        rel = file.relative_to(base).as_posix()
        digest = sha256_file(file)
        total.update(f"{rel}\0{digest}\n".encode())
        entry: dict[str, Any] = {"name": rel, "sha256": digest, "bytes": file.stat().st_size}
        if file.suffix.lower() in TABLE_SUFFIXES:
            entry["rows"] = count_rows(file)
        entries.append(entry)
    return {"path": str(path), "sha256": total.hexdigest(), "files": entries}


def input_paths(declared: NotebookParameters, injected: Mapping[str, Any]) -> dict[str, Path]:
    """Parameter name -> existing path, for string parameters that name a file or folder."""
    found = {}
    folder = declared.path.parent
    for name, param in declared.parameters.items():
        value = injected[name] if name in injected else param.default_value()
        if value is NO_DEFAULT or not isinstance(value, str) or not value.strip():
            continue
        if len(value) > 4096 or "\n" in value or "\0" in value:
            continue
        candidate = (folder / value).expanduser()
        try:
            if candidate.exists() and candidate.resolve() != folder.resolve():
                found[name] = candidate.resolve()
        except OSError:
            continue
    return found


def describe_inputs(
    declared: NotebookParameters, injected: Mapping[str, Any], cache: dict[Path, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Fingerprints of a notebook's input parameters (``cache`` shares them across notebooks)."""
    out = []
    for name, path in input_paths(declared, injected).items():
        if path not in cache:
            cache[path] = fingerprint(path)
        out.append({"parameter": name, **cache[path]})
    return out


def code_version(folder: Path) -> dict[str, Any]:
    """The git commit of the checkout holding ``folder`` and whether tracked files changed."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                                 timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "--short=12", "HEAD") or None
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status)}
