"""Safe acquisition: a repository's default branch, downloaded and extracted into a private temporary
directory that is removed on every path out.

Extraction trusts nothing in the archive: paths that climb out (`..`), absolute paths, drive letters and
backslashes, links and special files are refused; limits on total size, file count, file size and
compression ratio stop zip bombs, counting the bytes actually written (headers can lie).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import stat
import tempfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CHUNK = 1024 * 1024


class ArchiveRejected(Exception):
    """The archive is unsafe or too large; the message is safe to show as the scan's reason."""


@dataclass(frozen=True)
class Limits:
    total_bytes: int = 2 * 1024**3
    files: int = 100_000
    file_bytes: int = 100 * 1024**2
    ratio: int = 200  # uncompressed / compressed, per file
    archive_bytes: int = 2 * 1024**3


def safe_member_path(name: str) -> PurePosixPath:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveRejected(f"Archive entry has an absolute or Windows path: {name[:100]!r}.")
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        raise ArchiveRejected(f"Archive entry climbs out of the repository: {name[:100]!r}.")
    return path


def check_member(info: zipfile.ZipInfo, limits: Limits) -> None:
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no Unix file type
    if kind == stat.S_IFLNK:
        raise ArchiveRejected(f"Archive entry is a symbolic link: {info.filename[:100]!r}.")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveRejected(f"Archive entry is a special file: {info.filename[:100]!r}.")
    if info.file_size > limits.file_bytes:
        raise ArchiveRejected(f"A file is larger than {limits.file_bytes} bytes: {info.filename[:100]!r}.")
    if info.compress_size and info.file_size / info.compress_size > limits.ratio:
        raise ArchiveRejected(
            f"Compression ratio above {limits.ratio} (a zip bomb?): {info.filename[:100]!r}."
        )


def extract_zip(zip_path: Path, destination: Path, limits: Limits = Limits()) -> int:
    """Extract into `destination` (which must exist and be empty). Returns the bytes written.

    On any refusal the destination's content is removed and ArchiveRejected is raised."""
    written = 0
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = archive.infolist()
            if len(members) > limits.files:
                raise ArchiveRejected(f"The archive has more than {limits.files} entries.")
            for info in members:
                path = safe_member_path(info.filename)
                check_member(info, limits)
                target = destination.joinpath(*path.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written += copy_member(archive, info, target, limits, limits.total_bytes - written)
    except ArchiveRejected:
        clear(destination)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as error:
        clear(destination)
        raise ArchiveRejected(f"The archive is not a valid zip file ({type(error).__name__}).") from None
    return written


def copy_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limits: Limits, room: int
) -> int:
    """Stream one entry, counting real bytes: a header that lies about the size is caught here."""
    copied = 0
    with archive.open(info) as source, open(target, "wb") as sink:
        while chunk := source.read(CHUNK):
            copied += len(chunk)
            if copied > limits.file_bytes:
                raise ArchiveRejected(
                    f"A file is larger than {limits.file_bytes} bytes: {info.filename[:100]!r}."
                )
            if copied > room:
                raise ArchiveRejected(
                    f"The repository is larger than {limits.total_bytes} bytes uncompressed."
                )
            if info.compress_size and copied / info.compress_size > limits.ratio:
                raise ArchiveRejected(
                    f"Compression ratio above {limits.ratio} (a zip bomb?): {info.filename[:100]!r}."
                )
            sink.write(chunk)
    return copied


def clear(directory: Path) -> None:
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def acquire(client, repo_id: str, branch: str, limits: Limits = Limits()) -> AsyncIterator[Path]:
    """Download the branch as a zip (streamed to disk) and extract it; yields the repository root.

    The private directory (mode 0700) is removed whatever happens, errors included."""
    workdir = Path(tempfile.mkdtemp(prefix="panoptica-scan-"))  # mkdtemp creates it with mode 0700
    try:
        archive, root = workdir / "repository.zip", workdir / "repository"
        root.mkdir()
        await client.download_archive(repo_id, branch, archive, max_bytes=limits.archive_bytes)
        await asyncio.to_thread(extract_zip, archive, root, limits)
        archive.unlink()
        yield root
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
