"""Policy tables and the gai.conf parser/linter (glibc 2.36 semantics).

Built-in values are the RFC 6724 section 2.1 table and glibc 2.36's default_labels,
default_precedence and default_scopes as printed by gdb from Debian's libc.so.6 with
libc6-dbg (see the comments); how glibc reads gai.conf lines is checked against the
real glibc in tests/libc/.
"""

from __future__ import annotations

import json

import pytest

from v6core import PolicyTable
from v6core.cli import main as cli_main
from v6core.errors import PolicyError
from v6core.policy import parse_gai_conf

# RFC 6724 section 2.1: (address, precedence, label)
RFC_CLASSES = [
    ("::1", 50, 0), ("2001:db8::1", 40, 1), ("192.0.2.1", 35, 4), ("::ffff:10.0.0.1", 35, 4),
    ("2002:c633:6401::1", 30, 2), ("2001:0:1::1", 5, 5), ("fd00::1", 3, 13),
    ("fc00::1", 3, 13), ("::1.2.3.4", 1, 3), ("fec0::1", 1, 11), ("3ffe::1", 1, 12),
    ("fe80::1", 40, 1),
]


@pytest.mark.parametrize("addr,prec,label", RFC_CLASSES)
def test_rfc6724_table(addr, prec, label):
    assert PolicyTable.rfc6724().classify(addr) == (prec, label)


# musl 1.2.x defpolicy: ::/96, fec0::/10 and 3ffe::/16 are compiled out
@pytest.mark.parametrize("addr,prec,label", [
    ("::1", 50, 0), ("192.0.2.1", 35, 4), ("2002::1", 30, 2), ("2001::1", 5, 5),
    ("fd00::1", 3, 13), ("::1.2.3.4", 40, 1), ("fec0::1", 40, 1), ("3ffe::1", 40, 1),
])
def test_musl_table(addr, prec, label):
    assert PolicyTable.musl().classify(addr) == (prec, label)


# glibc 2.36 (gdb: p default_precedence / p default_labels on Debian's libc.so.6)
@pytest.mark.parametrize("addr,prec,label", [
    ("::1", 50, 0), ("2002::1", 30, 2), ("::1.2.3.4", 20, 3), ("192.0.2.1", 10, 4),
    ("fec0::1", 40, 5), ("fd00::1", 40, 6), ("2001:0:1::1", 40, 7), ("2001:db8::1", 40, 1),
])
def test_glibc_default_table(addr, prec, label):
    assert PolicyTable.glibc_default().classify(addr) == (prec, label)


def test_glibc_default_ipv4_scopes():
    # gdb: p default_scopes = {169.254/16: 2, 127/8: 2, 0/0: 14}; no site-local rows
    c = PolicyTable.glibc_default().compiled("glibc")
    assert c.scope("169.254.9.9", "glibc") == 2
    assert c.scope("127.0.0.2", "glibc") == 2
    assert c.scope("10.0.0.1", "glibc") == 14
    assert c.scope("192.168.1.1", "glibc") == 14
    assert c.scope("fec0::1", "glibc") == 5


def test_rows_constructor_errors():
    with pytest.raises(PolicyError, match="bad prefix"):
        PolicyTable([("2001:db8::/129", 1, 1)])
    with pytest.raises(PolicyError, match="repeats row 0"):
        PolicyTable([("2001:db8::/32", 1, 1), ("2001:db8::1/32", 2, 2)])
    with pytest.raises(PolicyError, match="precedence"):
        PolicyTable([("::/0", -1, 1)])
    with pytest.raises(PolicyError, match="expected"):
        PolicyTable([("::/0", 1)])


def test_ipv4_prefix_rows_are_mapped():
    t = PolicyTable([("::/0", 40, 1), ("10.0.0.0/8", 60, 9)])
    assert t.classify("10.1.1.1") == (60, 9)
    assert t.classify("11.1.1.1") == (40, 1)


# ------------------------------------------------------------------ gai.conf

def test_single_precedence_line_drops_three_builtin_rows():
    conf = parse_gai_conf("precedence ::ffff:0:0/96 100\n", path="/etc/gai.conf")
    t = conf.table
    assert t.classify("192.0.2.1") == (100, 4)
    # the dropped rows: ::1 (50), 2002::/16 (30) and ::/96 (20) now fall to ::/0 40
    assert t.precedence("::1") == 40
    assert t.precedence("2002::1") == 40
    assert t.precedence("::1.2.3.4") == 40
    drops = [d for d in conf.diagnostics if "drops" in d.message]
    assert len(drops) == 1
    d = drops[0]
    assert (d.path, d.lineno, d.severity) == ("/etc/gai.conf", 1, "warning")
    assert "3 built-in row(s)" in d.message
    for row in ("::1/128 50", "2002::/16 30", "::/96 20"):
        assert row in d.message
    assert str(d).startswith("/etc/gai.conf:1: warning:")
    # labels untouched
    assert t.label("2002::1") == 2


