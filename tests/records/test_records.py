"""RecordSchema on the seed's field definitions: every problem code, the conversions of
prepare(), time zones, and the ``"default:"`` key read from the wire."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from cflow_async import (
    CflowError,
    FieldDefinition,
    FieldProblem,
    InvalidArgumentError,
    RecordSchema,
    RecordValidationError,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "legacy"

# The legacy document's submit sample sends these two multi-value fields; the field
# definitions it shows elsewhere have no multiple field, so they are spelled out here.
SAMPLE_MULTIPLE: list[dict[str, Any]] = [
    {
        "name": name,
        "type": kind,
        "label": name.replace("_", " "),
        "options": options,
        "spec": None,
        "help": "",
        "default:": None,
        "required": False,
        "multiple": True,
        "multiline": False,
    }
    for name, kind, options in [
        ("Work_Status", "select", [{"label": "Stage", "value": "Stage"}]),
        ("Completed_work", "text", None),
    ]
]


def seed(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def schema() -> RecordSchema:
    """getworkflowprocessfieldsformap from the seed (RecordId required, R_Status1 select,
    two date fields, R_Comments1 with ``"default:": ""``) plus the sample's multi fields."""
    return RecordSchema.from_json(
        [*seed("fieldsformap.json"), *SAMPLE_MULTIPLE], workflow_name="SampleWorkflow"
    )


def codes(problems: list[FieldProblem]) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in problems]


def test_schema_reads_the_seed_definitions_with_the_colon_default_key(
    schema: RecordSchema,
) -> None:
    comments = schema.field("R_Comments1")
    assert comments is not None
    assert comments.default == ""  # from the wire key "default:"
    assert schema.field("City") == FieldDefinition(name="City", type="text", label="City")
    assert "RecordId" in schema
    assert "Ctiy" not in schema
    assert schema.unknown_types == ()
    assert schema.names[:2] == ("City", "Email")


def test_valid_values_have_no_problems_and_are_prepared(schema: RecordSchema) -> None:
    values = {
        "RecordId": "32",
        "City": "trichy",
        "R_Status1": "Approved",
        "R_Approved Date1": dt.datetime(2022, 3, 26, 18, 30),
        "R_Approved Date2": "2022-03-26",
        "R_Comments1": None,
        "Work_Status": ["Stage"],
    }
    assert schema.check(values) == []
    dates = {
        "R_Approved Date1": "3/26/2022 6:30:00 PM",
        "R_Approved Date2": "3/26/2022 12:00:00 AM",
    }
    assert schema.prepare(values) == {**values, **dates}  # the rest as given


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("Ctiy", "trichy", "did you mean 'City'?"),
        ("r_status1", "New", "did you mean 'R_Status1'?"),  # a case-insensitive match first
        ("Zzzzzzzz", "x", "'City'"),  # no close name: the known ones are listed
    ],
)
def test_unknown_field_suggests_the_closest_name_or_lists_the_known_ones(
    schema: RecordSchema, field: str, value: str, hint: str
) -> None:
    (problem,) = schema.check({"RecordId": "1", field: value})
    assert (problem.field, problem.code) == (field, "unknown_field")
    assert hint in problem.message
    assert ("did you mean" in problem.message) == hint.startswith("did you mean")
    assert str(problem).startswith(f"{field}: ")


class Odd:
    """An object whose equality raises: never compared to text."""

    def __eq__(self, other: object) -> bool:
        raise TypeError("no comparisons")

    __hash__ = object.__hash__


