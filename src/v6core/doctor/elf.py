"""What an executable file is, read from its bytes: ELF headers, the C library, Go build info.

Pure functions of a buffer (``bytes``, ``mmap``): nothing is executed.  Everything the
resolver detection in :mod:`v6core.doctor.exe` needs comes from here:

- ``PT_INTERP`` (the dynamic loader: ``ld-linux*`` is glibc, ``ld-musl-*`` musl) and the
  ``DT_NEEDED`` libraries of the ``PT_DYNAMIC`` segment (``libjli.so`` for the java
  launcher, ``libnode.so`` for a distribution's node);
- static binaries: musl's ``strerror`` fallback text "No error information" and glibc's
  "Fatal glibc error" messages are linked into every static binary of the one and the
  other;
- Go's build information, the ``.go.buildinfo`` section (found by name, or by its
  16-byte-aligned magic ``\\xff Go buildinf:`` when section headers are stripped): the
  Go version and the module info lines ``build\\tCGO_ENABLED=0``, ``build\\t-tags=netgo``
  and ``build\\tDefaultGODEBUG=...`` (Go 1.18+ writes them inline, flag bit 2; older
  versions point to two Go string headers, which are followed through the ``PT_LOAD``
  segments);
- ``BusyBox v`` for busybox.

A malformed file raises :class:`ElfError` (a ``ParseError``) naming the file and the
offset; a file that is not ELF is reported by :func:`kind`, not raised.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from v6core.errors import ParseError

__all__ = ["ElfError", "ElfInfo", "GoInfo", "kind", "parse"]

_MAGIC = b"\x7fELF"
_GO_MAGIC = b"\xff Go buildinf:"
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB = 0, 1, 5
_MUSL_SIGNATURE = b"No error information"
_GLIBC_SIGNATURE = b"Fatal glibc error"
_BUSYBOX_MAX = 8 << 20                            # busybox builds are 1-3 MB
_BUSYBOX_SIGNATURE = re.compile(rb"BusyBox v(\d[\w.\-]*)")


class ElfError(ParseError):
    """A malformed ELF file: ``reason`` says what, ``offset`` where (bytes into the file)."""


@dataclass
class GoInfo:
    """The build information a Go linker writes into every binary (Go 1.13+)."""

    version: str                                  # "go1.19.8"
    settings: dict[str, str] = field(default_factory=dict)   # build\tKEY=VALUE lines
    path: str | None = None                       # the main package path

    @property
    def tags(self) -> list[str]:
        return [t for t in self.settings.get("-tags", "").split(",") if t]

    @property
    def cgo(self) -> bool | None:
        """The CGO_ENABLED setting of the build (None: not recorded, before Go 1.18)."""
        v = self.settings.get("CGO_ENABLED")
        return None if v is None else v == "1"

    @property
    def default_godebug(self) -> str | None:
        return self.settings.get("DefaultGODEBUG")


@dataclass
class ElfInfo:
    """What :func:`parse` found."""

    bits: int
    interpreter: str | None = None
    needed: list[str] = field(default_factory=list)
    libc: str | None = None                       # glibc | musl | None
    go: GoInfo | None = None
    busybox: str | None = None                    # busybox version, when it is busybox

    @property
    def static(self) -> bool:
        return self.interpreter is None


def kind(head: bytes) -> str:
    """``elf``, ``script`` (``#!``), ``empty`` or ``not-elf`` from a file's first bytes."""
    if head[:4] == _MAGIC:
        return "elf"
    if head[:2] == b"#!":
        return "script"
    if not head:
        return "empty"
    return "not-elf"


def script_interpreter(head: bytes) -> str:
    """The interpreter line of a ``#!`` script (``/bin/sh -e``)."""
    return head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").strip()


class _Reader:
    def __init__(self, buf: bytes, name: str) -> None:
        self.buf = buf
        self.name = name
        if len(buf) < 0x34 or buf[:4] != _MAGIC:
            raise ElfError(f"{name}: not an ELF file", "not-elf", 0)
        if buf[4] not in (1, 2) or buf[5] not in (1, 2):
            raise ElfError(f"{name}: bad ELF class/data bytes at offset 4", "ident", 4)
        self.is64 = buf[4] == 2
        self.end = "<" if buf[5] == 1 else ">"
        if self.is64 and len(buf) < 0x40:
            raise ElfError(f"{name}: truncated ELF header", "header", len(buf))

    def u(self, fmt: str, off: int) -> tuple:
        try:
            if off < 0 or off >= len(self.buf):
                raise struct.error
            return struct.unpack_from(self.end + fmt, self.buf, off)
        except (struct.error, OverflowError):
            raise ElfError(f"{self.name}: truncated at offset {off}", "truncated", off) from None

    def phdrs(self) -> list[tuple[int, int, int, int, int]]:
        """(type, offset, vaddr, filesz, memsz) per program header."""
        if self.is64:
            phoff, = self.u("Q", 0x20)
            phentsize, phnum = self.u("HH", 0x36)
        else:
            phoff, = self.u("I", 0x1C)
            phentsize, phnum = self.u("HH", 0x2A)
        out = []
        for i in range(min(phnum, 512)):
            o = phoff + i * phentsize
            if self.is64:
                t, _fl, off, va, _pa, fsz, msz = self.u("IIQQQQQ", o)
            else:
                t, off, va, _pa, fsz, msz = self.u("IIIIII", o)
            out.append((t, off, va, fsz, msz))
        return out

    def sections(self) -> dict[str, tuple[int, int]]:
        """name -> (offset, size) of every section, {} when there is no table."""
        if self.is64:
            shoff, = self.u("Q", 0x28)
            shentsize, shnum, shstrndx = self.u("HHH", 0x3A)
        else:
            shoff, = self.u("I", 0x20)
            shentsize, shnum, shstrndx = self.u("HHH", 0x2E)
        if shoff == 0 or shnum == 0 or shstrndx >= shnum or shoff + shnum * shentsize > len(self.buf):
            return {}
        raw = []
        for i in range(min(shnum, 4096)):
            o = shoff + i * shentsize
            if self.is64:
                name, _t, _f, _a, off, size = self.u("IIQQQQ", o)
            else:
                name, _t, _f, _a, off, size = self.u("IIIIII", o)
            raw.append((name, off, size))
        stroff, strsize = raw[shstrndx][1], raw[shstrndx][2]
        out = {}
        for name, off, size in raw:
            if name < strsize:
                out[self.cstr(stroff + name)] = (off, size)
        return out

    def cstr(self, off: int, limit: int = 4096) -> str:
        if off < 0 or off >= len(self.buf):
            raise ElfError(f"{self.name}: string offset {off} beyond the file", "string", off)
        end = self.buf.find(b"\0", off, off + limit)
        return bytes(self.buf[off:end if end >= 0 else off + limit]).decode("utf-8", "replace")

    def vaddr_to_offset(self, loads: list[tuple[int, int, int, int, int]], va: int) -> int:
        for _t, off, base, fsz, _msz in loads:
            if base <= va < base + fsz:
                return off + va - base
        raise ElfError(f"{self.name}: address {va:#x} is in no PT_LOAD segment", "vaddr", None)


def _uvarint(buf: bytes, pos: int, name: str) -> tuple[int, int]:
    value = shift = 0
    for i in range(10):
        if pos + i >= len(buf):
            break
        b = buf[pos + i]
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos + i + 1
        shift += 7
    raise ElfError(f"{name}: bad varint in Go build info at offset {pos}", "go-buildinfo", pos)


def _go_string(r: _Reader, pos: int) -> tuple[str, int]:
    n, pos = _uvarint(r.buf, pos, r.name)
    if pos + n > len(r.buf):
        raise ElfError(f"{r.name}: Go build info string runs past the file at {pos}",
                       "go-buildinfo", pos)
    return bytes(r.buf[pos:pos + n]).decode("utf-8", "replace"), pos + n


def _go_buildinfo(r: _Reader, sections: dict[str, tuple[int, int]],
                  loads: list[tuple[int, int, int, int, int]]) -> GoInfo | None:
    off = sections.get(".go.buildinfo", (None, 0))[0]
    if off is not None and bytes(r.buf[off:off + 14]) != _GO_MAGIC:
        off = None
    if off is None and not sections:               # stripped of section headers: search
        pos = r.buf.find(_GO_MAGIC)
        while pos >= 0:
            if pos % 16 == 0:
                off = pos
                break
            pos = r.buf.find(_GO_MAGIC, pos + 1)
    if off is None:
        return None
    if off + 32 > len(r.buf):
        raise ElfError(f"{r.name}: Go build info header truncated at {off}", "go-buildinfo", off)
    ptrsize, flags = r.buf[off + 14], r.buf[off + 15]
    if flags & 2:                                  # Go 1.18+: inline varint strings
        version, pos = _go_string(r, off + 32)
        modinfo, _ = _go_string(r, pos)
    else:                                          # pointers to Go string headers
        if ptrsize not in (4, 8):
            raise ElfError(f"{r.name}: Go build info pointer size {ptrsize}", "go-buildinfo",
                           off + 14)
        end = ">" if flags & 1 else "<"
        pfmt = end + ("Q" if ptrsize == 8 else "I")

        def read_str(ptr_at: int) -> str:
            hdr_va, = r.u(pfmt[1:], ptr_at)
            hdr = r.vaddr_to_offset(loads, hdr_va)
            data_va, n = r.u("QQ" if ptrsize == 8 else "II", hdr)
            data = r.vaddr_to_offset(loads, data_va) if n else 0
            return bytes(r.buf[data:data + min(n, 1 << 20)]).decode("utf-8", "replace")

        try:
            version = read_str(off + 16)
            modinfo = read_str(off + 16 + ptrsize)
        except struct.error:
            raise ElfError(f"{r.name}: Go build info pointers truncated", "go-buildinfo",
                           off) from None
    # the module info is framed by two 16-byte sentinels
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]
    info = GoInfo(version)
    for line in modinfo.splitlines():
        parts = line.split("\t")
        if parts[0] == "build" and len(parts) >= 2 and "=" in parts[1]:
            k, v = parts[1].split("=", 1)
            info.settings[k] = v
        elif parts[0] == "path" and len(parts) >= 2:
            info.path = parts[1]
    return info


