"""Safe extraction: unsafe or oversized archives are refused and leave nothing behind."""

import stat
import zipfile
from pathlib import Path

import pytest

from core.azure.client import AzureDevOps
from core.azure.tokens import TokenProvider
from core.scans.acquisition import ArchiveRejected, Limits, acquire, extract_zip
from tests.worlds import CONTOSO_TENANT

SMALL = Limits(total_bytes=1_000_000, files=20, file_bytes=200_000, ratio=50)


def make_zip(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def test_a_normal_repository_extracts(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"README.md": b"hi", "src/app.py": b"print(1)"})
    (tmp_path / "out").mkdir()
    assert extract_zip(archive, tmp_path / "out", SMALL) == 10
    assert (tmp_path / "out" / "src" / "app.py").read_bytes() == b"print(1)"


@pytest.mark.parametrize(
    ("entries", "symlink", "reason"),
    [
        ({"../evil.sh": b"x"}, None, "climbs out"),
        ({"/etc/cron.d/x": b"x"}, None, "absolute"),
        ({"C:\\Windows\\x": b"x"}, None, "absolute or Windows"),
        ({"ok.txt": b"x"}, "link", "symbolic link"),
        ({f"f{i}": b"x" for i in range(21)}, None, "more than 20 entries"),
        ({"big.bin": bytes(range(256)) * 1000}, None, "larger than 200000 bytes"),
        ({"bomb.txt": b"0" * 150_000}, None, "Compression ratio"),
    ],
)
def test_unsafe_archives_are_refused_and_leave_nothing(tmp_path, entries, symlink, reason):
    archive = make_zip(tmp_path / "a.zip", {"first.txt": b"written before the bad entry", **entries}, symlink)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveRejected, match=reason):
        extract_zip(archive, out, SMALL)
    assert list(out.iterdir()) == []


def test_a_header_that_lies_about_sizes_is_caught_while_streaming(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"x.txt": b"A" * 300_000})
    data = bytearray(archive.read_bytes())
    # Rewrite the declared uncompressed size (central directory and local header) to 10 bytes.
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveRejected):
        extract_zip(archive, out, Limits(file_bytes=200_000, ratio=10_000))
    assert list(out.iterdir()) == []


def test_garbage_is_not_a_zip(tmp_path):
    (tmp_path / "a.zip").write_bytes(b"not a zip at all")
    (tmp_path / "out").mkdir()
    with pytest.raises(ArchiveRejected, match="not a valid zip"):
        extract_zip(tmp_path / "a.zip", tmp_path / "out")


async def test_acquire_through_the_azure_client_and_clean_up(settings, world):
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {"main.tf": 'resource "x" "y" {}\n', "docs/readme.md": "# hi\n"}
    tokens = TokenProvider(settings)
    async with AzureDevOps(settings, tokens) as ado:
        org = ado.organization("contoso", CONTOSO_TENANT)
        async with acquire(org, repo.id, "main") as root:
            assert (root / "main.tf").read_text() == 'resource "x" "y" {}\n'
            assert oct(root.parent.stat().st_mode & 0o777) == "0o700"
            kept = root.parent
        assert not kept.exists()
        with pytest.raises(RuntimeError):
            async with acquire(org, repo.id, "main") as root:
                kept = root.parent
                raise RuntimeError("scanner crashed")
        assert not kept.exists()
    tokens.close()
