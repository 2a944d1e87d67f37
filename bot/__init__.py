"""The Slack app (slack-bolt): listeners and Block Kit builders. Thin over `core`."""
