"""The domain: settings, persistence, the Azure integration and (later) scans, findings and digests.

`core` never imports `api`, `bot` or `sandbox`.
"""
