"""v6core: RFC 6724 resolver ordering and a high-rate NDP responder, with a Cython core.

Public names are imported lazily so that ``import v6core`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it
_LAZY = {
    "V6CoreError": "v6core.errors",
    "AddressError": "v6core.errors",
    "ParseError": "v6core.errors",
    "PolicyError": "v6core.errors",
    "ConfigError": "v6core.errors",
    "RuntimeSpecError": "v6core.errors",
    "Scope": "v6core.errors",
    "DropReason": "v6core.errors",
    "PrefixTable": "v6core._core.prefix",
    "PolicyTable": "v6core.policy",
    "SourceAddress": "v6core.select",
    "sort_destinations": "v6core.select",
    "select_source": "v6core.select",
    "explain": "v6core.select",
    "musl_sort_key": "v6core.select",
    "getaddrinfo": "v6core.resolve",
    "happy_eyeballs": "v6core.runtime",
    "parse_runtime": "v6core.runtime",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'v6core' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from v6core._core.prefix import PrefixTable
    from v6core.errors import (
        AddressError,
        ConfigError,
        DropReason,
        ParseError,
        PolicyError,
        RuntimeSpecError,
        Scope,
        V6CoreError,
    )
    from v6core.policy import PolicyTable
    from v6core.resolve import getaddrinfo
    from v6core.runtime import happy_eyeballs, parse_runtime
    from v6core.select import (
        SourceAddress,
        explain,
        musl_sort_key,
        select_source,
        sort_destinations,
    )
