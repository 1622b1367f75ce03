"""Names of a module loaded on first use (PEP 562), for the modules of this package whose import
must stay light (the package itself and the ledger: see their docstrings for what it saves)."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_names(package: str, modules: dict[str, str],
               namespace: dict) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module-level `__getattr__` and `__dir__` of the module whose globals are `namespace`:
    each name of `modules` comes from that submodule of `package` when it is first asked for, and
    stays in the module from then on."""
    def module_getattr(name: str):
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def module_dir() -> list[str]:
        return sorted(set(namespace) | set(modules))

    return module_getattr, module_dir
