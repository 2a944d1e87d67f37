"""CI/CD posture: controls evaluated against what Azure DevOps says about projects, pipelines and repositories."""
