"""Responder configuration: a TOML file, the simple CLI case, and an ndppd.conf importer.

A configuration file looks like this (every key but ``name`` and ``prefix`` optional)::

    [daemon]
    user = "v6core"                # drop privileges after opening sockets (keeps CAP_NET_RAW)
    control = "/run/v6core-respond.sock"   # `v6core respond --stats` reads counters here
    metrics = "127.0.0.1:9431"     # Prometheus text endpoint (localhost only)
    rate_limit = 0                 # answers per second in total, 0 = unlimited
    rate_limit_source = 0          # answers per second per soliciting address, 0 = unlimited
    source_slots = 4096            # per-source limiter buckets (bounded memory under a scan)
    docker_socket = "/var/run/docker.sock"   # Engine API socket for `docker = true` rules
    live_entries = 65536           # most live targets held (learn and docker rules)
    learn_ttl = 300                # seconds a learned target stays live without new evidence
    learn_negative_ttl = 10        # seconds an unanswered target is not solicited again
    learn_timeout_ms = 1000        # wait for the downstream NA (RFC 4861 RetransTimer)
    learn_rate = 100               # downstream solicitations per second, at most
    learn_pending = 1024           # solicitations awaiting an answer, at most

    [[interface]]
    name = "uplink"
    # mac = "02:00:00:00:00:01"    # target link-layer address to advertise (default: the NIC's)
    # trunk = false                # also answer 802.1Q-tagged NS (a trunk port); the NA
                                   # carries the solicitation's tag
    # xdp = true                   # answer in the driver too (XDP): true = "auto" (native
    #                              # mode where supported, else generic), "native", "generic"

    [[interface.rule]]
    prefix = "2001:db8:f440:2:646f:636b:6572::/112"
    exclude = ["2001:db8:f440:2:646f:636b:6572:0/128"]
    source = "target"              # NA IPv6 source: "target", "link-local" or an address
    router = false                 # R flag (RFC 4861 4.4)
    override = false               # O flag: a proxy leaves it clear (RFC 4861 7.2.8)
    solicited = true               # S flag on replies to solicitations (RFC 4861 7.2.4)
    unicast = true                 # also answer unicast NUD probes; false = multicast NS only
    dad = "ignore"                 # or "defend": answer DAD probes to ff02::1, S clear (7.2.4)
    auto = false                   # answer only if the route to the target leaves elsewhere
    learn = false                  # answer only targets seen alive downstream (neighbour
                                   # events, DAD probes, our own downstream solicitation)
    docker = false                 # answer only the addresses of running Docker containers

Errors are :class:`~v6core.errors.ConfigError` naming the file, the table and the key
(and for ndppd.conf the line).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from v6core.errors import ConfigError

__all__ = ["Rule", "Interface", "Config", "load", "loads", "from_args", "import_ndppd",
           "to_toml", "parse_mac", "parse_xdp", "with_xdp", "XDP_MODES"]

SOURCES = ("target", "link-local")
DAD_MODES = ("ignore", "defend")


@dataclass(frozen=True)
class Rule:
    """One answering rule on one interface (see the module docstring for the fields)."""

    prefix: str
    exclude: tuple[str, ...] = ()
    source: str = "target"
    router: bool = False
    override: bool = False
    solicited: bool = True
    unicast: bool = True
    dad: str = "ignore"
    auto: bool = False
    mac: bytes | None = None
    name: str = ""
    learn: bool = False
    docker: bool = False

    @property
    def mode(self) -> str:
        """``"learn"``, ``"docker"`` or ``"static"``."""
        return "learn" if self.learn else "docker" if self.docker else "static"


@dataclass(frozen=True)
class Interface:
    name: str
    rules: tuple[Rule, ...]
    mac: bytes | None = None
    trunk: bool = False
    xdp: str | None = None          # None (off), "auto", "native" or "generic"


@dataclass(frozen=True)
class Config:
    interfaces: tuple[Interface, ...]
    user: str | None = None
    control: str | None = None
    metrics: str | None = None
    rate_limit: int = 0
    rate_limit_source: int = 0
    source_slots: int = 4096
    docker_socket: str = "/var/run/docker.sock"
    live_entries: int = 65536
    learn_ttl: int = 300
    learn_negative_ttl: int = 10
    learn_timeout_ms: int = 1000
    learn_rate: int = 100
    learn_pending: int = 1024
    path: str = field(default="<config>", compare=False)


def parse_mac(text: str, where: str) -> bytes:
    """``"02:00:5e:00:53:01"`` (or with ``-``) to 6 bytes; a unicast address is required."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}", text):
        raise ConfigError(f"{where}: {text!r} is not a MAC address like 02:00:5e:00:53:01")
    mac = bytes.fromhex(re.sub("[:-]", "", text))
    if mac[0] & 1:
        raise ConfigError(f"{where}: {text} is a multicast MAC address")
    return mac


