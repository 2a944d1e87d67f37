"""Safe acquisition: a repository's default branch, downloaded and extracted into a private temporary
directory that is removed on every path out.

Extraction trusts nothing in the archive: paths that climb out (`..`), absolute paths, drive letters and
backslashes, empty names, links and special files are refused; limits on entry count, total size, file size
and compression ratio stop zip bombs. Sizes are checked as declared (before anything is written: the entry
count from the end record before the directory is even parsed, then each entry and the declared total) AND
counted while streaming (headers can lie). A refused archive raises `ArchiveRejected` with a reason that is safe
to show as the scan's reason, and leaves nothing behind.

Azure DevOps zips hold the files relative to the requested path (the repository root here): no top-level folder
to strip (sandbox/devops.py builds the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import stat
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CHUNK = 1024 * 1024
MiB = 1024 * 1024


class ArchiveRejected(Exception):
    """The archive is unsafe or too large; the message is safe to show as the scan's reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cancelled(Exception):
    """Extraction stopped because its caller went away (see `acquire`)."""


@dataclass(frozen=True)
class Limits:
    total_bytes: int = 2 * 1024**3  # uncompressed, all files
    files: int = 100_000  # entries, directories included
    file_bytes: int = 100 * MiB  # uncompressed, one file
    # Uncompressed / compressed, per file, once the file is larger than `ratio_from_bytes`: a small file
    # that compresses very well is harmless (and not that rare), a large one is what a zip bomb looks like.
    ratio: int = 200
    ratio_from_bytes: int = 64 * 1024
    archive_bytes: int = 2 * 1024**3  # the zip as downloaded


def short(name: str) -> str:
    return repr(name[:100] + ("…" if len(name) > 100 else ""))


def safe_member_path(name: str) -> PurePosixPath:
    """The entry's path inside the destination; refuses anything that could land elsewhere."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveRejected(f"Archive entry has an absolute or Windows path: {short(name)}.")
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        raise ArchiveRejected(f"Archive entry climbs out of the repository: {short(name)}.")
    if not path.parts and not name.endswith("/"):
        raise ArchiveRejected(f"Archive entry has an empty name: {short(name)}.")
    return path


def check_member(info: zipfile.ZipInfo, limits: Limits) -> None:
    """What the entry's header declares: its type, its size, its compression ratio."""
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no Unix file type
    if kind == stat.S_IFLNK:
        raise ArchiveRejected(f"Archive entry is a symbolic link: {short(info.filename)}.")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveRejected(f"Archive entry is a device or special file: {short(info.filename)}.")
    if info.file_size > limits.file_bytes:
        raise too_large_file(info, limits)
    if too_compressed(info.file_size, info.compress_size, limits):
        raise zip_bomb(info, limits)


def too_compressed(size: int, compressed: int, limits: Limits) -> bool:
    return size > limits.ratio_from_bytes and size > limits.ratio * max(compressed, 1)


def too_large_file(info: zipfile.ZipInfo, limits: Limits) -> ArchiveRejected:
    return ArchiveRejected(f"A file is larger than {limits.file_bytes} bytes: {short(info.filename)}.")


def too_large_total(limits: Limits) -> ArchiveRejected:
    return ArchiveRejected(f"The repository is larger than {limits.total_bytes} bytes uncompressed.")


def zip_bomb(info: zipfile.ZipInfo, limits: Limits) -> ArchiveRejected:
    return ArchiveRejected(f"Compression ratio above {limits.ratio} (a zip bomb?): {short(info.filename)}.")


def too_many_entries(limits: Limits) -> ArchiveRejected:
    return ArchiveRejected(f"The archive has more than {limits.files} entries.")


def check_end_record(zip_path: Path, limits: Limits) -> None:
    """The entry count and directory size from the end record, before `zipfile` parses the whole directory
    (which it would hold in memory). Anything unreadable is left to `zipfile` to refuse."""
    size = zip_path.stat().st_size
    with open(zip_path, "rb") as handle:
        tail_at = max(0, size - (22 + 65_535))  # the end record, then a comment of at most 64 KiB
        handle.seek(tail_at)
        tail = handle.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            return
        entries, directory_bytes = struct.unpack_from("<HL", tail, at + 10)
        zip64 = entries == 0xFFFF or directory_bytes == 0xFFFFFFFF
        if zip64 and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
            (zip64_at,) = struct.unpack_from("<Q", tail, at - 20 + 8)  # the zip64 end record
            handle.seek(zip64_at)
            record = handle.read(56)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                entries, directory_bytes = struct.unpack_from("<QQ", record, 32)
    if entries > limits.files or directory_bytes > limits.files * 1024:
        raise too_many_entries(limits)


