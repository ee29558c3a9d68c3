"""scripts/regen.py, the parts before and after generation: reading the upstream document,
refusing a bad one without touching anything, the normalised layout, the changelog."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from regen import SpecError, main, normalise, parse_document, prepend_changelog, validate_document

ROOT = Path(__file__).resolve().parents[2]


def test_yaml_and_json_documents_are_read(mini_spec: dict[str, Any]) -> None:
    as_yaml = yaml.safe_dump(mini_spec).encode()
    as_json = json.dumps(mini_spec).encode()
    assert parse_document(as_yaml, "cflow.yaml") == (mini_spec, "yaml")
    assert parse_document(as_json, "cflow.json") == (mini_spec, "json")
    assert parse_document(as_json, "download") == (mini_spec, "json")  # told by its content
    assert parse_document(b"\xef\xbb\xbf" + as_yaml, "bom.yaml") == (mini_spec, "yaml")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"openapi: 3.1.0\ninfo: [unclosed", "not valid YAML"),
        (b'{"openapi": "3.1.0",', "not valid JSON"),
        (b"- a list", "not an OpenAPI document"),
        (b"swagger: '2.0'\ninfo: {}", "3.0.x or 3.1.x needed"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_document_that_is_not_openapi_3_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_document(raw, "x.yaml")


def test_validation_accepts_3_0_and_refuses_an_invalid_document(mini_spec: dict[str, Any]) -> None:
    validate_document(mini_spec, "x")
    validate_document({**mini_spec, "openapi": "3.0.3"}, "x")
    del mini_spec["info"]
    with pytest.raises(SpecError, match="not a valid OpenAPI document"):
        validate_document(mini_spec, "x")


def test_openapi_cflow_yaml_is_already_normalised() -> None:
    # So `make regen SPEC=` changes only the lines whose content changed.
    text = (ROOT / "openapi" / "cflow.yaml").read_text()
    assert normalise(yaml.safe_load(text)) == text


def test_normalised_layout(mini_spec: dict[str, Any]) -> None:
    long = "A sentence long enough to be folded: it goes on its own line, unwrapped."
    mini_spec["info"]["description"] = long
    text = normalise(json.loads(json.dumps(mini_spec)))
    assert text.startswith("openapi: 3.1.0\ninfo:\n  title: Mini Cflow\n")
    assert f"  description: >-\n    {long}\n" in text
    assert "      parameters:\n        - name: workflowId\n" in text  # lists indented
    assert "        '200':\n" in text  # JSON's string status codes stay strings


# Text as documents hold it: no control characters but tab and newline.
_text = st.text(st.characters(blacklist_categories=["Cc", "Cs"]) | st.sampled_from("\t\n"))


def test_shared_nodes_are_spelled_out_not_aliased() -> None:
    upstream = "a: &param {name: id, in: path}\nb: *param\n"
    document = yaml.safe_load(upstream)  # an upstream that uses anchors: one shared dict
    assert document["a"] is document["b"]
    assert normalise(document) == "a:\n  name: id\n  in: path\nb:\n  name: id\n  in: path\n"


_scalars = st.one_of(_text, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner), st.dictionaries(_text, inner)),
    max_leaves=20,
)


@given(st.dictionaries(_text, _documents))
def test_normalising_never_changes_content(document: dict[str, Any]) -> None:
    assert yaml.safe_load(normalise(document)) == document


def test_a_document_pyyaml_cannot_round_trip_is_refused() -> None:
    # PyYAML writes a key of one NEL character back as two spaces: the guard catches it.
    with pytest.raises(SpecError, match="changed its content"):
        normalise({"\x85": []})


def test_changelog_gets_the_newest_report_on_top(tmp_path: Path) -> None:
    (tmp_path / "openapi").mkdir()
    prepend_changelog(tmp_path, "## day 1\n\nfirst\n")
    prepend_changelog(tmp_path, "## day 2\n\nsecond\n")
    text = (tmp_path / "openapi" / "CHANGELOG.md").read_text()
    assert text.startswith("# Cflow API changes\n")
    assert text.index("## day 2") < text.index("## day 1")


def test_a_bad_document_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "openapi", tmp_path / "openapi")
    before = {p: p.read_bytes() for p in (tmp_path / "openapi").rglob("*") if p.is_file()}
    bad = tmp_path / "new.yaml"
    bad.write_text("openapi: 3.1.0\npaths: {}\n")  # no info
    assert main(["--root", str(tmp_path), "--spec", str(bad)]) == 1
    assert "Nothing was changed." in capsys.readouterr().err
    after = {p: p.read_bytes() for p in (tmp_path / "openapi").rglob("*") if p.is_file()}
    assert after == before


def test_a_hand_edited_cflow_yaml_is_compared_with_the_committed_one(tmp_path: Path) -> None:
    # `make regen SPEC=openapi/cflow.yaml` after editing it: the report needs the old one.
    from regen import _previous

    spec = tmp_path / "openapi" / "cflow.yaml"
    spec.parent.mkdir()
    spec.write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    spec.write_text("openapi: 3.1.0\ninfo: {title: t, version: '2'}\n")
    assert _previous(tmp_path, spec)["info"]["version"] == "1"
    other = tmp_path / "new.yaml"
    other.write_text("anything")
    assert _previous(tmp_path, other)["info"]["version"] == "2"


def test_make_targets_run_the_scripts() -> None:
    def dry_run(*args: str) -> str:
        result = subprocess.run(
            ["make", "-n", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
        )
        return result.stdout

    assert 'scripts/regen.py --spec "new doc.yaml"' in dry_run("regen", "SPEC=new doc.yaml")
    assert "scripts/regen.py \n" in dry_run("regen")
    assert "scripts/check_facade.py" in dry_run("check")
    assert "make check-facade" in (ROOT / ".ci" / "run").read_text()
