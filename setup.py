"""Extension modules and Cython directives; all metadata lives in pyproject.toml."""

import os
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

# One extension per .pyx under src/v6core (the compiled core in _core/, the responder's
# packet loop beside its Python layer); the module name follows the path.
extensions = [
    Extension(
        os.path.splitext(os.path.relpath(path, "src"))[0].replace(os.sep, "."),
        [path],
        include_dirs=[numpy.get_include(), "src/v6core/_core"],
        extra_compile_args=CFLAGS,
        define_macros=MACROS,
    )
    for path in sorted(glob("src/v6core/**/*.pyx", recursive=True))
]

setup(
    ext_modules=cythonize(
        extensions,
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
