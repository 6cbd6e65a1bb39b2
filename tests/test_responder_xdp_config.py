"""``xdp`` in the responder's configuration and the messages when the XDP path is missing
(no root needed)."""

from __future__ import annotations

import sys

import pytest

from v6core.errors import ConfigError, XdpError
from v6core.responder import config, xdp

BASE = '[[interface]]\nname = "uplink"\n{x}\n[[interface.rule]]\nprefix = "2001:db8::/64"\n'


@pytest.mark.parametrize(("value", "mode"), [("true", "auto"), ("false", None),
                                              ('"native"', "native"), ('"generic"', "generic"),
                                              ("", None)])
def test_xdp_values(value, mode):
    cfg = config.loads(BASE.format(x=f"xdp = {value}" if value else ""))
    assert cfg.interfaces[0].xdp == mode
    assert config.loads(config.to_toml(cfg)) == cfg        # written back, read back equal


@pytest.mark.parametrize("value", ['"fast"', "1", '"TRUE"'])
def test_bad_xdp_values_name_the_key(value):
    with pytest.raises(ConfigError, match=r"interface\[0\]\.xdp"):
        config.loads(BASE.format(x=f"xdp = {value}"))


def test_command_line_xdp_applies_to_every_interface():
    cfg = config.from_args(["a", "b"], ["2001:db8::/64"], xdp="generic")
    assert [i.xdp for i in cfg.interfaces] == ["generic", "generic"]
    assert config.with_xdp(cfg, None) is cfg
    with pytest.raises(ConfigError, match="--xdp"):
        config.with_xdp(cfg, "turbo")


def test_missing_loader_or_object_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "v6core.responder._xdp", None)   # import fails
    assert "built without libbpf" in (xdp.unavailable() or "")
    monkeypatch.undo()

    class Missing:
        def __truediv__(self, other):
            return self

        def read_bytes(self):
            raise FileNotFoundError("xdp_ndp.o")

    monkeypatch.setattr(xdp.resources, "files", lambda pkg: Missing())
    with pytest.raises(XdpError, match="built without clang"):
        xdp.load_object()


def test_bad_mode_refused():
    with pytest.raises(XdpError, match="XDP mode"):
        xdp.XdpPort("uplink", "turbo")
