"""The console: a web client of our public GraphQL API, served at `/` (static ES modules, no build step)."""