DATE = "R_Approved Date1"
NOT_SENDABLE = [("City", "unsendable_type")]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Field names must be non-empty strings.
        ({1: "x"}, [("1", "unknown_field")]),
        ({"": "x"}, [("", "unknown_field")]),
        ({None: "x"}, [("None", "unknown_field")]),
        ({"Work_Status": 1}, [("Work_Status", "invalid_option")]),
        ({"Work_Status": True}, [("Work_Status", "invalid_option")]),
        ({"Work_Status": ["Stage", "Nope"]}, [("Work_Status", "invalid_option")]),
        ({"Work_Status": ["Stage", 2]}, [("Work_Status", "invalid_option")]),
        # A list for a single value field is not multiple.
        (
            {"City": ["a", "b"], "R_Status1": ("New",)},
            [("City", "not_multiple"), ("R_Status1", "not_multiple")],
        ),
        ({DATE: "26/03/2022"}, [(DATE, "invalid_date")]),
        ({DATE: "3/26/2022"}, [(DATE, "invalid_date")]),
        ({DATE: "2/31/2022 1:00:00 PM"}, [(DATE, "invalid_date")]),
        ({DATE: "tomorrow"}, [(DATE, "invalid_date")]),
        ({DATE: 20220326}, [(DATE, "invalid_date")]),
        ({DATE: 1.5}, [(DATE, "invalid_date")]),
        ({DATE: ""}, []),  # an empty string clears a date: not a problem
        ({"City": object()}, NOT_SENDABLE),
        ({"City": {"a": 1}}, NOT_SENDABLE),
        ({"City": True}, NOT_SENDABLE),
        ({"City": float("nan")}, NOT_SENDABLE),
        ({"City": float("inf")}, NOT_SENDABLE),
        ({"City": b"bytes"}, NOT_SENDABLE),
        ({"City": "\ud800"}, NOT_SENDABLE),
        ({"Completed_work": [["x"]]}, [("Completed_work", "unsendable_type")]),
        # Objects with an odd equality are not compared to text.
        (
            {"RecordId": Odd(), "R_Status1": Odd()},
            [("RecordId", "unsendable_type"), ("R_Status1", "invalid_option")],
        ),
    ],
)
def test_check_reports_each_problem_by_field_and_code(
    schema: RecordSchema, values: dict[Any, Any], expected: list[Any]
) -> None:
    assert codes(schema.check({"RecordId": "1", **values})) == expected


def test_required_missing_on_submit_but_not_on_update(schema: RecordSchema) -> None:
    assert codes(schema.check({"City": "x"})) == [("RecordId", "required_missing")]
    assert schema.check({"City": "x"}, for_update=True) == []


@pytest.mark.parametrize("empty", [None, ""])
def test_required_field_cannot_be_cleared_even_on_update(schema: RecordSchema, empty: Any) -> None:
    for for_update in (False, True):
        problems = schema.check({"RecordId": empty}, for_update=for_update)
        assert codes(problems) == [("RecordId", "required_missing")]


def test_problem_messages_say_what_would_do(schema: RecordSchema) -> None:
    (problem,) = schema.check({"RecordId": "1", "R_Status1": "Done"})
    assert "'New', 'Approved', 'Rejected'" in problem.message
    assert "'Done'" in problem.message
    (problem,) = schema.check({"RecordId": "1", DATE: "tomorrow"})
    assert "3/26/2022 6:30:00 PM" in problem.message
    # A select whose definition lists no options takes any string, and says so.
    bare = RecordSchema.from_json([{"name": "Pick", "type": "select", "label": "Pick"}])
    assert bare.check({"Pick": "anything"}) == []
    (problem,) = bare.check({"Pick": 5})
    assert problem.message == "5 is not an option; a select value is a string"


def test_a_scalar_for_a_multiple_field_is_wrapped_and_an_empty_select_clears_it(
    schema: RecordSchema,
) -> None:
    values = {"RecordId": "1", "Work_Status": "Stage", "Completed_work": "live testing"}
    assert schema.check(values) == []
    prepared = schema.prepare(values)
    assert prepared["Work_Status"] == ["Stage"]
    assert prepared["Completed_work"] == ["live testing"]
    # An empty single select clears it.
    assert schema.prepare({"RecordId": "1", "R_Status1": ""})["R_Status1"] == ""


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("3/26/2022 6:30:00 PM", "3/26/2022 6:30:00 PM"),  # Cflow's own format: as given
        ("03/26/2022 06:30:00 PM", "03/26/2022 06:30:00 PM"),
        ("2022-03-26", "3/26/2022 12:00:00 AM"),
        ("2022-03-26T18:30:00", "3/26/2022 6:30:00 PM"),
        ("2022-03-26 18:30", "3/26/2022 6:30:00 PM"),
        (dt.date(2022, 3, 26), "3/26/2022 12:00:00 AM"),
        (dt.datetime(2022, 3, 26, 0, 0, 1), "3/26/2022 12:00:01 AM"),
        (dt.datetime(999, 1, 2, 13, 0), "1/2/0999 1:00:00 PM"),  # M/D/YYYY: four digits
    ],
)
def test_dates_become_cflow_format(schema: RecordSchema, value: Any, wire: str) -> None:
    values = {"RecordId": "1", "R_Approved Date1": value}
    assert schema.prepare(values) == {**values, "R_Approved Date1": wire}


def test_text_is_left_as_text(schema: RecordSchema) -> None:
    # A date-looking string in a text field is the caller's text, not a date.
    values = {"RecordId": "2022-03-26", "City": "3/26/2022", "Phone": 5551234, "Email": 1.5}
    assert schema.prepare(values) == values
    # A date object in a text field goes in Cflow's format (was only met by chance in the
    # property tests).
    prepared = schema.prepare({"RecordId": "1", "City": dt.date(2022, 3, 26)})
    assert prepared["City"] == "3/26/2022 12:00:00 AM"


