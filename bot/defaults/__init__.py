"""The shipped defaults (rules and templates) and the one search path every template is found by.

In a source checkout `bot/defaults/rules` and `bot/defaults/templates` are links to the repository's
top-level `rules/` and `templates/` (one copy of each file in git); building the wheel copies the
files into the package, so an installed bot has them too (importlib.resources finds them either way).

A template is looked up per file: the admin's `templates_dir` first, then the shipped one. So a
folder holding only `mail/reply_accepted.txt.j2` overrides that mail and leaves every other
template as shipped. Mail (`mail/*.txt.j2`), Word (`docs/*.docx`) and HTML (`html/*.html.j2`)
templates all go through `TemplatePath`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2


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
        return jinja2.FileSystemLoader([str(folder / kind) for folder in self.dirs])

    def names(self, kind: str, suffix: str) -> list[str]:
        """Every template name of a kind, from both directories (an admin may add one)."""
        found = {p.name for folder in self.dirs if (folder / kind).is_dir()
                 for p in (folder / kind).iterdir() if p.name.endswith(suffix)}
        return sorted(found)
