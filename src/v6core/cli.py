"""The ``v6core`` command line: argparse subcommands, one module each in v6core.commands.

Each module in :mod:`v6core.commands` defines ``register(subparsers)``, which adds its
subcommand(s) and sets ``func`` (``args -> int`` exit status) on the parser.  A user's
mistake (a bad address, file or option) ends in a one-line ``v6core: error: ...`` and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from v6core import __version__
from v6core.errors import V6CoreError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="v6core",
        description="RFC 6724 resolver ordering (rfc6724, glibc, musl), gai.conf tools, "
        "bulk simulation and a high-rate NDP responder.",
    )
    parser.add_argument("--version", action="version", version=f"v6core {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import v6core.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"v6core.commands.{info.name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: not an error; keep Python from
        # complaining again when it flushes stdout at exit
        sys.stdout = None  # type: ignore[assignment]
        return 0
    except (V6CoreError, OSError) as exc:
        # errors about the user's input or files: one line, no traceback
        print(f"v6core {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
