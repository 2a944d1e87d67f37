"""Dependency vulnerabilities: the inventory of a repository's packages and the advisories that affect them."""
