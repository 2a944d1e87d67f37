"""Posture controls, one module per area; each control is declared with `@control(...)` beside its code."""
