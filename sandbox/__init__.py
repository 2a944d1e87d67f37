"""An emulator of Entra ID, Azure DevOps and the Slack Web API, served over real HTTPS on loopback.

Used by the tests, the benchmarks and `make run`. `core`, `api` and `bot` never import it, except where
the service is explicitly started with the emulator (`panoptica serve --sandbox`).
"""
