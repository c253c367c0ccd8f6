"""Zip archives from someone else, read within a bound on memory.

A model file is a zip archive whose estimator is itself a zip of ``.npy``
arrays (NumPy's ``.npz``, or skops' format). Each size a member declares is
checked before it is inflated, every read stops one byte past the bound
(a member whose data inflate past its declared size fails its CRC instead of
filling memory), and an ``.npy`` member may not declare an array larger than
its own inflated size (NumPy allocates the declared shape before reading).
Nothing is ever extracted to disk, so member names (``../x``, ``/etc/x``)
are only keys.
"""

from __future__ import annotations

import io
import math
import zipfile


class TooLarge(Exception):
    """A member, or all of them, would inflate past the bound."""


def read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The inflated bytes of ``zf``'s member ``name``, at most ``limit`` of them.

    Raises
    ------
    KeyError
        No such member.
    TooLarge
        It declares, or inflates to, more than ``limit`` bytes.
    """
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise TooLarge(f"{name} would inflate to {_mb(info.file_size)}, more than the "
                       f"{_mb(limit)} allowed")
    with zf.open(info) as fid:
        blob = fid.read(limit + 1)
    if len(blob) > limit:
        raise TooLarge(f"{name} inflates to more than the {_mb(limit)} allowed")
    return blob


def check_arrays(blob: bytes, limit: int) -> None:
    """Check that the zip of ``.npy`` arrays ``blob`` fits in ``limit`` bytes.

    The members' declared sizes together, and each array's declared shape,
    must fit; nothing is inflated but the ``.npy`` headers.

    Raises
    ------
    TooLarge
    zipfile.BadZipFile, ValueError
        ``blob`` is not a zip archive, or an ``.npy`` header is malformed.
    """
    import numpy as np

    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        infos = zf.infolist()
        total = sum(info.file_size for info in infos)
        if total > limit:
            raise TooLarge(f"its arrays would inflate to {_mb(total)}, more than the "
                           f"{_mb(limit)} allowed")
        for info in infos:
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as fid:
                version = np.lib.format.read_magic(fid)
                read = {(1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if read is None:
                    raise ValueError(f"{info.filename} is an .npy file of version "
                                     f"{version}, which is not read")
                shape, _, dtype = read(fid)
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > info.file_size:
                raise TooLarge(f"{info.filename} declares an array of shape {shape} "
                               f"({_mb(nbytes)}) in {info.file_size} bytes")


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n:,} bytes"