def _prefix(text: Any, where: str) -> ipaddress.IPv6Network:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: expected a prefix string, got {text!r}")
    try:
        net = ipaddress.IPv6Network(text, strict=False)
    except ValueError as e:
        raise ConfigError(f"{where}: {text!r} is not an IPv6 prefix ({e})") from None
    if net.is_multicast:
        raise ConfigError(f"{where}: {text} is multicast; targets are unicast (RFC 4861 4.3)")
    return net


def _bool(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{where}: expected true or false, got {v!r}")
    return v


def _int(v: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError(f"{where}: expected an integer from {lo} to {hi}, got {v!r}")
    return v


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ConfigError(f"{where}: unknown key {extra[0]!r} (known: {', '.join(sorted(allowed))})")


_RULE_KEYS = {"prefix", "exclude", "source", "router", "override", "solicited", "unicast",
              "dad", "auto", "mac", "name", "learn", "docker"}


def _rule(t: Any, where: str) -> Rule:
    if not isinstance(t, dict):
        raise ConfigError(f"{where}: expected a table")
    _check_keys(t, _RULE_KEYS, where)
    if "prefix" not in t:
        raise ConfigError(f"{where}: missing 'prefix'")
    net = _prefix(t["prefix"], f"{where}.prefix")
    excl = t.get("exclude", [])
    if isinstance(excl, str):
        excl = [excl]
    if not isinstance(excl, list):
        raise ConfigError(f"{where}.exclude: expected a list of prefixes")
    ex_nets = []
    for j, e in enumerate(excl):
        en = _prefix(e, f"{where}.exclude[{j}]")
        if not en.subnet_of(net) or en == net:
            raise ConfigError(f"{where}.exclude[{j}]: {en} is not a part of {net}")
        ex_nets.append(str(en))
    source = t.get("source", "target")
    if not isinstance(source, str):
        raise ConfigError(f"{where}.source: expected \"target\", \"link-local\" or an address")
    if source not in SOURCES:
        try:
            a = ipaddress.IPv6Address(source)
        except ValueError:
            raise ConfigError(f"{where}.source: {source!r} is not \"target\", \"link-local\" "
                              "or an IPv6 address") from None
        if a.is_multicast or a.is_unspecified:
            raise ConfigError(f"{where}.source: {source} must be a unicast address "
                              "(RFC 4861 7.1.2 receivers check this)")
        source = str(a)
    dad = t.get("dad", "ignore")
    if dad not in DAD_MODES:
        raise ConfigError(f"{where}.dad: expected \"ignore\" or \"defend\", got {dad!r}")
    mac = parse_mac(t["mac"], f"{where}.mac") if "mac" in t else None
    learn = _bool(t.get("learn", False), f"{where}.learn")
    docker = _bool(t.get("docker", False), f"{where}.docker")
    if learn and docker:
        raise ConfigError(f"{where}: learn and docker exclude each other; choose one")
    name = t.get("name", str(net))
    if not isinstance(name, str) or not re.fullmatch(r"[\w.:/\-]+", name):
        raise ConfigError(f"{where}.name: {name!r} must be letters, digits, '.:/-_'")
    return Rule(
        prefix=str(net), exclude=tuple(ex_nets), source=source,
        router=_bool(t.get("router", False), f"{where}.router"),
        override=_bool(t.get("override", False), f"{where}.override"),
        solicited=_bool(t.get("solicited", True), f"{where}.solicited"),
        unicast=_bool(t.get("unicast", True), f"{where}.unicast"),
        dad=dad, auto=_bool(t.get("auto", False), f"{where}.auto"), mac=mac, name=name,
        learn=learn, docker=docker,
    )


_IFNAME = re.compile(r"[^\s/:]{1,15}")


def _interface(t: Any, where: str) -> Interface:
    if not isinstance(t, dict):
        raise ConfigError(f"{where}: expected a table")
    _check_keys(t, {"name", "mac", "rule", "trunk", "xdp"}, where)
    name = t.get("name")
    if not isinstance(name, str) or not _IFNAME.fullmatch(name):
        raise ConfigError(f"{where}.name: {name!r} is not an interface name (1-15 characters)")
    rules = t.get("rule", [])
    if not isinstance(rules, list) or not rules:
        raise ConfigError(f"{where}: no [[interface.rule]] for {name}")
    rs = tuple(_rule(r, f"{where}.rule[{i}]") for i, r in enumerate(rules))
    seen: dict[str, int] = {}
    for i, r in enumerate(rs):
        if r.name in seen:
            raise ConfigError(f"{where}.rule[{i}]: rule name {r.name!r} repeats rule[{seen[r.name]}]")
        seen[r.name] = i
    mac = parse_mac(t["mac"], f"{where}.mac") if "mac" in t else None
    trunk = _bool(t.get("trunk", False), f"{where}.trunk")
    return Interface(name=name, rules=rs, mac=mac, trunk=trunk,
                     xdp=parse_xdp(t.get("xdp", False), f"{where}.xdp"))



XDP_MODES = ("auto", "native", "generic")


def parse_xdp(v: Any, where: str) -> str | None:
    """``xdp``: false (off), true (= "auto"), "auto", "native" or "generic"."""
    if v is False:
        return None
    if v is True:
        return "auto"
    if isinstance(v, str) and v in XDP_MODES:
        return v
    raise ConfigError(f"{where}: {v!r}: expected true, false or one of {', '.join(XDP_MODES)}")


def _metrics(v: Any, where: str) -> str:
    m = re.fullmatch(r"(127\.\d+\.\d+\.\d+|\[::1\]|localhost):(\d+)", v) if isinstance(v, str) else None
    if not m or not 0 < int(m.group(2)) < 65536:
        raise ConfigError(f"{where}: {v!r} must be a localhost address and port, "
                          "like 127.0.0.1:9431")
    return v


# [daemon] keys of the learn and docker modes: (lowest, highest) for the integers
_LIVE_KEYS: dict[str, tuple[int, int]] = {
    "docker_socket": (0, 0),
    "live_entries": (1, 1 << 24),
    "learn_ttl": (1, 86400 * 7),
    "learn_negative_ttl": (0, 86400),
    "learn_timeout_ms": (10, 60000),
    "learn_rate": (1, 100000),
    "learn_pending": (1, 1 << 20),
}


def _socket_path(v: Any, where: str) -> str:
    if not isinstance(v, str) or not v.startswith("/") or "\0" in v or len(v) > 107:
        raise ConfigError(f"{where}: {v!r} must be an absolute unix socket path "
                          "(at most 107 bytes)")
    return v


def from_dict(d: dict, path: str = "<config>") -> Config:
    """Validate a parsed TOML document."""
    _check_keys(d, {"daemon", "interface"}, path)
    dm = d.get("daemon", {})
    if not isinstance(dm, dict):
        raise ConfigError(f"{path}: [daemon] must be a table")
    _check_keys(dm, {"user", "control", "metrics", "rate_limit", "rate_limit_source",
                     "source_slots", *_LIVE_KEYS}, f"{path}: [daemon]")
    ifs = d.get("interface", [])
    if not isinstance(ifs, list) or not ifs:
        raise ConfigError(f"{path}: no [[interface]] tables")
    interfaces = tuple(_interface(t, f"{path}: interface[{i}]") for i, t in enumerate(ifs))
    names = [i.name for i in interfaces]
    for n in names:
        if names.count(n) > 1:
            raise ConfigError(f"{path}: interface {n!r} appears twice; put its rules in one table")
    return Config(interfaces=interfaces, path=path,
                  **_daemon(dm, lambda key: f"{path}: [daemon] {key}"))


def _daemon(dm: dict, where: Callable[[str], str]) -> dict[str, Any]:
    """The [daemon] settings present in ``dm``, validated (``where(key)`` names a key in
    messages: the file's table or the command-line option)."""
    out: dict[str, Any] = {}
    if dm.get("user") is not None:
        user = dm["user"]
        if not isinstance(user, str) or not user:
            raise ConfigError(f"{where('user')}: expected a user name")
        out["user"] = user
    if dm.get("control") is not None:
        control = dm["control"]
        if not isinstance(control, str) or not control.startswith("/"):
            raise ConfigError(f"{where('control')}: expected an absolute socket path, "
                              f"got {control!r}")
        out["control"] = control
    if dm.get("metrics") is not None:
        out["metrics"] = _metrics(dm["metrics"], where("metrics"))
    for key, lo, hi in (("rate_limit", 0, 10**9), ("rate_limit_source", 0, 10**9),
                        ("source_slots", 16, 1 << 24)):
        if dm.get(key) is not None:
            out[key] = _int(dm[key], where(key), lo, hi)
    if dm.get("docker_socket") is not None:
        out["docker_socket"] = _socket_path(dm["docker_socket"], where("docker_socket"))
    for key, (lo, hi) in _LIVE_KEYS.items():
        if key != "docker_socket" and dm.get(key) is not None:
            out[key] = _int(dm[key], where(key), lo, hi)
    return out


def _option(key: str) -> str:
    return "--" + key.replace("_", "-")


def override(cfg: Config, **daemon: Any) -> Config:
    """``cfg`` with the command line's daemon options (those not None) in place of the
    file's, validated like the file's keys; errors name the option (``--rate-limit``)."""
    return replace(cfg, **_daemon(daemon, _option))


def loads(text: str, path: str = "<config>") -> Config:
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    return from_dict(d, path)


def load(path: str) -> Config:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e})") from None
    return loads(text, path)


