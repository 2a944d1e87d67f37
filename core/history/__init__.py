"""Secrets in git history: `fetch` (real git over smart HTTP, the token only in its environment, limits),
`patches` (each commit's added lines through the head scan's detectors), `service` (incremental runs, findings
with occurrences), `models` (what is remembered per repository)."""
