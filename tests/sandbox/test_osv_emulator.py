"""The emulator's OSV API answers with OSV's shapes, over real HTTPS."""

import ssl

import httpx

from sandbox.osv import default_advisories


def client(sandbox) -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.osv_url, verify=ssl.create_default_context(cafile=str(sandbox.ca_path))
    )


def test_querybatch_query_and_vulns(sandbox, world):
    world.advisories = default_advisories()
    with client(sandbox) as http:
        batch = http.post(
            "/v1/querybatch",
            json={
                "queries": [
                    {"package": {"ecosystem": "npm", "name": "lodash"}, "version": "4.17.15"},
                    {"package": {"ecosystem": "npm", "name": "lodash"}, "version": "4.17.21"},
                    {"package": {"ecosystem": "PyPI", "name": "Jinja2"}, "version": "2.10"},
                ]
            },
        ).json()
        assert batch == {
            "results": [
                {
                    "vulns": [
                        {"id": "GHSA-35jh-r3h4-6jhm", "modified": "2024-01-01T00:00:00Z"},
                        {"id": "GHSA-p6mc-m468-83gw", "modified": "2024-01-01T00:00:00Z"},
                    ]
                },
                {},
                {"vulns": [{"id": "GHSA-462w-v97r-4m45", "modified": "2024-01-01T00:00:00Z"}]},
            ]
        }
        single = http.post(
            "/v1/query",
            json={
                "package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
                "version": "2.14.1",
            },
        ).json()
        assert [v["id"] for v in single["vulns"]] == ["GHSA-jfh8-c2jp-5v3q"]
        assert single["vulns"][0]["aliases"] == ["CVE-2021-44228"]
        record = http.get("/v1/vulns/GHSA-jfh8-c2jp-5v3q").json()
        assert record["affected"][0]["ranges"][0]["events"][-1] == {"fixed": "2.15.0"}
        assert http.get("/v1/vulns/GHSA-none").status_code == 404
        assert http.post("/v1/querybatch", content=b"nope").status_code == 400
    assert sandbox.context.count(host="osv") == 5


def test_large_results_are_paged(sandbox, world):
    world.advisories = [
        {
            "id": f"OSV-{i:04d}",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "npm", "name": "big"}, "versions": ["1.0.0"]}],
        }
        for i in range(150)
    ]
    query = {"package": {"ecosystem": "npm", "name": "big"}, "version": "1.0.0"}
    with client(sandbox) as http:
        first = http.post("/v1/querybatch", json={"queries": [query]}).json()["results"][0]
        assert len(first["vulns"]) == 100 and first["next_page_token"]
        second = http.post(
            "/v1/querybatch", json={"queries": [{**query, "page_token": first["next_page_token"]}]}
        ).json()["results"][0]
        assert len(second["vulns"]) == 50 and "next_page_token" not in second
