"""Fetch GraphiQL's browser builds from the npm registry, so `/graphql` serves them from our own origin.

    python tools/fetch_graphiql.py        (make run and make test run it; nothing happens when they are present)

Each package is pinned by version and by the registry's sha512 integrity: `npm pack` downloads the tarball, the
tarball's digest is checked against the pin, and only the files GraphiQL's page loads are extracted into
`api/graphql/static/` (gitignored). A tarball whose digest differs is refused and nothing is written.
Why fetch rather than vendor: 5 MB of minified third-party code stays out of our history, the pins are reviewable
in one place, and upgrading is one edit here.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "api" / "graphql" / "static"
# (package spec, integrity as the registry publishes it, {file in the tarball: name we serve it under})
PINS = [
    (
        "react@18.2.0",
        "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
        {"package/umd/react.production.min.js": "react.production.min.js"},
    ),
    (
        "react-dom@18.2.0",
        "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
        {"package/umd/react-dom.production.min.js": "react-dom.production.min.js"},
    ),
    (
        "graphiql@3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        {"package/graphiql.min.js": "graphiql.min.js", "package/graphiql.min.css": "graphiql.min.css"},
    ),
]
STAMP = TARGET / ".pins"


def pins_text() -> str:
    return "".join(f"{spec} {integrity}\n" for spec, integrity, _ in PINS)


def is_current() -> bool:
    served = [name for _, _, files in PINS for name in files.values()]
    return (
        STAMP.exists()
        and STAMP.read_text() == pins_text()
        and all((TARGET / name).is_file() for name in served)
    )


def integrity_of(tarball: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()


def fetch(spec: str, integrity: str, files: dict[str, str], work: Path, out: Path) -> None:
    if shutil.which("npm") is None:
        raise SystemExit("GraphiQL's assets come from the npm registry: install Node.js (npm) first.")
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["npm", "pack", spec, "--pack-destination", str(work), "--silent", "--no-fund", "--no-audit"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"npm pack {spec} failed: {result.stderr.strip()[:500]}")
    tarball = work / result.stdout.strip().splitlines()[-1]
    found = integrity_of(tarball)
    if found != integrity:
        raise SystemExit(
            f"{spec}: the tarball's integrity is {found}, not the pinned {integrity}; nothing written"
        )
    with tarfile.open(tarball) as archive:
        for member, name in files.items():
            source = archive.extractfile(member)
            if source is None:
                raise SystemExit(f"{spec} has no {member}")
            (out / name).write_bytes(source.read())


def main() -> None:
    if is_current():
        return
    with tempfile.TemporaryDirectory() as work_dir:
        work, staged = Path(work_dir), Path(work_dir) / "staged"
        staged.mkdir()
        for spec, integrity, files in PINS:
            fetch(spec, integrity, files, work, staged)
        (staged / ".pins").write_text(pins_text())
        # Replaced whole, once every package was verified: never a mix of old and new files.
        shutil.rmtree(TARGET, ignore_errors=True)
        shutil.copytree(staged, TARGET)
    print(
        f"GraphiQL assets fetched into {TARGET.relative_to(Path.cwd()) if TARGET.is_relative_to(Path.cwd()) else TARGET}"
    )


if __name__ == "__main__":
    sys.exit(main())
