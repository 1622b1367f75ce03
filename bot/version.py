"""The version, said once: the package metadata (pyproject.toml) and `--version` read it here."""

VERSION = "0.1.0"
