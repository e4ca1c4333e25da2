"""Writing where there may be no room: a full disk, a read-only mount or a path that is not a
folder is not the call's fault, so it is not quarantined with the call; the stage stops with
one error that says which location, what the system said, and that nothing was lost."""

from __future__ import annotations

import errno
from contextlib import contextmanager
from pathlib import Path

# The errors that are about the place written to, not the data written.
_LOCATION_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR,
                    errno.EEXIST, errno.EFBIG, errno.EIO}


class StorageError(RuntimeError):
    """A location callcanon must write to cannot take the write."""


@contextmanager
def writing(what: str, path: Path):
    """Turn a location's OSError into a StorageError naming it (`what`: "audio store")."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _LOCATION_ERRORS:
            raise
        raise StorageError(
            f"cannot write to the {what} at {path}: {exc.strerror or type(exc).__name__}. Nothing was "
            f"removed from where it came from; free space or fix the location, then re-run this call date."
        ) from None  # the OSError names the file, which may be a sender's name holding a number
