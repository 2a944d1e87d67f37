"""Our secret rules beyond Azure's, one module per family: `providers` (tokens with a documented shape),
`files` (credentials in well-known files and framework settings), `generic` (a credential assigned to a
credential-named key). `secret_catalog.py` joins them to the Azure detectors."""

from __future__ import annotations

from core.scanners.azure_detectors import Detector
from core.scanners.secret_rules import files, generic, providers

DETECTORS: tuple[Detector, ...] = (*providers.DETECTORS, *files.DETECTORS, *generic.DETECTORS)
