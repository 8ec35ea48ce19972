"""environment.yml lists the same dependencies, with the same ranges, as pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import yaml

from cxlib import paths

# pip name -> conda-forge name where they differ
CONDA_NAME: dict[str, str] = {"duckdb": "python-duckdb"}


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert m, requirement
    name = m.group(1).lower().replace("_", "-")
    spec = ",".join(sorted(s.strip() for s in m.group(2).split(",") if s.strip()))
    return CONDA_NAME.get(name, name), spec


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return dict(_split(r) for r in reqs)


def _environment() -> tuple[dict[str, str], list]:
    env = yaml.safe_load((paths.PROJECT_ROOT / "environment.yml").read_text())
    conda: dict[str, str] = {}
    pip: list = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
        else:
            name, spec = _split(dep)
            if name not in ("python", "pip"):
                conda[name] = spec
    return conda, pip


def test_environment_yml_matches_pyproject():
    conda, pip = _environment()
    expected = _pyproject()
    missing = sorted(set(expected) - set(conda))
    extra = sorted(set(conda) - set(expected))
    assert not missing, f"in pyproject.toml but not in environment.yml: {missing}"
    assert not extra, f"in environment.yml but not in pyproject.toml: {extra}"
    differ = {k: (expected[k], conda[k]) for k in expected if expected[k] != conda[k]}
    assert not differ, f"ranges differ (pyproject, environment.yml): {differ}"
    assert pip == ["-e ."], "the pip section installs only cxlib itself"


def test_environment_yml_pins_the_tested_python():
    env = yaml.safe_load((paths.PROJECT_ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    project = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"


def test_split_normalises_order_of_specifiers():
    assert _split("pandas<4,>=2.2") == _split("pandas>=2.2,<4") == ("pandas", "<4,>=2.2")
