"""The natsobj command (placeholder until the CLI lands)."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("the natsobj command is not built yet")
