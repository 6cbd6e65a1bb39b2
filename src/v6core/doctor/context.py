"""What the checks share: the system view, the options, and facts read once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from v6core.doctor import facts
from v6core.doctor.system import LiveSystem, SystemView

__all__ = ["Options", "Context"]


@dataclass
class Options:
    """Knobs of a doctor run (the CLI fills them in)."""

    gai_conf: str = "/etc/gai.conf"
    ndppd_conf: str = "/etc/ndppd.conf"
    respond_configs: list[str] = field(default_factory=lambda: ["/etc/v6core/respond.toml"])
    #: representative destinations for the address-selection check, kind -> address
    destinations: dict[str, str] | None = None


class Context:
    def __init__(self, view: SystemView | None = None, options: Options | None = None) -> None:
        self.view = view if view is not None else LiveSystem()
        self.options = options or Options()

    @cached_property
    def interfaces(self) -> dict[str, facts.Interface]:
        return facts.interfaces(self.view)

    @cached_property
    def _addresses(self) -> tuple[list[facts.Address], str]:
        return facts.addresses(self.view)

    @property
    def addresses(self) -> list[facts.Address]:
        return self._addresses[0]

    @property
    def addresses_source(self) -> str:
        return self._addresses[1]

    @cached_property
    def routes6(self) -> list[facts.Route6]:
        return facts.routes6(self.view)

    @cached_property
    def libc(self) -> facts.Libc:
        return facts.libc(self.view)

    def v6_addresses(self, ifname: str | None = None) -> list[facts.Address]:
        return [a for a in self.addresses if a.family == 6
                and (ifname is None or a.ifname == ifname)]

    def has_routable_ipv6(self) -> bool:
        """True when some interface other than lo has a global-scope IPv6 address (global
        unicast or ULA) that is not tentative or failed."""
        return any(a.scope == "global" and a.ifname != "lo" and not a.tentative
                   and not a.dadfailed for a in self.v6_addresses())
