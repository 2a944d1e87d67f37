"""An emulator of Entra ID, Azure DevOps and the Slack Web API, served over real HTTPS on loopback.

Used by the tests, the benchmarks and `make run`. `core`, `api` and `bot` never import it, except where
the service is explicitly started with the emulator (`panoptica serve --sandbox`).

The packages only the emulator needs are the `sandbox` extra (pyproject.toml), not the service's dependencies;
`missing_packages()` names those that cannot be imported, so the command says what to install instead of a
traceback. This module itself imports nothing outside the standard library.
"""

from importlib import import_module

# module imported by the emulator -> its distribution on PyPI (the sandbox extra lists the same)
EXTRA_MODULES = {"trustme": "trustme"}
INSTALL_HINT = (
    "pip install 'panoptica-azure[sandbox]' (from a clone: make run, or pip install -e '.[sandbox]')"
)


def missing_packages() -> list[str]:
    """The sandbox extra's distributions that cannot be imported here (an empty list when it is installed)."""
    missing = []
    for module, distribution in EXTRA_MODULES.items():
        try:
            import_module(module)
        except ImportError:
            missing.append(distribution)
    return sorted(missing)