def test_catch_all_not_added_when_file_has_slash_zero():
    t = PolicyTable.from_gai_conf("label ::/0 7\nlabel 2001:db8::/32 3\n")
    assert t.label("fd00::1") == 7
    assert t.label("::1") == 7          # built-in ::1/128 label 0 dropped
    assert t.label("2001:db8::5") == 3


def test_duplicates_first_wins():
    conf = parse_gai_conf("label fd00::/8 1\nlabel fd00::1/8 9\n", path="g")
    assert conf.table.label("fd00::5") == 1
    dup = [d for d in conf.diagnostics if "repeats" in d.message]
    assert len(dup) == 1 and dup[0].lineno == 2 and "line 1" in dup[0].message


@pytest.mark.parametrize("line,why", [
    ("label foo/8 1", "not an IPv6 address"),
    ("label 10.0.0.0/8 1", "IPv4-mapped"),
    ("label ::/129 1", "prefix length"),
    ("label ::/0x10 1", "prefix length"),
    ("label ::/-1 1", "prefix length"),
    ("label ::/99999999999999999999999 1", "prefix length"),
    ("precedence ::/0 abc", "value"),
    ("precedence ::/0 2147483648", "value"),
    ("precedence ::/0 -1", "value"),
    ("scopev4 2001:db8::/32 2", "not IPv4-mapped"),
    ("scopev4 ::ffff:0:0/95 2", "96 to 128"),
    ("scopev4 10.0.0.0/33 2", "0 to 32"),
    ("scopev4 nothing/8 2", "not an IPv4"),
    ("Label ::/0 1", "unknown keyword"),
    ("sortlist 10.0.0.0/8", "unknown keyword"),
    ("label", "missing"),
    ("label ::1 5", "no /length"),
    ("scopev4 10.0.0.1 5", "crashes"),
])
def test_ignored_lines_name_file_and_line(line, why):
    conf = parse_gai_conf(f"# comment\n{line}\n", path="/x/gai.conf")
    errs = [d for d in conf.diagnostics if d.severity == "error"]
    assert len(errs) == 1
    assert errs[0].lineno == 2 and errs[0].path == "/x/gai.conf"
    assert why in errs[0].message
    # glibc ignores the line: the built-in tables stay
    assert conf.table.precedence_rows == PolicyTable.glibc_default().precedence_rows
    assert conf.table.label_rows == PolicyTable.glibc_default().label_rows
    with pytest.raises(PolicyError) as ei:
        PolicyTable.from_gai_conf(f"# comment\n{line}\n", strict=True, path="/x/gai.conf")
    assert ei.value.lineno == 2 and str(ei.value).startswith("/x/gai.conf:2: ")


@pytest.mark.parametrize("text,addr,prec", [
    ("precedence ::/0\n", "2001:db8::1", 0),           # empty value: strtoul gives 0
    ("precedence ::/ 7\n", "::1", 7),                  # empty length: /0
    ("precedence ::1/+128 +9\n", "::1", 9),            # strtoul takes a sign
    ("precedence ::1/0128 9\n", "::1", 9),
    ("  precedence\t::1/128\t9  # tail\n", "::1", 9),  # C isspace, comments
    ("precedence ::1/128 9 extra words\n", "::1", 9),  # rest of the line ignored
    ("precedence 2001:db8::1/32 9\n", "2001:db8:ffff::1", 9),  # host bits ignored
])
def test_strtoul_quirks(text, addr, prec):
    assert PolicyTable.from_gai_conf(text).precedence(addr) == prec


def test_scopev4_lines():
    t = PolicyTable.from_gai_conf("scopev4 ::ffff:169.254.0.0/112 2\n"
                                  "scopev4 10.0.0.0/8 5\nscopev4 ::ffff:1.2.3.4/128 8\n")
    c = t.compiled("glibc")
    assert c.scope("10.9.9.9", "glibc") == 5
    assert c.scope("1.2.3.4", "glibc") == 8
    assert c.scope("127.0.0.1", "glibc") == 14     # built-in 127/8 row dropped
    assert c.scope("169.254.1.1", "glibc") == 2


def test_reload_and_path(tmp_path):
    p = tmp_path / "gai.conf"
    p.write_text("reload yes\nlabel ::/0 3\n")
    conf = parse_gai_conf(p.read_text(), path=str(p))
    assert conf.reload
    t = PolicyTable.from_gai_conf(str(p))
    assert t.label("::5") == 3
    assert str(p) in t.name


# ------------------------------------------------------------------ v6core gai lint

