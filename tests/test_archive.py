"""The raw archive (bot.intake.archive): content-addressed files, each on disk before its batch
returns, the batch's flushes issued together."""

from __future__ import annotations

import hashlib
import os

import pytest

from bot.intake import archive
from bot.intake.archive import archive_batch, archive_raw


def raw(n: int) -> bytes:
    return f"Message-ID: <a{n}@corp.test>\r\n\r\nbody {n}\r\n".encode()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_batch_is_stored_by_digest_in_order_with_nothing_left_behind(tmp_path):
    before = archive_raw(tmp_path, raw(0))  # archived by an earlier batch
    raws = [raw(n) for n in range(40)] + [raw(3)]  # the same bytes twice in one batch, too
    stored = archive_batch(tmp_path, raws)
    assert stored[0] == before
    for data, (name, path) in zip(raws, stored):
        assert name == hashlib.sha256(data).hexdigest()
        assert path == tmp_path / name[:2] / f"{name}.eml" and path.read_bytes() == data
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 40 and all(p.suffix == ".eml" for p in files)  # no temporary file left


def test_every_file_and_every_folder_that_gained_one_is_flushed(tmp_path, monkeypatch):
    synced_files, synced_dirs = [], []
    real_fsync = os.fsync

    def fsync(fd):
        synced_files.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(archive.os, "fsync", fsync)
    monkeypatch.setattr(archive, "_fsync_dir", synced_dirs.append)
    stored = archive_batch(tmp_path, [raw(n) for n in range(20)])
    assert sorted(synced_files) == sorted(str(path.with_suffix(f".tmp{os.getpid()}")) for _n, path in stored)
    folders = {path.parent for _n, path in stored}
    assert sorted(synced_dirs[:-1]) == sorted(folders) and synced_dirs[-1] == tmp_path


def test_a_failed_flush_raises_and_puts_no_file_in_place(tmp_path, monkeypatch):
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(archive.os, "fsync", fsync)
    fds = open_fds()
    with pytest.raises(OSError, match="Input/output"):
        archive_batch(tmp_path, [raw(n) for n in range(10)])
    assert list(tmp_path.rglob("*.eml")) == []  # nothing the ledger could name is half there
    assert open_fds() == fds  # every file of the batch closed
