"""The one home of row lists and option checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.checks import (MAX_ROWS_SHOWN, check_at_least, check_between, check_option,
                          row_numbers, rows_text)
from cxlib.errors import CxError, DataError, ParameterError

PACKAGE = Path(__file__).resolve().parents[1] / "cxlib"

def test_parameter_error_is_a_cx_error_and_a_value_error():
    assert issubclass(ParameterError, CxError) and issubclass(ParameterError, ValueError)
    assert not issubclass(ParameterError, DataError)


# -- rows_text ------------------------------------------------------------------------------

def test_rows_text_names_the_first_rows_then_how_many_more():
    assert MAX_ROWS_SHOWN == 5
    assert rows_text([17, 204, 911]) == "17, 204, 911"
    assert rows_text(range(1, 13)) == "1, 2, 3, 4, 5 and 7 more"
    assert rows_text(range(1, 7)) == "1, 2, 3, 4, 5 and 1 more"
    assert rows_text(range(1, 6)) == "1, 2, 3, 4, 5"


def test_rows_text_shows_values_as_python_reprs_and_leaves_out_none():
    values = [np.int64(11), "x", None, np.float64(2.5), pd.Timestamp("2024-01-05"), "y"]
    assert rows_text([3, 4, 8, 9, 10, 12], values) == (
        "3 (11), 4 ('x'), 8, 9 (2.5), 10 (Timestamp('2024-01-05 00:00:00')) and 1 more")


def test_rows_text_counts_rows_when_asked():
    assert rows_text([7], count=True) == "1 row: 7"
    assert rows_text(range(2, 42), ["a"] * 40, count=True) == (
        "40 rows: 2 ('a'), 3 ('a'), 4 ('a'), 5 ('a'), 6 ('a') and 35 more")


def test_row_numbers_are_one_based_positions_whatever_the_index():
    mask = pd.Series([False, True, False, True], index=[10, 11, 12, 13])
    assert row_numbers(mask) == [2, 4]
    assert row_numbers(np.array([True, False])) == [1]
    assert row_numbers([]) == []
    assert all(type(r) is int for r in row_numbers(mask))


# -- option and range checks ----------------------------------------------------------------

def test_check_option_passes_an_allowed_value():
    check_option("method", "shapley", ("relative_weights", "shapley"))
    check_option("platform", None, ("qualtrics", None))


def test_check_option_names_function_argument_choices_and_a_near_miss():
    with pytest.raises(ParameterError) as info:
        check_option("method", "bootsrap", ("adjusted_wald", "bootstrap"), where="nps")
    assert str(info.value) == ("nps: method must be one of adjusted_wald, bootstrap, "
                               "got 'bootsrap'; did you mean 'bootstrap'?")


def test_check_option_suggests_nothing_for_a_far_miss_or_a_non_text_value():
    with pytest.raises(ParameterError) as info:
        check_option("wave", "middle", ("first", "last"))
    assert str(info.value) == "wave must be one of first, last, got 'middle'"
    with pytest.raises(ParameterError, match=r"got \[1\]$"):
        check_option("wave", [1], ("first", "last"))  # unhashable, still a clear error


def test_check_between_is_open_at_both_ends():
    check_between("level", 0.95, 0, 1)
    for bad in (0, 1, 1.5, float("nan")):
        with pytest.raises(ParameterError, match=r"^z: level must be between 0 and 1, got"):
            check_between("level", bad, 0, 1, where="z")


def test_check_at_least_includes_the_minimum():
    check_at_least("n_customers", 100, 100)
    for bad in (99, float("nan")):
        with pytest.raises(ParameterError, match=r"^n_customers must be at least 100, got"):
            check_at_least("n_customers", bad, 100)


# -- what analysts see from the converted call sites -----------------------------------------

def test_a_misspelt_option_is_a_parameter_error_with_a_suggestion():
    from cxlib.metrics import nps

    frame = pd.DataFrame({"nps": [9, 10, 3]})
    with pytest.raises(ParameterError, match=r"^nps: method must be one of .*did you mean "
                                             r"'bootstrap'\?$"):
        nps(frame, method="bootstrp")


def test_a_level_outside_0_1_is_a_parameter_error_still_caught_as_value_error():
    from cxlib.metrics import z_value

    with pytest.raises(ValueError, match="level must be between 0 and 1, got 95"):
        z_value(95)


def test_converted_sites_say_how_many_rows_they_did_not_name():
    from cxlib.metrics import nps

    frame = pd.DataFrame({"nps": [11, 12, 13, 14, 15, 16, 17, 9]})
    with pytest.raises(DataError, match=r"^nps: column 'nps' has 7 values outside 0-10 "
                                        r"\(rows 1, 2, 3, 4, 5 and 2 more\)$"):
        nps(frame)
