"""Safe acquisition: archives are extracted only when harmless; a refused one leaves nothing behind, and the
private working directory is removed on every path out."""

import asyncio
import io
import random
import stat
import threading
import zipfile
from pathlib import Path

import pytest

from core.azure.client import AzureDevOps
from core.azure.errors import ArchiveTooLarge
from core.azure.tokens import TokenProvider
from core.scans import acquisition
from core.scans.acquisition import ArchiveRejected, Limits, acquire, copy_member, extract_zip
from tests.worlds import CONTOSO_TENANT

SMALL = Limits(total_bytes=100_000, files=10, file_bytes=50_000, ratio=20, ratio_from_bytes=1_000)


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def noise(size: int, seed: int = 0) -> bytes:
    """Incompressible and reproducible."""
    return random.Random(seed).randbytes(size)


def special(name: str, kind: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: external_attr's high 16 bits are st_mode
    info.external_attr = (kind | 0o777) << 16
    return info


@pytest.fixture
def out(tmp_path) -> Path:
    destination = tmp_path / "out"
    destination.mkdir()
    return destination


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_normal_repository_extracts_at_the_archive_root(tmp_path, out):
    entries = [
        ("README.md", b"# hi\n"),
        ("src/", b""),
        ("src/app.py", b"print(1)\n"),
        ("infra/modules/net/main.tf", b'resource "x" "y" {}\n'),
        ("./docs/a.md", b"a"),
    ]
    archive = make_zip(tmp_path / "a.zip", entries)
    assert extract_zip(archive, out, SMALL) == 5 + 9 + 20 + 1
    assert tree(out) == {
        "README.md": b"# hi\n",
        "docs/a.md": b"a",
        "infra/modules/net/main.tf": b'resource "x" "y" {}\n',
        "src/app.py": b"print(1)\n",
    }
    # Modes come from our umask, never from the archive (no setuid, no world-writable files).
    assert all(not p.stat().st_mode & (stat.S_ISUID | stat.S_IWOTH) for p in out.rglob("*"))


def test_a_small_very_compressible_file_is_not_a_zip_bomb(tmp_path, out):
    archive = make_zip(tmp_path / "a.zip", [("blank.txt", b" " * 900)])  # ratio ~50, under ratio_from_bytes
    assert extract_zip(archive, out, SMALL) == 900


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("../evil.sh", "Archive entry climbs out of the repository: '../evil.sh'."),
        ("src/../../evil.sh", "Archive entry climbs out of the repository: 'src/../../evil.sh'."),
        ("/etc/cron.d/x", "Archive entry has an absolute or Windows path: '/etc/cron.d/x'."),
        ("C:\\Windows\\x", "Archive entry has an absolute or Windows path: 'C:\\\\Windows\\\\x'."),
        ("C:x", "Archive entry has an absolute or Windows path: 'C:x'."),
        ("src\\..\\..\\evil", "Archive entry has an absolute or Windows path: 'src\\\\..\\\\..\\\\evil'."),
        (special("link", stat.S_IFLNK), "Archive entry is a symbolic link: 'link'."),
        (special("dev", stat.S_IFCHR), "Archive entry is a device or special file: 'dev'."),
        (special("fifo", stat.S_IFIFO), "Archive entry is a device or special file: 'fifo'."),
        (special("blk", stat.S_IFBLK), "Archive entry is a device or special file: 'blk'."),
    ],
)
def test_entries_that_could_land_elsewhere_are_refused_and_leave_nothing(tmp_path, out, entry, reason):
    archive = make_zip(
        tmp_path / "a.zip", [("first.txt", b"listed before the bad entry"), (entry, b"/etc/passwd")]
    )
    with pytest.raises(ArchiveRejected) as refused:
        extract_zip(archive, out, SMALL)
    assert refused.value.reason == str(refused.value) == reason
    assert list(out.iterdir()) == []
    assert not (tmp_path / "evil.sh").exists()