def parse(buf: bytes, name: str = "<buffer>") -> ElfInfo:
    """Read an ELF image (the whole file, or an ``mmap`` of it).

    Raises :class:`ElfError` for a file that is not ELF or is cut short."""
    r = _Reader(buf, name)
    info = ElfInfo(bits=64 if r.is64 else 32)
    phdrs = r.phdrs()
    loads = [p for p in phdrs if p[0] == _PT_LOAD]
    for t, off, _va, fsz, _msz in phdrs:
        if t == _PT_INTERP and fsz:
            info.interpreter = r.cstr(off, min(fsz, 4096))
    for t, off, _va, fsz, _msz in phdrs:
        if t != _PT_DYNAMIC:
            continue
        size = 16 if r.is64 else 8
        entries = []
        for i in range(min(fsz // size, 4096)):
            tag, val = r.u("qQ" if r.is64 else "iI", off + i * size)
            if tag == _DT_NULL:
                break
            entries.append((tag, val))
        strtab = next((v for tg, v in entries if tg == _DT_STRTAB), None)
        if strtab is not None:
            base = r.vaddr_to_offset(loads, strtab) if loads else strtab
            info.needed = [r.cstr(base + v) for tg, v in entries if tg == _DT_NEEDED]
    if info.interpreter is not None:
        b = info.interpreter.rsplit("/", 1)[-1]
        if b.startswith("ld-musl-"):
            info.libc = "musl"
        elif b.startswith(("ld-linux", "ld64.so", "ld.so")):
            info.libc = "glibc"
    elif not info.needed:
        if r.buf.find(_MUSL_SIGNATURE) >= 0:
            info.libc = "musl"
        elif r.buf.find(_GLIBC_SIGNATURE) >= 0:
            info.libc = "glibc"
    info.go = _go_buildinfo(r, r.sections(), loads)
    m = (_BUSYBOX_SIGNATURE.search(r.buf) if info.go is None and len(r.buf) < _BUSYBOX_MAX
         else None)
    if m:
        info.busybox = m.group(1).decode("ascii", "replace")
    return info
