"""Build the benchmarks' compiled helpers (bench-only code that never ships in the wheel).

``bench/_loadgen.pyx`` (the AF_PACKET NS load generator of ``bench_respond``) cimports
v6core's NDP codec and the Linux declarations from the ``.pxd`` files of the v6core that
the benchmarks import -- the in-place build under ``src/`` or the installed package,
which ships its ``.pxd`` files -- and is compiled with Cython and the C compiler at first
use.  The result is kept under ``bench/build/<key>/``, where the key hashes the sources
involved and the interpreter, so a changed codec or a new Python rebuilds it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def _v6core_root() -> Path:
    import v6core
    return Path(v6core.__file__).resolve().parent


def _key(pyx: Path) -> str:
    root = _v6core_root()
    h = hashlib.sha256()
    h.update(sys.version.encode())
    h.update(str(root).encode())
    for p in [pyx, *sorted(root.rglob("*.pxd"))]:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def build_module(name: str) -> ModuleType:
    """Compile ``bench/<name>.pyx`` (once per source change) and import it."""
    pyx = HERE / f"{name}.pyx"
    out = HERE / "build" / _key(pyx)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    so = out / f"{name}{suffix}"
    if not so.exists():
        _compile(pyx, name, out)
    spec = importlib.util.spec_from_file_location(name, so)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _compile(pyx: Path, name: str, out: Path) -> None:
    import numpy
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    root = _v6core_root()
    out.mkdir(parents=True, exist_ok=True)
    ext = Extension(name, [str(pyx)], include_dirs=[numpy.get_include()],
                    extra_compile_args=["-O2", "-fno-strict-aliasing"],
                    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
    exts = cythonize([ext], include_path=[str(root.parent)], build_dir=str(out / "c"),
                     compiler_directives={"language_level": 3, "boundscheck": True,
                                          "initializedcheck": True},
                     quiet=True)
    dist = Distribution({"ext_modules": exts})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(out)
    cmd.build_temp = str(out / "tmp")
    cmd.inplace = False
    cwd = os.getcwd()
    try:
        os.chdir(HERE)
        dist.run_command("build_ext")
    finally:
        os.chdir(cwd)
