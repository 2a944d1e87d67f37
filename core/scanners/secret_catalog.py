"""Every secret detector of ours, in one tuple: the secrets scanner runs them all, posture judges variable values
with them. Azure's are in `azure_detectors.py`; provider, file and generic ones in `secret_rules/`."""

from __future__ import annotations

from core.scanners.azure_detectors import DETECTORS as AZURE_DETECTORS
from core.scanners.azure_detectors import Detector
from core.scanners.secret_rules import DETECTORS as RULE_DETECTORS

DETECTORS: tuple[Detector, ...] = (*AZURE_DETECTORS, *RULE_DETECTORS)
RULES = tuple({detector.rule.id: detector.rule for detector in DETECTORS}.values())