def test_an_entry_written_before_a_late_refusal_is_removed(tmp_path, out):
    # Every header is fine, so "first.txt" is written; the second entry's compressed bytes are then corrupt.
    archive = make_zip(tmp_path / "a.zip", [("first.txt", b"x"), ("dir/second.txt", b"y")])
    data = archive.read_bytes()
    with pytest.raises(ArchiveRejected, match=r"^The archive is not a valid zip file"):
        extract_zip(_corrupt_second_entry(tmp_path, data), out, SMALL)
    assert list(out.iterdir()) == []


def _corrupt_second_entry(tmp_path: Path, data: bytes) -> Path:
    second = data.find(b"PK\x03\x04", 4)
    name_length = int.from_bytes(data[second + 26 : second + 28], "little")
    extra_length = int.from_bytes(data[second + 28 : second + 30], "little")
    at = second + 30 + name_length + extra_length  # the second entry's compressed bytes
    broken = tmp_path / "broken.zip"
    broken.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])
    return broken


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([(f"f{i}", b"x") for i in range(11)], "The archive has more than 10 entries."),
        ([("big.bin", noise(50_001))], "A file is larger than 50000 bytes: 'big.bin'."),
        (
            [(f"part{i}.bin", noise(40_000, i)) for i in range(3)],
            "The repository is larger than 100000 bytes uncompressed.",
        ),
        ([("bomb.txt", b"0" * 40_000)], "Compression ratio above 20 (a zip bomb?): 'bomb.txt'."),
    ],
)
def test_limits_are_enforced_on_declared_sizes(tmp_path, out, entries, reason):
    archive = make_zip(tmp_path / "a.zip", entries)
    with pytest.raises(ArchiveRejected) as refused:
        extract_zip(archive, out, SMALL)
    assert str(refused.value) == reason
    assert list(out.iterdir()) == []


def test_a_real_zip_bomb_is_refused_with_the_default_limits(tmp_path, out):
    archive = make_zip(tmp_path / "a.zip", [("zeros.bin", bytes(50 * 1024 * 1024))])  # ~1000:1
    assert archive.stat().st_size < 100_000
    with pytest.raises(
        ArchiveRejected, match=r"^Compression ratio above 200 \(a zip bomb\?\): 'zeros.bin'\.$"
    ):
        extract_zip(archive, out)
    assert list(out.iterdir()) == []


def _set_sizes(archive: Path, *, uncompressed: int | None = None, compressed: int | None = None) -> None:
    """Rewrite the first entry's declared sizes in its local header and in the central directory."""
    data = bytearray(archive.read_bytes())
    for signature, compressed_at in ((b"PK\x01\x02", 20), (b"PK\x03\x04", 18)):
        at = data.find(signature)
        if compressed is not None:
            data[at + compressed_at : at + compressed_at + 4] = compressed.to_bytes(4, "little")
        if uncompressed is not None:
            data[at + compressed_at + 4 : at + compressed_at + 8] = uncompressed.to_bytes(4, "little")
    archive.write_bytes(bytes(data))


def test_a_header_that_understates_the_size_is_refused(tmp_path, out):
    archive = make_zip(
        tmp_path / "a.zip", [("x.txt", bytes(range(256)) * 400)]
    )  # 102,400 bytes, over every limit
    _set_sizes(archive, uncompressed=10)  # declared: 10 bytes, so every declared check passes
    with pytest.raises(ArchiveRejected) as refused:
        extract_zip(archive, out, Limits(total_bytes=50_000, file_bytes=50_000))
    assert (
        str(refused.value)
        == "The archive is not a valid zip file (an entry's content does not match its header)."
    )
    assert list(out.iterdir()) == []


def test_a_header_that_inflates_the_compressed_size_to_hide_the_ratio_is_refused(tmp_path, out):
    archive = make_zip(tmp_path / "a.zip", [("zeros.bin", bytes(40_000))])
    _set_sizes(archive, compressed=39_000)  # declared ratio ~1; the archive is only a few hundred bytes
    with pytest.raises(ArchiveRejected) as refused:
        extract_zip(archive, out, SMALL)
    assert str(refused.value) == "The archive's entries overlap or declare impossible sizes (a zip bomb?)."
    assert list(out.iterdir()) == []


