"""The OSV API source against the emulator: paging, unpinned versions, the per-day cache, records fetched once."""

from core.dependencies.advisories import OsvApiAdvisories
from core.dependencies.package import Dependency


def dep(ecosystem, name, version, path="lock") -> Dependency:
    return Dependency(ecosystem, name, version, f"pkg:x/{name}@{version}", path, 1, True)


async def test_paged_answers_are_followed_and_cached(settings, db, sandbox, world):
    world.advisories = [
        {
            "id": f"OSV-{i:04d}",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "npm", "name": "big"}, "versions": ["1.0.0"]}],
        }
        for i in range(120)
    ]
    source = OsvApiAdvisories(settings, db)
    deps = [dep("npm", "big", "1.0.0"), dep("npm", "big", "1.0.0", "other/lock"), dep("npm", "unpinned", "")]
    found = await source.advisories_for(deps)
    assert list(found) == [("npm", "big", "1.0.0")]
    assert len(found[("npm", "big", "1.0.0")]) == 120
    assert sandbox.context.count("osv", "/v1/querybatch") == 2  # one query, two pages; "" never asked
    assert sandbox.context.count("osv", "/v1/vulns/") == 120

    sandbox.context.requests.clear()
    again = await OsvApiAdvisories(settings, db).advisories_for(deps)
    assert again == found
    assert sandbox.context.count("osv") == 0