def test_lint_cli(tmp_path, capsys):
    p = tmp_path / "gai.conf"
    p.write_text("precedence ::ffff:0:0/96 100\nlabel foo 1\nlabel fd00::/8 1\n"
                 "label fd00::/8 2\n")
    rc = cli_main(["gai", "lint", str(p)])
    out = capsys.readouterr().out
    assert rc == 1
    assert f"{p}:2: error: label: 'foo' is not an IPv6 address" in out
    assert f"{p}:1: warning: this file has precedence lines" in out
    assert "3 built-in row(s)" in out
    assert f"{p}:4: warning: label fd00::/8 repeats line 3" in out
    assert "::ffff:0:0/96                   100" in out
    rc = cli_main(["gai", "lint", "--json", str(p)])
    data = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert {d["line"] for d in data["diagnostics"]} >= {1, 2, 3, 4}
    assert {"prefix": "::ffff:0:0/96", "precedence": 100, "label": None} in data["table"]


def test_lint_clean_file_and_missing_file(tmp_path, capsys):
    p = tmp_path / "ok.conf"
    p.write_text("# nothing but comments\n\n")
    assert cli_main(["gai", "lint", str(p)]) == 0
    assert "0 ignored line(s), 0 warning(s)" in capsys.readouterr().out
    assert cli_main(["gai", "lint", str(tmp_path / "missing.conf")]) == 2
    err = capsys.readouterr().err
    assert "missing.conf" in err and "Traceback" not in err


def test_missing_path_is_an_error_not_content(tmp_path):
    with pytest.raises(FileNotFoundError):
        PolicyTable.from_gai_conf(str(tmp_path / "gai.conf"))
    with pytest.raises(FileNotFoundError):
        PolicyTable.from_gai_conf("/etc/no-such-gai.conf")
    # one line of text without a newline is still content
    assert PolicyTable.from_gai_conf("label ::/0 4").label("::9") == 4


# ------------------------------------------------------------------ scopes v6core cannot hold

@pytest.mark.parametrize("value", ["16", "255", "2147483647"])
def test_scopev4_above_15_is_refused_with_file_and_line(tmp_path, value):
    # glibc would use the value; RFC 6724 scopes are 4 bits and the bulk key holds 15 - scope
    # in 4 bits, so rule 8 would go wrong in bulk only: refuse the file, naming the line
    p = tmp_path / "gai.conf"
    p.write_text(f"scopev4 10.0.0.0/8 5\n# c\nscopev4 ::ffff:192.168.0.0/112 {value}\n")
    with pytest.raises(PolicyError) as ei:
        PolicyTable.from_gai_conf(str(p))
    assert ei.value.path == str(p) and ei.value.lineno == 3
    assert str(ei.value).startswith(f"{p}:3: ") and "above 15" in str(ei.value)
    conf = parse_gai_conf(p.read_text(), path=str(p))
    assert [(d.lineno, d.severity) for d in conf.unsupported] == [(3, "error")]
    assert conf.unsupported[0] in conf.diagnostics
    # left out of the table parse_gai_conf builds, so that nobody orders by it
    assert all(s <= 15 for _, _, s in conf.table.scopev4_rows)


def test_scopev4_15_is_accepted():
    t = PolicyTable.from_gai_conf("scopev4 10.0.0.0/8 15\n")
    assert t.compiled("glibc").scope("10.1.1.1", "glibc") == 15


def test_scopev4_rows_out_of_range_are_refused():
    with pytest.raises(PolicyError, match="scope 16 is not from 0 to 15"):
        PolicyTable([("::/0", 40, 1)], scopev4=[("10.0.0.0", 8, 16)])
    with pytest.raises(PolicyError, match="scope -1"):
        PolicyTable([("::/0", 40, 1)], scopev4=[("10.0.0.0", 8, -1)])


def test_lint_reports_a_scope_above_15(tmp_path, capsys):
    p = tmp_path / "gai.conf"
    p.write_text("label ::/0 1\nscopev4 ::ffff:10.0.0.0/104 16\n")
    assert cli_main(["gai", "lint", str(p)]) == 1
    out = capsys.readouterr().out
    assert f"{p}:2: error: scopev4 ::ffff:10.0.0.0/104: scope 16 is above 15" in out
    assert cli_main(["sort", "--gai-conf", str(p), "--flavor", "glibc", "::1", "127.0.0.1"]) == 2
    err = capsys.readouterr().err
    assert f"{p}:2:" in err and "Traceback" not in err


def test_compiled_policy_cannot_be_reinitialised():
    # the bulk kernels read a CompiledPolicy's arrays without the GIL
    c = PolicyTable.rfc6724().compiled("rfc6724")
    rows = c.precedence_rows
    with pytest.raises(TypeError, match="immutable"):
        c.__init__((), ())
    assert c.precedence_rows == rows and c.precedence("::1") == 50