class LyingArchive:
    """An archive whose entry produces more bytes than its header declares (zipfile itself stops at the
    declared size; this checks that our own count does not rely on it)."""

    def __init__(self, produced: bytes) -> None:
        self.produced = produced

    def open(self, info):
        return io.BytesIO(self.produced)


@pytest.mark.parametrize(
    ("produced", "room", "reason"),
    [
        (b"a" * 60_000, 100_000, "A file is larger than 50000 bytes: 'x.txt'."),
        (b"a" * 30_000, 20_000, "The repository is larger than 100000 bytes uncompressed."),
        (b"\0" * 30_000, 100_000, "Compression ratio above 20 (a zip bomb?): 'x.txt'."),
    ],
)
def test_the_bytes_really_produced_are_counted_while_streaming(tmp_path, produced, room, reason):
    info = zipfile.ZipInfo("x.txt")
    info.file_size, info.compress_size = 10, 1_000  # what the header claims
    limits = Limits(total_bytes=100_000, files=10, file_bytes=50_000, ratio=20, ratio_from_bytes=1_000)
    with pytest.raises(ArchiveRejected) as refused:
        copy_member(LyingArchive(produced), info, tmp_path / "x.txt", limits, room, None)
    assert str(refused.value) == reason


def test_an_end_record_announcing_too_many_entries_is_refused_before_parsing(tmp_path, out):
    archive = make_zip(tmp_path / "a.zip", [("a.txt", b"a")])
    data = bytearray(archive.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 10 : end + 12] = (11).to_bytes(2, "little")  # total entries: 11 (the directory holds 1)
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveRejected, match=r"^The archive has more than 10 entries\.$"):
        extract_zip(archive, out, SMALL)


def test_a_file_and_a_folder_of_the_same_name_is_refused(tmp_path, out):
    archive = make_zip(tmp_path / "a.zip", [("a", b"file"), ("a/b", b"inside a file?")])
    with pytest.raises(ArchiveRejected, match=r"^The archive could not be extracted \(File exists\)\.$"):
        extract_zip(archive, out, SMALL)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("content", [b"not a zip at all", b""])
def test_garbage_is_not_a_zip(tmp_path, out, content):
    (tmp_path / "a.zip").write_bytes(content)
    with pytest.raises(ArchiveRejected) as refused:
        extract_zip(tmp_path / "a.zip", out)
    assert str(refused.value) == "The archive is not a valid zip file (BadZipFile)."


# --- acquire: download through the Azure client, private directory, removed on every path out --------------


class FakeOrganization:
    """Stands in for core.azure.client's organization: 'downloads' a prepared zip."""

    def __init__(self, zip_bytes: bytes) -> None:
        self.zip_bytes = zip_bytes
        self.calls = []

    async def download_archive(self, repo_id, branch, dest_path, *, max_bytes=None):
        self.calls.append((repo_id, branch, max_bytes))
        Path(dest_path).write_bytes(self.zip_bytes)
        return len(self.zip_bytes)


def zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """Our own temporary directory, so "nothing left behind" can be checked exactly."""
    directory = tmp_path / "scratch"
    directory.mkdir()
    monkeypatch.setattr(acquisition.tempfile, "tempdir", str(directory))
    return directory


async def test_acquire_yields_the_extracted_root_in_a_private_directory_and_removes_it(scratch):
    org = FakeOrganization(zip_bytes([("main.tf", b"x"), ("a/b.txt", b"y")]))
    async with acquire(org, "repo-1", "refs/heads/main", Limits(archive_bytes=1234)) as root:
        assert root.parent.parent == scratch
        assert stat.S_IMODE(root.parent.stat().st_mode) == 0o700
        assert tree(root) == {"a/b.txt": b"y", "main.tf": b"x"}
        assert [p.name for p in root.parent.iterdir()] == ["repository"]  # the zip is gone already
    assert org.calls == [("repo-1", "refs/heads/main", 1234)]
    assert list(scratch.iterdir()) == []


async def test_acquire_removes_everything_when_the_body_raises(scratch):
    org = FakeOrganization(zip_bytes([("main.tf", b"x")]))
    with pytest.raises(RuntimeError, match="scanner crashed"):
        async with acquire(org, "repo-1", "main") as root:
            assert root.is_dir()
            raise RuntimeError("scanner crashed")
    assert list(scratch.iterdir()) == []


