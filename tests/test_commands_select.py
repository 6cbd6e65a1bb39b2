"""The resolver CLI: v6core sort, explain, select-source (gai lint is in test_policy)."""

from __future__ import annotations

import json

from v6core.cli import main


def test_sort_with_given_sources(capsys):
    args = ["sort", "2001:db8::1", "192.0.2.1", "--source", "2001:db8::1=fd00::1",
            "--source", "192.0.2.1=192.0.2.5/24"]
    # ULA source against IPv4 (RFC 6724 rule 5), musl and RFC 6724 alike
    assert main([*args, "--flavor", "musl", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["address"] for r in out] == ["192.0.2.1", "2001:db8::1"]
    assert out[1]["source"] == "fd00::1"
    assert main([*args, "--flavor", "rfc6724"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("192.0.2.1") and "src 192.0.2.5" in lines[0]


def test_sort_with_gai_conf_fix(tmp_path, capsys):
    conf = tmp_path / "gai.conf"
    conf.write_text("label fd00::/8 1\n")
    args = ["sort", "2001:db8::1", "192.0.2.1", "--source", "2001:db8::1=fd00::1",
            "--source", "192.0.2.1=192.0.2.5", "--flavor", "glibc", "--gai-conf", str(conf)]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("2001:db8::1")


def test_explain_text_and_json(capsys):
    args = ["explain", "fe80::1", "2001:db8:1::1", "--flavor", "rfc6724",
            "--source", "fe80::1=fe80::2,deprecated", "--source", "2001:db8:1::1=2001:db8:1::2"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "rule 3: avoid deprecated addresses" in text
    assert "[deprecated]" in text
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["order"] == ["2001:db8:1::1", "fe80::1"]
    assert data["steps"][0]["rule"] == 3


def test_unreachable_source_and_bad_input(capsys):
    assert main(["sort", "2001:db8::1", "2001:db8::2", "--source", "2001:db8::1=none",
                 "--source", "2001:db8::2=2001:db8::9", "--flavor", "musl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2001:db8::2") and "(unreachable)" in lines[1]
    for bad in (["--source", "2001:db8::1=zz"], ["--source", "2001:db8::1"],
                ["--source", "2001:db8::1=2001:db8::2,shiny"],
                ["--source", "2001:db8::1=2001:db8::2/x"]):
        assert main(["sort", "2001:db8::1", *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("v6core sort: error: --source") and "Traceback" not in err
    assert main(["sort", "no-such-name.invalid."]) == 2
    assert "cannot resolve" in capsys.readouterr().err


def test_select_source_runs_on_the_host(capsys):
    assert main(["select-source", "::1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["destination"] == "::1"
    if data["kernel"] is not None:       # the host has ::1 configured
        assert data["rfc6724"] == "::1" == data["kernel"]
    assert main(["select-source", "not-an-address"]) == 2
