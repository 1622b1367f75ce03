"""The shipped defaults (rules and templates) and the one search path every template is found by.

In a source checkout `bot/defaults/rules` and `bot/defaults/templates` are links to the repository's
top-level `rules/` and `templates/` (one copy of each file in git); building the wheel copies the
files into the package, so an installed bot has them too (importlib.resources finds them either way).

A template is looked up per file: the admin's `templates_dir` first, then the shipped one. So a
folder holding only `mail/reply_accepted.txt.j2` overrides that mail and leaves every other
template as shipped. Mail (`mail/*.txt.j2`), Word (`docs/*.docx`) and HTML (`html/*.html.j2`)
templates all go through `TemplatePath`.

A running daemon takes an edited template, or an override added to `templates_dir`, from the next
mail on: each template's file is looked at again at most once a second (jinja2's own check stats
the file at every render, several per answer, and misses an override added in front of a shipped
file).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import jinja2
from jinja2.loaders import split_template_path

RECHECK_SECONDS = 1.0  # how often a loaded template's file is looked at again


def packaged(name: str) -> Path:
    """A folder of the shipped defaults: "rules" or "templates"."""
    return Path(str(resources.files(__name__).joinpath(name)))


@dataclass(frozen=True)
class TemplatePath:
    """The admin's templates_dir (may be absent or partial) in front of the shipped templates."""

    admin_dir: Path | None = None
    shipped_dir: Path = packaged("templates")

    @property
    def dirs(self) -> tuple[Path, ...]:
        return tuple(d for d in (self.admin_dir, self.shipped_dir) if d is not None)

    def find(self, relative: str) -> Path | None:
        """The file that wins for `relative` (e.g. "docs/slip.docx"), or None when neither has it."""
        for folder in self.dirs:
            candidate = folder / relative
            if candidate.is_file():
                return candidate
        return None

    def origin(self, relative: str) -> str:
        """"admin" or "shipped": where `relative` comes from (for `check`)."""
        found = self.find(relative)
        admin = self.admin_dir is not None and found is not None and found.is_relative_to(self.admin_dir)
        return "admin" if admin else "shipped"

    def loader(self, kind: str) -> jinja2.BaseLoader:
        """A jinja2 loader over the `kind` folder ("mail", "html") of each directory, in order."""
        return RecheckingLoader([folder / kind for folder in self.dirs])

    def names(self, kind: str, suffix: str) -> list[str]:
        """Every template name of a kind, from both directories (an admin may add one)."""
        found = {p.name for folder in self.dirs if (folder / kind).is_dir()
                 for p in (folder / kind).iterdir() if p.name.endswith(suffix)}
        return sorted(found)


class RecheckingLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader whose loaded templates count as current until a look at the files, made
    at most every `every` seconds, finds theirs changed or another file now in front of it."""

    def __init__(self, folders: list[Path], every: float = RECHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__([str(folder) for folder in folders])
        self.every = every
        self.clock = clock

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, unchanged = super().get_source(environment, template)
        looked = self.clock()
        current = True

        def uptodate() -> bool:
            nonlocal looked, current
            now = self.clock()
            if current and now - looked >= self.every:
                looked = now
                current = unchanged() and self._winner(template) == filename
            return current

        return source, filename, uptodate

    def _winner(self, template: str) -> str | None:
        """The file that would be loaded for `template` now, named as jinja2 names it."""
        pieces = split_template_path(template)
        for folder in self.searchpath:
            candidate = os.path.normpath(os.path.join(folder, *pieces))
            if os.path.isfile(candidate):
                return candidate
        return None
