"""Extension modules and Cython directives; all metadata lives in pyproject.toml."""

import os
import sys
import sysconfig
from glob import glob

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# -O2 and nothing host-specific: wheels must run on any x86_64/aarch64 of their platform tag.
CFLAGS = ["-O2", "-fno-strict-aliasing", "-Wno-unreachable-code"]
MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if os.environ.get("V6CORE_DEBUG"):
    CFLAGS = ["-O0", "-g"]
    MACROS.append(("V6CORE_DEBUG", "1"))
# The bulk key kernels are a chain of inline functions per flavour loop.  GCC -O2 inlines a
# function declared inline only up to 70 estimated instructions (GCC 12); the chain grew
# past it and went out of line, and every non-musl key took 15-30 % longer.  Raised for
# these two modules only; clang has no such parameter.
BULK_KERNELS = {"src/v6core/_core/bulk_keys.pyx", "src/v6core/_core/bulk_order.pyx"}
CC = os.environ.get("CC") or sysconfig.get_config_var("CC") or ""
INLINE = [] if "clang" in CC or os.environ.get("V6CORE_DEBUG") else [
    "--param=max-inline-insns-single=200"]

# The responder's optional XDP fast path (see src/v6core/responder/bpf/README.md): the
# BPF object is compiled here when clang is present and shipped as package data; the
# libbpf-linked loader (_xdp.pyx) is built only where libbpf's headers are.  Without
# either the build still succeeds and `v6core respond --xdp` says what is missing.
XDP = "src/v6core/responder/_xdp.pyx"
HAVE_LIBBPF = not os.environ.get("V6CORE_NO_XDP") and any(
    os.path.exists(os.path.join(d, "bpf", "libbpf.h"))
    for d in ["/usr/include", "/usr/local/include",
              *filter(None, os.environ.get("CPATH", "").split(":"))])
if not os.environ.get("V6CORE_NO_XDP"):
    sys.path.insert(0, "src/v6core/responder/bpf")
    from build_bpf import build_bpf  # noqa: E402  (a file beside the C source, not a package)
    build_bpf()

# One extension per .pyx under src/v6core (the compiled core in _core/, the responder's
# packet loop beside its Python layer); the module name follows the path.
extensions = [
    Extension(
        os.path.splitext(os.path.relpath(path, "src"))[0].replace(os.sep, "."),
        [path],
        include_dirs=[numpy.get_include(), "src/v6core/_core"],
        extra_compile_args=CFLAGS + (INLINE if path in BULK_KERNELS else []),
        define_macros=MACROS,
        libraries=["bpf"] if path == XDP else [],
    )
    for path in sorted(glob("src/v6core/**/*.pyx", recursive=True))
    if path != XDP or HAVE_LIBBPF
]

# Cython's translation and the C compiles run on every core (about 20 modules).
JOBS = os.cpu_count() or 1

setup(
    options={"build_ext": {"parallel": JOBS}},
    ext_modules=cythonize(
        extensions,
        nthreads=JOBS,
        compiler_directives={
            "language_level": 3,
            "embedsignature": True,
            "binding": True,
            "boundscheck": True,  # boundscheck and wraparound go off per function, after a length check
            "cdivision": True,
            "initializedcheck": True,
        },
        annotate=bool(os.environ.get("V6CORE_ANNOTATE")),
    ),
)
