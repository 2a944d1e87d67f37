"""Scanners, one module each, found by convention: a module exposing `SCANNER` (see core/scans/scanner.py)."""
