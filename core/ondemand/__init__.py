"""On-demand work (scans, posture evaluations, refreshes asked for by a person): idempotency and a budget."""
