"""Every secret detector of ours, in one tuple: the secrets scanner runs them all, posture judges variable values
with them. Azure's are in `azure_detectors.py`; provider and generic detectors join here."""

from __future__ import annotations

from core.scanners.azure_detectors import DETECTORS as AZURE_DETECTORS
from core.scanners.azure_detectors import Detector

DETECTORS: tuple[Detector, ...] = (*AZURE_DETECTORS,)
RULES = tuple({detector.rule.id: detector.rule for detector in DETECTORS}.values())
