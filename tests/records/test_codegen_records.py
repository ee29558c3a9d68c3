"""codegen-records: the module written for a workflow's form passes mypy --strict, its
instances are accepted by submit_record, and nothing the server sends becomes code."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import types
from pathlib import Path

import attrs
import pytest
from test_records import SAMPLE_MULTIPLE, seed

from cflow_async import FieldDefinition, FieldOption, RecordSchema
from cflow_async._codegen_records import record_module_source

WHEN = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def seed_fields() -> list[FieldDefinition]:
    return FieldDefinition.list_from_json([*seed("fieldsformap.json"), *SAMPLE_MULTIPLE])


def load(source: str) -> types.ModuleType:
    module = types.ModuleType("generated_record")
    exec(compile(source, "generated_record.py", "exec"), module.__dict__)
    return module


def test_module_records_the_workflow_and_when_it_was_generated_and_types_follow_the_fields() -> (
    None
):
    source = record_module_source(
        seed_fields(), workflow_name="SampleWorkflow", group_id="27408", generated_at=WHEN
    )
    module = load(source)
    assert module.__doc__ is not None
    assert "'SampleWorkflow'" in module.__doc__
    assert "2026-03-01 08:00:00 UTC" in module.__doc__
    assert "cflow codegen-records SampleWorkflow --group-id 27408" in module.__doc__
    assert (module.WORKFLOW_NAME, module.GROUP_ID) == ("SampleWorkflow", "27408")
    # Types follow the definitions.
    assert "    record_id: str\n" in source  # required: no default
    assert "    city: str | None = None\n" in source
    assert "    r_approved_date1: datetime.date | None = None\n" in source
    assert "    r_status1: Literal['New', 'Approved', 'Rejected'] | None = None\n" in source
    assert "    work_status: list[Literal['Stage']] | None = None\n" in source
    assert "    completed_work: list[str] | None = None\n" in source


def test_instances_give_values_the_schema_accepts() -> None:
    fields = seed_fields()
    record_class = load(record_module_source(fields, workflow_name="W")).WRecord
    with pytest.raises(TypeError):  # RecordId is required
        record_class(city="x")
    record = record_class(
        record_id="32",
        city="trichy",
        r_approved_date1=dt.date(2022, 3, 26),
        r_status1="Approved",
        work_status=["Stage"],
    )
    assert record.to_values() == {
        "RecordId": "32",
        "City": "trichy",
        "R_Approved Date1": dt.date(2022, 3, 26),
        "R_Status1": "Approved",
        "Work_Status": ["Stage"],
    }
    prepared = RecordSchema(fields).prepare(record)
    assert prepared["R_Approved Date1"] == "3/26/2022 12:00:00 AM"


def test_hostile_names_cannot_become_code() -> None:
    hostile = 'Evil"""\nimport os  # \\'
    fields = [
        FieldDefinition(name=name, type=kind, label='label"""\n\\x', options=options)
        for name, kind, options in [
            ("class", "text", ()),
            ("1st value", "text", ()),
            ("City", "text", ()),
            ("city", "text", ()),
            ("to_values", "date", ()),
            ("", "text", ()),
            ("x'\"\n)", "select", ()),
            ("Pick", "select", ()),
            ("Files", "attachment", ()),
        ]
    ]
    fields[7] = attrs.evolve(fields[7], options=(FieldOption("a", 'it\'s """\n'),))
    source = record_module_source(fields, workflow_name=hostile, group_id="1\n2")
    module = load(source)
    assert "os" not in vars(module)
    assert hostile == module.WORKFLOW_NAME
    cls = module.EvilImportOsRecord
    names = [a.name for a in attrs.fields(cls)]
    assert names == [
        "class_",
        "f_1st_value",
        "city",
        "city_2",
        "to_values_",
        "field",
        "x",
        "pick",
        "files",
    ]
    values = cls(**dict.fromkeys(names, "v")).to_values()
    assert list(values) == [f.name for f in fields]


@pytest.mark.slow
def test_generated_module_passes_mypy_strict(tmp_path: Path) -> None:
    source = record_module_source(seed_fields(), workflow_name="SampleWorkflow")
    (tmp_path / "sample_record.py").write_text(source)
    # Fields whose names would shadow what the annotations use.
    shadowing = [
        FieldDefinition(name=name, type=kind, label=name, multiple=multiple)
        for name, kind, multiple in [
            ("List", "text", True),
            ("Str", "text", False),
            ("Datetime", "date", False),
            ("Object", "attachment", False),
            ("attrs", "text", False),
        ]
    ]
    shadow_source = record_module_source(shadowing, workflow_name="Shadows")
    assert "    list_: list[str] | None = None\n" in shadow_source
    (tmp_path / "shadows.py").write_text(shadow_source)
    (tmp_path / "use_ok.py").write_text(
        "import datetime\n"
        "from cflow_async import CflowClient\n"
        "from sample_record import SampleWorkflowRecord\n\n"
        "async def submit(cflow: CflowClient) -> str:\n"
        "    record = SampleWorkflowRecord(\n"
        "        record_id='1', r_status1='New', r_approved_date2=datetime.date(2026, 3, 1)\n"
        "    )\n"
        "    return await cflow.submit_record('SampleWorkflow', record, validate=True)\n"
    )
    # And the types are real: a value that is not an option is a type error.
    (tmp_path / "use_bad.py").write_text(
        "from sample_record import SampleWorkflowRecord\n\n"
        "record = SampleWorkflowRecord(record_id='1', r_status1='Done')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.stdout + result.stderr
    assert errors[0].startswith("use_bad.py:3:")
    assert "r_status1" in errors[0]


def test_no_fields_still_makes_a_module_and_unknown_types_are_object() -> None:
    module = load(record_module_source([], workflow_name="Test"))
    assert module.TestRecord().to_values() == {}
    fields = [FieldDefinition(name="Files", type="attachment", label="Files", multiple=True)]
    source = record_module_source(fields, workflow_name="W")
    assert "    files: object | None = None\n" in source