def from_args(interfaces: list[str], prefixes: list[str], *, exclude: Sequence[str] = (),
              source: str = "target", dad: str = "ignore", unicast: bool = True,
              router: bool = False, override: bool = False, auto: bool = False,
              trunk: bool = False, xdp: str | None = None, learn: bool = False,
              docker: bool = False, **daemon: Any) -> Config:
    """The simple case from CLI flags: every prefix on every interface."""
    if not interfaces:
        raise ConfigError("give an interface (-i) or a config file (-c)")
    if not prefixes:
        raise ConfigError("give at least one prefix (-p)")
    doc: dict[str, Any] = {"interface": []}
    for ifn in interfaces:
        rules = []
        for p in prefixes:
            net = _prefix(p, f"-p {p}")
            ex = [e for e in exclude if _prefix(e, f"--exclude {e}").subnet_of(net)]
            for e in exclude:
                if not any(_prefix(e, "").subnet_of(_prefix(q, "")) for q in prefixes):
                    raise ConfigError(f"--exclude {e}: not inside any -p prefix")
            rules.append({"prefix": p, "exclude": ex, "source": source, "dad": dad,
                          "unicast": unicast, "router": router, "override": override,
                          "auto": auto, "learn": learn, "docker": docker})
        doc["interface"].append({"name": ifn, "rule": rules, "trunk": trunk,
                                 "xdp": xdp or False})
    doc["daemon"] = _daemon(daemon, _option)
    return from_dict(doc, "command line")


