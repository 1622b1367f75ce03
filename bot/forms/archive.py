"""A form sent inside an archive: `.zip` (safezip) or `.7z` (py7zr), opened one level deep.

The members share the mail's budget with everything else; at most `max_archive_members` files are
looked at, and a member that is itself an archive is not opened (a zip of zips is refused). The
member with the most labels that reads as a form wins.
"""

from __future__ import annotations

import io
from typing import Callable

from bot.errors import FormUnreadable
from bot.forms.budget import FormBudget, over_limit
from bot.forms.raw import RawValues
from bot.forms.refusals import unreadable
from bot.forms.safezip import ENCRYPTED_DETAIL, SafeZip
from bot.forms.sniff import ARCHIVE_KINDS, sniff

ReadMember = Callable[[bytes, str], RawValues]  # (bytes, member name) -> values


def read_archive(data: bytes, kind: str, budget: FormBudget, read_member: ReadMember,
                 min_labels: int) -> RawValues:
    members = _zip_members(data, budget) if kind == "zip" else _7z_members(data, budget)
    best: RawValues | None = None
    nested = False
    problem: FormUnreadable | None = None
    for name, content in members:
        if sniff(content) in ARCHIVE_KINDS:
            nested = True
            continue
        try:
            found = read_member(content, name)
        except FormUnreadable as exc:
            if exc.reason == "over-limits":
                raise
            problem = problem or exc
            continue
        if found.labels() >= min_labels and (best is None or found.labels() > best.labels()):
            best = found
    if best is not None:
        return best
    if problem is not None:
        raise problem
    raise unreadable("nested-archive" if nested else "archive")


def _useful(name: str) -> bool:
    """Skip folders and the metadata macOS and Windows add to archives."""
    base = name.rsplit("/", 1)[-1]
    return bool(base) and not name.startswith("__MACOSX/") and not base.startswith((".", "~$"))


def _zip_members(data: bytes, budget: FormBudget):
    archive = SafeZip(data, budget=budget)
    names = [name for name in archive.names() if _useful(name)]
    if len(names) > budget.limits.max_archive_members:
        raise over_limit("压缩包内文件数量过多")
    for name in names:
        yield name, archive.read(name)


def _7z_members(data: bytes, budget: FormBudget):
    import py7zr  # deferred: only .7z attachments need it

    try:
        with py7zr.SevenZipFile(io.BytesIO(data), mode="r") as archive:
            if archive.needs_password():
                raise FormUnreadable("encrypted", ENCRYPTED_DETAIL)
            infos = [info for info in archive.list() if not info.is_directory and _useful(info.filename)]
            _check_7z_directory(infos, len(data), budget)
            factory = _BudgetFactory(budget)
            archive.extract(targets=[info.filename for info in infos], factory=factory)
    except FormUnreadable:
        raise
    except Exception:  # py7zr raises many kinds of errors on a broken archive
        raise unreadable("corrupt") from None
    return list(factory.members())


def _check_7z_directory(infos, compressed: int, budget: FormBudget) -> None:
    if len(infos) > budget.limits.max_archive_members:
        raise over_limit("压缩包内文件数量过多")
    declared = sum(info.uncompressed or 0 for info in infos)
    if declared > budget.inflate_left:
        raise over_limit("解压后总大小超限")
    if declared > budget.limits.max_ratio * max(compressed, 1) and declared > 2 << 20:
        raise over_limit("压缩比异常")


class _BudgetFactory:
    """py7zr writes each member into one of these; every byte is charged to the mail's budget, so a
    header that understates the sizes is stopped while inflating."""

    def __init__(self, budget: FormBudget):
        self.budget = budget
        self.products: dict[str, _BudgetIO] = {}

    def create(self, filename: str):
        product = _BudgetIO(self.budget)
        self.products[filename] = product
        return product

    def members(self):
        for name, product in self.products.items():
            yield name, product.buffer.getvalue()


class _BudgetIO:
    def __init__(self, budget: FormBudget):
        self.budget = budget
        self.buffer = io.BytesIO()

    def write(self, chunk) -> int:
        self.budget.spend_inflated(len(chunk))
        return self.buffer.write(chunk)

    def read(self, size=None) -> bytes:
        return self.buffer.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.buffer.seek(offset, whence)

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.buffer.getbuffer().nbytes

    def close(self) -> None:
        pass
