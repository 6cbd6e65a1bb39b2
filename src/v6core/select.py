"""Destination ordering (RFC 6724 section 6), source selection (section 5), explanations.

Three flavours, each exact (see ``v6core/_core/sortkey.pxd`` for the rule sets):

``"rfc6724"``
    RFC 6724 rules 1-10 with the section 2.1 table.
``"glibc"``
    glibc 2.36 getaddrinfo's ``rfc3484_sort`` with its built-in (RFC 3484 era) tables
    or a gai.conf (:meth:`PolicyTable.from_gai_conf`).
``"musl"``
    musl 1.2.x ``__lookup_name``'s 31-bit key sort, including its decision not to sort
    fewer than two or all-IPv4 results.

The ordering itself runs in C (``v6core._core.sortkey``); this module resolves the
policy table, and turns the C decisions into explanations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from v6core._core import addr as _addr
from v6core._core import sortkey as _sk
from v6core._core import srcsel as _srcsel
from v6core._core.sortkey import SourceAddress
from v6core.errors import AddressError, Scope
from v6core.policy import PolicyTable

__all__ = [
    "SourceAddress",
    "sort_destinations",
    "explain",
    "Explanation",
    "Step",
    "select_source",
    "musl_sort_key",
    "FLAVORS",
    "RULE_NAMES",
]

FLAVORS = ("rfc6724", "glibc", "musl")
_CODES = {"rfc6724": _sk.RFC6724, "glibc": _sk.GLIBC, "musl": _sk.MUSL}

RULE_NAMES = {
    1: "avoid unusable destinations",
    2: "prefer matching scope",
    3: "avoid deprecated addresses",
    4: "prefer home addresses",
    5: "prefer matching label",
    6: "prefer higher precedence",
    7: "prefer native transport",
    8: "prefer smaller scope",
    9: "use longest matching prefix",
    10: "leave the order unchanged",
}

_DEFAULT_TABLES = {
    _sk.RFC6724: PolicyTable.rfc6724(),
    _sk.GLIBC: PolicyTable.glibc_default(),
    _sk.MUSL: PolicyTable.musl(),
}
_DEFAULT_COMPILED = {code: t.compiled(code) for code, t in _DEFAULT_TABLES.items()}
_FAST = {name: (code, _DEFAULT_COMPILED[code]) for name, code in _CODES.items()}
_sk_sort = _sk.sort_destinations

SourceLike = SourceAddress | str | bytes | Any | None
Sources = Mapping[Any, SourceLike] | Sequence[SourceLike] | Callable[[Any], SourceLike]


def _resolve(flavor: str, policy: PolicyTable | None) -> tuple[int, Any]:
    code = _CODES.get(flavor) if isinstance(flavor, str) else None
    if code is None:
        raise ValueError(f"unknown flavor {flavor!r}: expected one of rfc6724, glibc, musl")
    if policy is None:
        return code, _DEFAULT_COMPILED[code]
    if not isinstance(policy, PolicyTable):
        raise TypeError(f"policy must be a PolicyTable, not {type(policy).__name__}")
    return code, policy.compiled(code)


def default_policy(flavor: str) -> PolicyTable:
    """The built-in table of ``flavor``."""
    code, _ = _resolve(flavor, None)
    return _DEFAULT_TABLES[code]


def sort_destinations(destinations: Iterable[Any], sources: Sources, *,
                      flavor: str = "rfc6724", policy: PolicyTable | None = None) -> list:
    """Order ``destinations`` as the chosen resolver would (RFC 6724 section 6).

    Parameters
    ----------
    destinations : iterable
        Addresses (str, bytes or ``ipaddress`` objects) in the resolver's input order;
        they are returned as given, reordered.
    sources : mapping, sequence or callable
        Source(D) for each destination: a mapping keyed by the destination objects, a
        sequence aligned with ``destinations``, or a callable ``f(destination)``.  Each
        source is None (no source: unreachable), a :class:`SourceAddress` (flags for
        rules 3, 4 and 7 and the prefix length for rule 9), or a plain address.
    flavor : {"rfc6724", "glibc", "musl"}
    policy : PolicyTable, optional
        Replaces the flavour's built-in table.
    """
    if policy is None:
        fast = _FAST.get(flavor)
        if fast is not None:
            return _sk_sort(destinations, sources, fast[0], fast[1])
    code, compiled = _resolve(flavor, policy)
    return _sk_sort(destinations, sources, code, compiled)


def musl_sort_key(destination: Any, source: SourceLike, index: int, *,
                  policy: PolicyTable | None = None) -> int:
    """musl 1.2.x's 31-bit sort key of ``destination`` at input position ``index``.

    ``source`` is None when musl's UDP connect() fails (bit 30 clear).  Bits: 30 usable,
    29 matching scope, 28 matching label, 20-27 precedence, 16-19 15 - scope,
    8-15 common prefix length, 0-7 48 - index.  musl sorts by this key, descending.
    """
    _, compiled = _resolve("musl", policy)
    return int(_sk.musl_sort_key(destination, source, index, compiled))


# ------------------------------------------------------------------ explanations

_SCOPE_NAMES = {int(s): s.name.lower() for s in Scope}


def _scope_name(v: int | None) -> str:
    if v is None:
        return "-"
    return f"{_SCOPE_NAMES.get(v, 'scope')}({v})"


@dataclass(frozen=True)
class Step:
    """Why ``first`` sorts before ``second`` (adjacent in the result)."""

    first: Any
    second: Any
    rule: int | None          # 1-10, None when musl did not sort
    reason: str

    def __str__(self) -> str:
        rule = "-" if self.rule is None else f"rule {self.rule}"
        return f"{self.first} before {self.second}: {rule}: {self.reason}"


@dataclass
class Explanation:
    """The order a flavour produces, with each destination's attributes and, for each
    adjacent pair, the rule that decided it.  ``str()`` gives a readable table."""

    flavor: str
    policy: PolicyTable
    order: list
    rows: list[dict[str, Any]]        # attributes, in result order
    steps: list[Step]
    sorted: bool = True               # False when musl skipped sorting
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Any:
        return iter(self.order)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flavor": self.flavor,
            "policy": self.policy.name,
            "order": [str(d) for d in self.order],
            "sorted": self.sorted,
            "rows": [{k: v for k, v in r.items() if k != "object"} for r in self.rows],
            "steps": [{"first": str(s.first), "second": str(s.second), "rule": s.rule,
                       "reason": s.reason} for s in self.steps],
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        head = (f"{'#':>2}  {'destination':<28} {'source':<28} {'prec':>4} {'label':>9} "
                f"{'scope':>14} {'cpl':>4}")
        lines = [f"flavor {self.flavor}, policy {self.policy.name}", head, "-" * len(head)]
        for i, r in enumerate(self.rows):
            src = r["src"] if r["src"] is not None else "(unreachable)"
            flags = r.get("flag_names")
            if flags:
                src = f"{src} [{','.join(flags)}]"
            lab = f"{r['label']}/{'-' if r['src_label'] is None else r['src_label']}"
            scope = f"{r['scope']}/{'-' if r['src_scope'] is None else r['src_scope']}"
            cpl = "-" if r["cpl"] is None else str(r["cpl"])
            key = f"  key {r['musl_key']}" if "musl_key" in r else ""
            lines.append(f"{i + 1:>2}  {str(r['object']):<28} {src:<28} {r['precedence']:>4} "
                         f"{lab:>9} {scope:>14} {cpl:>4}{key}")
        lines.append("")
        for s in self.steps:
            lines.append(str(s))
        lines.extend(self.notes)
        return "\n".join(lines)


_FLAG_NAMES = (
    (_sk.F_DEPRECATED, "deprecated"),
    (_sk.F_OPTIMISTIC, "optimistic"),
    (_sk.F_HOME, "home"),
    (_sk.F_CAREOF, "care-of"),
    (_sk.F_TEMPORARY, "temporary"),
    (_sk.F_ENCAP, "encapsulated"),
)


def _reason(rule: int, a: dict, b: dict, flavor: str) -> str:
    da, db = a["dst"], b["dst"]
    if rule == 1:
        return f"{da} has a source and {db} has none (unreachable)"
    if rule == 2:
        return (f"scope of {da} {_scope_name(a['scope'])} equals its source's; {db} is "
                f"{_scope_name(b['scope'])} but its source {b['src']} is "
                f"{_scope_name(b['src_scope'])}")
    if rule == 3:
        what = "deprecated or optimistic" if flavor == "glibc" else "deprecated"
        return f"the source of {db} ({b['src']}) is {what}"
    if rule == 4:
        return f"the source of {da} ({a['src']}) is the better home address"
    if rule == 5:
        return (f"label of {da} ({a['label']}) equals its source's; {db} has label "
                f"{b['label']} but its source {b['src']} has {b['src_label']}")
    if rule == 6:
        return f"precedence {a['precedence']} > {b['precedence']}"
    if rule == 7:
        return f"{db} is reached through encapsulation, {da} natively"
    if rule == 8:
        return f"smaller scope: {_scope_name(a['scope'])} < {_scope_name(b['scope'])}"
    if rule == 9:
        return (f"longer common prefix with its source: {a['cpl']} > {b['cpl']} bits")
    if rule == 10:
        return f"input order (position {a['index'] + 1} before {b['index'] + 1})"
    return "identical"


def explain(destinations: Iterable[Any], sources: Sources, *, flavor: str = "rfc6724",
            policy: PolicyTable | None = None) -> Explanation:
    """Like :func:`sort_destinations`, and say which rule put each destination where.

    Each adjacent pair of the result gets the RFC 6724 section 6 rule (1-10) that
    ordered it and a one-line reason.  For musl the rule is that of the highest key
    field in which the two keys differ.
    """
    code, compiled = _resolve(flavor, policy)
    dests = list(destinations)
    order, info, decisions, skipped = _sk.analyze(dests, sources, code, compiled)
    for i, r in enumerate(info):
        r["index"] = i
        r["object"] = dests[i]
        r["flag_names"] = [name for bit, name in _FLAG_NAMES if r["flags"] & bit]
    rows = [info[i] for i in order]
    steps = []
    for k, d in enumerate(decisions):
        a, b = rows[k], rows[k + 1]
        if skipped:
            steps.append(Step(a["object"], b["object"], None,
                              "musl does not sort fewer than two or all-IPv4 results"))
        elif d == 0:
            steps.append(Step(a["object"], b["object"], None, "identical"))
        else:
            rule = abs(d)
            reason = f"{RULE_NAMES[rule]}: {_reason(rule, a, b, flavor)}"
            steps.append(Step(a["object"], b["object"], rule, reason))
    table = policy if policy is not None else _DEFAULT_TABLES[code]
    notes = []
    if skipped and len(dests) >= 2:
        notes.append("musl leaves all-IPv4 answers in the order it received them")
    if code == _sk.MUSL:
        for r in rows:
            r["musl_key"] = hex(r["key"])
    return Explanation(flavor, table, [dests[i] for i in order], rows, steps, not skipped,
                       notes)


# ------------------------------------------------------------------ source selection

def _as_source(c: Any) -> SourceAddress:
    if isinstance(c, SourceAddress):
        return c
    return SourceAddress(c)


def select_source(destination: Any, candidates: Iterable[Any], *,
                  policy: PolicyTable | None = None, interface: int | None = None,
                  prefer_temporary: bool = True) -> SourceAddress | None:
    """Choose Source(destination) from ``candidates`` by RFC 6724 section 5 rules 1-8.

    Parameters
    ----------
    destination : address
    candidates : iterable of SourceAddress (or plain addresses)
        The candidate set (section 4); only those of the destination's family count.
    policy : PolicyTable, optional
        For rule 6 labels (default: the RFC 6724 table).
    interface : int, optional
        The outgoing interface index for rule 5; rule 5 is skipped when None.
    prefer_temporary : bool
        Rule 7's default (RFC 6724 section 5: temporary addresses preferred).

    Returns the chosen SourceAddress, or None when no candidate is of the right family.
    Rule 5.5 (next-hop prefixes) is not applied.  Ties keep the candidates' order.
    """
    compiled = (policy or _DEFAULT_TABLES[_sk.RFC6724]).compiled("rfc6724")
    try:
        d_packed = _addr.pack(destination)
    except AddressError as e:
        raise AddressError(f"destination: {e}", destination) from None
    cands = [_as_source(c) for c in candidates]
    # the rules are written once, in C (_core/srcsel.pxd), for this and the bulk path
    i = _srcsel.select_index(d_packed, cands, compiled, interface, prefer_temporary)
    return None if i < 0 else cands[i]
