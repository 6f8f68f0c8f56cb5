"""Names that become path components, and written paths kept under their root."""

from __future__ import annotations

import pytest

from geochem_bench.core.names import check_name, path_within, sanitize_name
from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.records import result_path


@pytest.mark.parametrize("name", ["meuse", "walker-lake", "Cu", "v1.0+cpu", "my_survey_2"])
def test_valid_names_pass_unchanged(name):
    assert check_name(name, "scene name") == name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../../x", "contains a path separator or '..'; e.g. 'x'"),
        ("a\\b", "contains a path separator or '..'; e.g. 'a_b'"),
        ("a..b", "contains a path separator or '..'; e.g. 'a_b'"),
        (".hidden", "may only use letters, digits and . _ + - (starting with a letter or digit)"),
        ("-rf", "may only use letters, digits and . _ + - (starting with a letter or digit)"),
        ("a b", "may only use letters, digits and . _ + -"),
        ("x" * 65, "is 65 characters long; at most 64 are allowed"),
    ],
)
def test_invalid_names_say_what_is_wrong_and_suggest_one(name, problem):
    with pytest.raises(InvalidInputError) as info:
        check_name(name, "scene name")
    assert str(info.value).startswith(f"scene name {name!r} {problem}")


def test_nothing_usable_gets_no_suggestion():
    assert sanitize_name("..") == ""
    with pytest.raises(
        InvalidInputError, match=r"^scene name '\.\.' contains a path separator or '\.\.'$"
    ):
        check_name("..", "scene name")


def test_path_within_refuses_climbing_out(tmp_path):
    assert path_within(tmp_path, "a", "b.json") == tmp_path / "a" / "b.json"
    for parts in (("..", "x"), ("a/../../x",), ("/etc/passwd",)):
        with pytest.raises(InvalidInputError, match=r"refusing the path .* it is not inside"):
            path_within(tmp_path, *parts)
    with pytest.raises(InvalidInputError, match="not inside"):
        path_within(tmp_path)  # the root itself is no file under it
    (tmp_path / "link").symlink_to(tmp_path.parent)  # links are followed (the HF cache is one)
    assert path_within(tmp_path, "link", "x.json") == tmp_path / "link" / "x.json"


def test_result_path_refuses_a_task_id_that_climbs_out(tmp_path):
    with pytest.raises(InvalidInputError, match=r"task id '\.\./\.\./x/cu/s4/points': part '\.\.'"):
        result_path(tmp_path, "sub", "1", "../../x/cu/s4/points", 0)
    assert not list(tmp_path.iterdir())
