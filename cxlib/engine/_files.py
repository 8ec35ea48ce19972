"""Where the contract tables lie in a folder, and their text as UTF-8 for the engines.

Shared by the DuckDB backend (:mod:`cxlib.engine._source`) and the Spark backend
(:mod:`cxlib.engine._spark`), which otherwise know nothing of each other's files.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from ..errors import DataError

__all__ = ["is_uri", "find_table", "is_utf8", "transcode", "require_text"]


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(location: str | Path) -> bool:
    """True for a URI such as ``s3a://bucket/cx`` or ``hdfs://nn/cx`` (not a local path)."""
    return isinstance(location, str) and bool(_URI.match(location))


def is_utf8(path: Path, chunk: int = 1 << 20) -> bool:
    """True when the whole file decodes as UTF-8 (streamed, never held in memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while block := fh.read(chunk):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def transcode(path: Path, encoding: str, tmpdir: Path, chunk: int = 1 << 20) -> Path:
    """A UTF-8 copy of ``path`` (streamed), for engines that read UTF-8 only."""
    out = tmpdir / f"{path.stem}.utf8.csv"
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        try:
            while block := src.read(chunk):
                dst.write(decoder.decode(block))
            dst.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError as exc:
            raise DataError(f"{path.name}: not UTF-8 or CP932 text ({exc})") from None
    return out


def find_table(folder: Path, table: str) -> tuple[str, Path, str] | None:
    """Where ``table`` lies in ``folder``: (kind, path, label), first of ``<table>.parquet``,
    a folder ``<table>/`` of Parquet parts, ``<table>.csv``; None when absent."""
    parquet, csv, parts = (folder / f"{table}.parquet", folder / f"{table}.csv",
                           folder / table)
    if parquet.exists():
        return "parquet", parquet, parquet.name
    if parts.is_dir() and any(parts.glob("*.parquet")):
        return "parts", parts, f"{table}/*.parquet"
    if csv.exists():
        return "csv", csv, csv.name
    return None


def require_text(path: Path, chunk: int = 1 << 16) -> None:
    """DataError "<file>: the file is empty" when ``path`` holds nothing but white space
    (and a byte-order mark): no header to read (as :func:`cxlib.io.read_table` says)."""
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            if block.replace(codecs.BOM_UTF8, b"").strip():
                return
    raise DataError(f"{path.name}: the file is empty")
