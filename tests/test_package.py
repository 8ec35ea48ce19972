"""The public API resolves, and importing cxlib stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cxlib


@pytest.mark.parametrize("name", cxlib.__all__)
def test_every_public_name_resolves(name):
    assert getattr(cxlib, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cxlib.nope  # noqa: B018


def test_import_cxlib_does_not_load_the_analysis_stack():
    code = ("import sys, cxlib; heavy = [m for m in ('pandas', 'scipy', 'statsmodels', 'plotly') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