def test_aware_datetime_without_timezone_explains_both_fixes(schema: RecordSchema) -> None:
    aware = dt.datetime(2022, 3, 26, 18, 30, tzinfo=dt.UTC)
    (problem,) = schema.check({"RecordId": "1", DATE: aware})
    assert problem.code == "aware_datetime"
    assert "naive datetime" in problem.message
    assert "timezone=" in problem.message
    # ISO text with an offset is aware too, and quoted as given.
    (problem,) = schema.check({"RecordId": "1", DATE: "2022-03-26T18:30+02:00"})
    assert problem.code == "aware_datetime"
    assert problem.message.startswith("'2022-03-26T18:30+02:00' is a timezone-aware datetime")


def test_aware_datetime_is_converted_into_the_timezone() -> None:
    schema = RecordSchema.from_json(seed("fieldsformap.json"), timezone="Asia/Kolkata")
    assert isinstance(schema.timezone, zoneinfo.ZoneInfo)
    aware = dt.datetime(2022, 3, 26, 13, 0, tzinfo=dt.UTC)
    prepared = schema.prepare({"RecordId": "1", "R_Approved Date1": aware})
    assert prepared["R_Approved Date1"] == "3/26/2022 6:30:00 PM"  # +05:30
    prepared = schema.prepare({"RecordId": "1", "R_Approved Date1": "2022-03-26T13:00:00Z"})
    assert prepared["R_Approved Date1"] == "3/26/2022 6:30:00 PM"
    # Naive values are wall time already: left alone.
    naive = dt.datetime(2022, 3, 26, 13, 0)
    prepared = schema.prepare({"RecordId": "1", "R_Approved Date1": naive})
    assert prepared["R_Approved Date1"] == "3/26/2022 1:00:00 PM"


def test_every_problem_is_reported_not_just_the_first(schema: RecordSchema) -> None:
    values = {
        "Ctiy": "x",
        "R_Status1": "Done",
        "City": ["a"],
        "R_Approved Date1": "soon",
        "Phone": object(),
    }
    assert sorted(code for _, code in codes(schema.check(values))) == [
        "invalid_date",
        "invalid_option",
        "not_multiple",
        "required_missing",
        "unknown_field",
        "unsendable_type",
    ]
    with pytest.raises(RecordValidationError) as caught:
        schema.prepare(values)
    error = caught.value
    assert isinstance(error, InvalidArgumentError)
    assert isinstance(error, CflowError)
    assert len(error.problems) == 6
    assert error.workflow_name == "SampleWorkflow"
    assert error.message.startswith("6 problems with the record values for workflow")
    assert "did you mean 'City'?" in error.message
    assert error.attempts == 0
    copy = pickle.loads(pickle.dumps(error))
    assert copy.problems == error.problems


def test_unknown_types_and_a_workflow_without_definitions_pass_sendable_values() -> None:
    definitions = [
        *seed("fieldsformap.json"),
        {"name": "Files", "type": "attachment", "label": "Files"},
        {"name": "Amount", "type": "currency", "label": "Amount", "required": True},
    ]
    schema = RecordSchema.from_json(definitions)
    assert schema.unknown_types == ("attachment", "currency")
    values = {"RecordId": "1", "Files": [{"name": "a.pdf"}], "Amount": 12.5}
    assert schema.prepare(values) == values
    # Still sendable only: and required still means required.
    problems = schema.check({"RecordId": "1", "Files": object()})
    assert codes(problems) == [("Files", "unsendable_type"), ("Amount", "required_missing")]
    # As the sandbox's free-form "Test" workflow: no definitions say nothing to check.
    schema = RecordSchema([], workflow_name="Test")
    values = {"a": "1", "b": [2], "When": dt.date(2022, 3, 26)}
    assert schema.prepare(values) == {**values, "When": "3/26/2022 12:00:00 AM"}
    assert codes(schema.check({"a": object(), 5: "x"})) == [
        ("a", "unsendable_type"),
        ("5", "unknown_field"),
    ]


def test_bad_schema_arguments_and_values_that_are_no_mapping_are_refused(
    schema: RecordSchema,
) -> None:
    for values in (None, ["City"], "City=x"):
        with pytest.raises(InvalidArgumentError, match="mapping"):
            schema.check(values)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="FieldDefinition"):
        RecordSchema([{"name": "City"}])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="time zone"):
        RecordSchema([], timezone="Mars/Olympus_Mons")
    with pytest.raises(InvalidArgumentError, match="field definitions"):
        RecordSchema.from_json({"Fields": "not a list"})