def with_xdp(cfg: Config, mode: str | None) -> Config:
    """``cfg`` with XDP ``mode`` on every interface (``--xdp``); unchanged for None."""
    if mode is None:
        return cfg
    mode = parse_xdp(mode, "--xdp")
    return replace(cfg, interfaces=tuple(replace(i, xdp=mode) for i in cfg.interfaces))


# --- TOML output (for the importer and --check-config) -------------------------------


def _tv(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, bytes):
        return '"' + ":".join(f"{b:02x}" for b in v) + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_tv(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def to_toml(cfg: Config, comments: dict[tuple[int, int], str] | None = None) -> str:
    """Render ``cfg`` as a config file that :func:`loads` reads back to an equal Config."""
    out = ["[daemon]"]
    for k in ("user", "control", "metrics"):
        if getattr(cfg, k) is not None:
            out.append(f"{k} = {_tv(getattr(cfg, k))}")
    out += [f"rate_limit = {cfg.rate_limit}", f"rate_limit_source = {cfg.rate_limit_source}",
            f"source_slots = {cfg.source_slots}"]
    for k in _LIVE_KEYS:
        if getattr(cfg, k) != getattr(Config, k):
            out.append(f"{k} = {_tv(getattr(cfg, k))}")
    default = Rule(prefix="::/0")
    for i, itf in enumerate(cfg.interfaces):
        out += ["", "[[interface]]", f"name = {_tv(itf.name)}"]
        if itf.mac is not None:
            out.append(f"mac = {_tv(itf.mac)}")
        if itf.trunk:
            out.append("trunk = true")
        if itf.xdp is not None:
            out.append(f"xdp = {_tv(itf.xdp)}")
        for j, r in enumerate(itf.rules):
            out += ["", "[[interface.rule]]"]
            if comments and (i, j) in comments:
                out += [f"# {line}" for line in comments[(i, j)].splitlines()]
            out.append(f"prefix = {_tv(r.prefix)}")
            for k in ("exclude", "source", "router", "override", "solicited", "unicast",
                      "dad", "auto", "mac", "learn", "docker"):
                v = getattr(r, k)
                if v != getattr(default, k) and v is not None:
                    out.append(f"{k} = {_tv(v)}")
            if r.name != r.prefix:
                out.append(f"name = {_tv(r.name)}")
    return "\n".join(out) + "\n"


# --- ndppd.conf importer ---------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(#[^\n]*)|([{}])|("[^"\n]*"|[^\s{}#]+))')


def _tokens(text: str, path: str) -> list[tuple[str, int]]:
    toks: list[tuple[str, int]] = []
    pos = 0
    line = 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ConfigError(f"{path}:{line}: cannot read {text[pos:pos + 20]!r}")
        line_at = line + text.count("\n", pos, m.start(2) if m.group(2) else
                                    (m.start(3) if m.group(3) else m.end()))
        if m.group(2) or m.group(3):
            toks.append(((m.group(2) or m.group(3)).strip('"'), line_at))
        line += text.count("\n", pos, m.end())
        pos = m.end()
    return toks


def import_ndppd(text: str, path: str = "ndppd.conf") -> tuple[Config, list[str]]:
    """Translate an ndppd.conf (ndppd 0.2.x syntax) into a :class:`Config`.

    ``proxy IF { rule PREFIX { static | auto | iface X } }`` becomes an interface with
    one rule per prefix; ``router yes|no`` sets the R flag (ndppd's default is yes).
    ``auto`` and ``iface X`` become ``auto = true`` (answer only when the kernel routes
    the target through another interface: ndppd's ``iface`` asks X with a solicitation
    instead, which v6core does not do).  Timers, ttl, keepalive, retries and
    promiscuous have no equivalent and are reported.  Returns the config and notes.
    """
    toks = _tokens(text, path)
    notes: list[str] = []
    i = 0

    def need(what: str) -> tuple[str, int]:
        nonlocal i
        if i >= len(toks):
            last = toks[-1][1] if toks else 1
            raise ConfigError(f"{path}:{last}: expected {what}, found the end of the file")
        t = toks[i]
        i += 1
        return t

    def block_skip_value(key: str, ln: int) -> None:
        v, _ = need(f"a value after {key!r}")
        if v in "{}":
            raise ConfigError(f"{path}:{ln}: expected a value after {key!r}, found {v!r}")
        notes.append(f"{path}:{ln}: '{key} {v}' has no equivalent; ignored")

    interfaces: list[dict[str, Any]] = []
    while i < len(toks):
        tok, ln = need("a directive")
        if tok in ("route-ttl", "address-ttl"):
            block_skip_value(tok, ln)
            continue
        if tok != "proxy":
            raise ConfigError(f"{path}:{ln}: unknown directive {tok!r} (expected 'proxy')")
        ifname, ln = need("an interface name after 'proxy'")
        if not _IFNAME.fullmatch(ifname) or ifname in "{}":
            raise ConfigError(f"{path}:{ln}: {ifname!r} is not an interface name")
        b, ln = need("'{'")
        if b != "{":
            raise ConfigError(f"{path}:{ln}: expected '{{' after 'proxy {ifname}', found {b!r}")
        router = True  # ndppd's default
        rules: list[dict[str, Any]] = []
        while True:
            tok, ln = need("'}' closing 'proxy'")
            if tok == "}":
                break
            if tok == "router":
                v, ln = need("yes or no")
                if v not in ("yes", "no"):
                    raise ConfigError(f"{path}:{ln}: 'router' takes yes or no, not {v!r}")
                router = v == "yes"
            elif tok in ("timeout", "ttl", "retries", "keepalive", "promiscuous", "autowire",
                         "deadtime"):
                block_skip_value(tok, ln)
            elif tok == "rule":
                pfx, pln = need("a prefix after 'rule'")
                _prefix(pfx, f"{path}:{pln}")
                b, ln2 = need("'{'")
                if b != "{":
                    raise ConfigError(f"{path}:{ln2}: expected '{{' after 'rule {pfx}', found {b!r}")
                kind = None
                while True:
                    t2, ln3 = need("'}' closing 'rule'")
                    if t2 == "}":
                        break
                    if t2 in ("static", "auto"):
                        kind = t2
                    elif t2 == "iface":
                        other, _ = need("an interface after 'iface'")
                        kind = "iface"
                        notes.append(f"{path}:{ln3}: 'iface {other}' imported as auto = true "
                                     "(answer when the route to the target uses another "
                                     "interface)")
                    elif t2 == "autovia":
                        block_skip_value(t2, ln3)
                    else:
                        raise ConfigError(f"{path}:{ln3}: unknown rule option {t2!r} "
                                          "(static, auto, iface)")
                if kind is None:
                    raise ConfigError(f"{path}:{pln}: rule {pfx} says neither static, auto "
                                      "nor iface")
                rules.append({"prefix": pfx, "auto": kind != "static"})
            else:
                raise ConfigError(f"{path}:{ln}: unknown proxy option {tok!r}")
        if not rules:
            raise ConfigError(f"{path}: proxy {ifname} has no rules")
        for r in rules:
            r["router"] = router
        interfaces.append({"name": ifname, "rule": rules})
    if not interfaces:
        raise ConfigError(f"{path}: no 'proxy' sections")
    notes.append("v6core answers from the target address (ndppd: from the host's own); "
                 "set source = \"link-local\" per rule to keep ndppd's behaviour")
    cfg = from_dict({"interface": interfaces}, path)
    return replace(cfg, path=path), notes