async def test_acquire_refuses_an_unsafe_archive_and_removes_everything(scratch):
    org = FakeOrganization(zip_bytes([("ok.txt", b"x"), ("../../evil", b"y")]))
    with pytest.raises(
        ArchiveRejected, match=r"^Archive entry climbs out of the repository: '\.\./\.\./evil'\.$"
    ):
        async with acquire(org, "repo-1", "main"):
            pytest.fail("an unsafe archive must never be yielded")
    assert list(scratch.iterdir()) == []
    assert not (scratch.parent / "evil").exists()


async def test_acquire_removes_everything_when_the_download_fails(scratch):
    class Failing:
        async def download_archive(self, repo_id, branch, dest_path, *, max_bytes=None):
            Path(dest_path).write_bytes(b"partial")
            raise ConnectionError("reset")

    with pytest.raises(ConnectionError):
        async with acquire(Failing(), "repo-1", "main"):
            pytest.fail("nothing to yield")
    assert list(scratch.iterdir()) == []


async def test_cancelling_during_extraction_waits_for_the_thread_then_removes_everything(
    scratch, monkeypatch
):
    """A thread cannot be cancelled: were it left running, it would recreate folders after the cleanup."""
    started, release, finished = asyncio.Event(), threading.Event(), threading.Event()
    loop = asyncio.get_running_loop()
    copy, extract = acquisition.copy_member, acquisition.extract_zip

    def slow_copy(archive, info, target, limits, room, stop):
        written = copy(archive, info, target, limits, room, stop)
        if info.filename == "a.txt":
            loop.call_soon_threadsafe(started.set)
            release.wait(5)  # the task is cancelled meanwhile; "b/c.txt" comes next
        return written

    def extract_then_tell(*args):
        try:
            return extract(*args)
        finally:
            finished.set()

    monkeypatch.setattr(acquisition, "copy_member", slow_copy)
    monkeypatch.setattr(acquisition, "extract_zip", extract_then_tell)
    org = FakeOrganization(zip_bytes([("a.txt", b"a"), ("b/c.txt", b"c")]))

    async def scan():
        async with acquire(org, "repo-1", "main"):
            pytest.fail("cancelled before extraction finished")

    task = asyncio.create_task(scan())
    await started.wait()
    task.cancel()
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(finished.wait, 5)
    assert list(scratch.iterdir()) == []


async def test_acquire_through_the_azure_client_against_the_emulator(settings, world, scratch):
    payments = world.organization("contoso").project("Payments")
    repo = next(r for r in payments.repositories if r.name == "payments-api")
    repo.files = {
        "main.tf": 'resource "x" "y" {}\n',
        "docs/readme.md": "# hi\n",
        "k8s/app.yaml": "kind: Pod\n",
    }
    tokens = TokenProvider(settings)
    try:
        async with AzureDevOps(settings, tokens) as ado:
            org = ado.organization("contoso", CONTOSO_TENANT)
            async with acquire(org, repo.id, repo.default_branch) as root:
                assert tree(root) == {
                    "docs/readme.md": b"# hi\n",
                    "k8s/app.yaml": b"kind: Pod\n",
                    "main.tf": b'resource "x" "y" {}\n',
                }
                assert stat.S_IMODE(root.parent.stat().st_mode) == 0o700
            assert list(scratch.iterdir()) == []
            # A scanner that crashes inside: the downloaded repository is removed all the same.
            with pytest.raises(RuntimeError, match="scanner crashed"):
                async with acquire(org, repo.id, repo.default_branch) as root:
                    assert (root / "main.tf").is_file()
                    raise RuntimeError("scanner crashed")
            assert list(scratch.iterdir()) == []
            # An archive over the download limit: the client refuses it, nothing is left.
            with pytest.raises(ArchiveTooLarge):
                async with acquire(org, repo.id, repo.default_branch, Limits(archive_bytes=50)):
                    pytest.fail("too large to download")
            assert list(scratch.iterdir()) == []
    finally:
        tokens.close()
