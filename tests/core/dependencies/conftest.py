"""The dependency tests' services: the dependencies scanner alone, OSV from the emulator with its default
advisories, small OSV batches so paging is exercised."""

import pytest

from sandbox.osv import default_advisories


@pytest.fixture
def services_settings(world) -> dict:
    world.advisories = default_advisories()
    return {"posture_enabled": False, "scanners": "dependencies", "osv_batch_size": 2}
