"""How commands speak: human text on stdout (notes on stderr), or one JSON document."""

from __future__ import annotations

import json
import sys

import typer


def say(text: str) -> None:
    typer.echo(text)


def note(text: str) -> None:
    """Progress and warnings go to stderr, so stdout stays what a script may read."""
    typer.echo(text, err=True)


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