def extract_zip(
    zip_path: Path, destination: Path, limits: Limits = Limits(), stop: threading.Event | None = None
) -> int:
    """Extract into `destination` (which must exist and be empty). Returns the bytes written.

    On any refusal or error the destination's content is removed: ArchiveRejected for the archive's faults
    (with a reason safe to show), the original exception otherwise. `stop` (set from another thread) ends the
    extraction between chunks with `Cancelled`."""
    written = 0
    try:
        check_end_record(zip_path, limits)
        with zipfile.ZipFile(zip_path) as archive:
            members = archive.infolist()
            if len(members) > limits.files:
                raise too_many_entries(limits)
            planned = [(info, safe_member_path(info.filename)) for info in members]
            for info, _ in planned:
                check_member(info, limits)
            if sum(info.file_size for info in members) > limits.total_bytes:
                raise too_large_total(limits)
            if sum(info.compress_size for info in members) > zip_path.stat().st_size:
                # Entries that overlap (one compressed stream behind many names), or inflated sizes that
                # would hide a compression ratio.
                raise ArchiveRejected(
                    "The archive's entries overlap or declare impossible sizes (a zip bomb?)."
                )
            for info, path in planned:
                target = destination.joinpath(*path.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written += copy_member(archive, info, target, limits, limits.total_bytes - written, stop)
    except ArchiveRejected:
        clear(destination)
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        ValueError,
        NotImplementedError,
        struct.error,
        zlib.error,
    ) as error:
        # Includes a wrong CRC: zipfile stops at the declared size, so a header that understates it ends here.
        clear(destination)
        raise ArchiveRejected(f"The archive is not a valid zip file ({describe(error)}).") from None
    except OSError as error:  # e.g. a file and a folder of the same name, a name too long, a full disk
        clear(destination)
        raise ArchiveRejected(
            f"The archive could not be extracted ({error.strerror or type(error).__name__})."
        ) from None
    except BaseException:
        clear(destination)
        raise
    return written


def describe(error: Exception) -> str:
    text = str(error)
    if isinstance(error, zipfile.BadZipFile) and text.startswith("Bad CRC-32"):
        return "an entry's content does not match its header"
    return type(error).__name__


def copy_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    limits: Limits,
    room: int,
    stop: threading.Event | None,
) -> int:
    """Stream one entry, counting the bytes really produced: a header that lies about the size is caught here."""
    copied = 0
    with archive.open(info) as source, open(target, "wb") as sink:
        while chunk := source.read(CHUNK):
            if stop is not None and stop.is_set():
                raise Cancelled()
            copied += len(chunk)
            if copied > limits.file_bytes:
                raise too_large_file(info, limits)
            if copied > room:
                raise too_large_total(limits)
            if too_compressed(copied, info.compress_size, limits):
                raise zip_bomb(info, limits)
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

    `client` is an organization of core.azure.client (anything with `download_archive`). The private directory
    (mode 0700) is removed whatever happens: errors, refusals and cancellation included."""
    workdir = Path(tempfile.mkdtemp(prefix="panoptica-scan-"))  # mkdtemp creates it with mode 0700
    try:
        archive, root = workdir / "repository.zip", workdir / "repository"
        root.mkdir()
        await client.download_archive(repo_id, branch, archive, max_bytes=limits.archive_bytes)
        await extract_in_thread(archive, root, limits)
        archive.unlink()
        yield root
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def extract_in_thread(archive: Path, root: Path, limits: Limits) -> None:
    """extract_zip off the event loop. If we are cancelled, the thread is told to stop and awaited, so it can
    never write into the directory after `acquire` removed it."""
    stop = threading.Event()
    work = asyncio.ensure_future(asyncio.to_thread(extract_zip, archive, root, limits, stop))
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(BaseException):
            await work
        raise
