"""Raw mail is archived before anything else: content-addressed, written to a temp file, fsync'd, renamed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def archive_raw(root: Path, raw: bytes) -> tuple[str, Path]:
    """Store `raw` under root/ab/<sha256>.eml (idempotent) and return (digest, path)."""
    name = digest(raw)
    target = root / name[:2] / f"{name}.eml"
    if target.exists():
        return name, target
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return name, target
