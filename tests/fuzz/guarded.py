"""Buffers that sit against PROT_NONE guard pages, shared by the mutation tests and the
fuzz target: a read or write one byte past either end is a segmentation fault."""

from __future__ import annotations

import ctypes
import mmap

PAGE = mmap.PAGESIZE
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


class Guarded:
    """Three pages: PROT_NONE, read/write, PROT_NONE.  Raises OSError if mprotect fails."""

    def __init__(self) -> None:
        self.mm = mmap.mmap(-1, 3 * PAGE)
        self._anchor = ctypes.c_char.from_buffer(self.mm)  # pins the mapping
        base = ctypes.addressof(self._anchor)
        for page in (0, 2):
            if _libc.mprotect(base + page * PAGE, PAGE, 0) != 0:
                raise OSError(ctypes.get_errno(), "mprotect")
        self.view = memoryview(self.mm)

    def at_end(self, data: bytes) -> memoryview:
        """``data`` copied so that it ends right before the upper guard page."""
        start = 2 * PAGE - len(data)
        self.mm[start:2 * PAGE] = data
        return self.view[start:2 * PAGE]

    def at_start(self, data: bytes) -> memoryview:
        """``data`` copied so that it starts right after the lower guard page."""
        self.mm[PAGE:PAGE + len(data)] = data
        return self.view[PAGE:PAGE + len(data)]

    def out(self, size: int) -> memoryview:
        """A writable ``size``-byte buffer that ends at the upper guard page."""
        return self.view[2 * PAGE - size:2 * PAGE]
