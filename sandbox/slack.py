"""Placeholder: the slack host of the emulator (being written)."""

from starlette.applications import Starlette


def build_app(context) -> Starlette:
    return Starlette(routes=[])
