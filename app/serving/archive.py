"""A folder as a .tar.gz made while it is sent: never the whole archive in memory."""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast


class _Chunks:
    """A write-only file whose bytes are gzipped and taken away as they come. zlib's gzip
    header has no time in it (tarfile's has the time of writing), so one folder is always
    the same bytes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.gzip = zlib.compressobj(wbits=31)

    def write(self, data: bytes) -> int:
        self.parts.append(self.gzip.compress(data))
        return len(data)

    def take(self, last: bool = False) -> Iterator[bytes]:
        if last:
            self.parts.append(self.gzip.flush())
        data, self.parts = b"".join(self.parts), []
        if data:
            yield data


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """No server user or group names in the archive."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def tar_gz(folder: Path, root: str) -> Iterator[bytes]:
    """The files under `folder` as a gzipped tar with members under `root/`, a chunk a file."""
    sink = _Chunks()
    # stream mode ("w|") only ever calls write(): _Chunks is file enough
    with tarfile.open(fileobj=cast(IO[bytes], sink), mode="w|") as tar:
        tar.add(folder, root, recursive=False, filter=_anonymous)
        for path in sorted(folder.rglob("*")):
            arcname = f"{root}/{path.relative_to(folder).as_posix()}"
            tar.add(path, arcname, recursive=False, filter=_anonymous)
            yield from sink.take()
    yield from sink.take(last=True)
