"""Training specs: TOML parsing, flag overrides, paths and category matching."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotspots.errors import ConfigError, InputFileError
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.jobs.spec import (
    TargetSpec,
    check_spec,
    match_categories,
    read_spec,
    spec_from_dict,
)

REPO = Path(__file__).resolve().parents[2]
CATS = ("Assault", "Burglary Commercial", "Burglary Residential", "Robbery")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_shipped_specs_parse() -> None:
    for name in ("demo.toml", "police_uk_example.toml", "chicago_example.toml"):
        spec = read_spec(REPO / "training" / name)
        assert spec.data.events.is_absolute()
    demo = read_spec(REPO / "training" / "demo.toml")
    assert demo.name == "demo-burglary"
    assert demo.target.categories == ("Burglary Residential",)
    assert (demo.grid.resolution, demo.grid.period) == (9, "W")
    assert demo.backtest.coverages == (0.01, 0.05, 0.10)
    assert demo.data.events.name == "events.csv.gz"
    assert demo.data.events.parent.resolve() == REPO / "demo"
    assert demo.backtest.truth is not None
    assert demo.backtest.truth.name == "truth_origin_W.parquet"
    assert demo.backtest.truth.parent.resolve() == REPO / "demo"


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    spec = read_spec(write(tmp_path, 'name = "x"\n[data]\nevents = "in/e.csv"\n'))
    assert spec.data.events == tmp_path / "in" / "e.csv"
    assert spec.grid.period == "W" and spec.grid.resolution == 9
    assert spec.model.kind == "lightgbm"
    assert spec.backtest.folds == 12 and spec.backtest.refit_every is None
    assert spec.target.categories == ()
    assert spec.backtest.truth is None
    spec = read_spec(
        write(tmp_path, 'name = "x"\n[data]\nevents = "e.csv"\n[backtest]\ntruth = "d/t.parquet"\n')
    )
    assert spec.backtest.truth == tmp_path / "d" / "t.parquet"


def test_flags_override_the_spec(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "x"\n[data]\nevents = "e.csv"\n[grid]\nperiod = "M"\n')
    spec = read_spec(
        path, {"grid.period": "W", "grid.resolution": 8, "name": "y", "window.until": None}
    )
    assert (spec.name, spec.grid.period, spec.grid.resolution) == ("y", "W", 8)
    assert spec.window.until is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('name = "x"\n[data]\nevents = "e"\n[grid]\nperiod = "Q"\n', "grid.period"),
        ('name = "x"\n[data]\nevents = "e"\n[grid]\nresolution = 16\n', "grid.resolution"),
        ('name = "x"\n[data]\nevents = "e"\n[grdi]\nresolution = 8\n', "grdi"),
        ('name = "bad name!"\n[data]\nevents = "e"\n', "name"),
        ('name = "x"\n', "data"),
        ('name = "x"\n[data]\nevents = "e"\n[backtest]\ncoverages = [0, 2]\n', "coverages"),
        ('name = "x"\n[data]\nevents = "e"\n[target]\ncategories = ["(burg"]\n', "(burg"),
        ('name = "x"\n[data\n', "not valid TOML"),
    ],
)
def test_bad_specs_name_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        read_spec(write(tmp_path, text))


@pytest.mark.parametrize(
    ("section", "line", "said"),
    [
        (
            "target",
            'categories = "burglary"',
            "target.categories: Input should be a list (got 'burglary'): write categories = "
            '["burglary"]',
        ),
        (
            "backtest",
            "coverages = 0.05",
            "backtest.coverages: Input should be a list (got 0.05): write coverages = [0.05]",
        ),
    ],
)
def test_one_value_where_a_list_goes_is_told_in_toml(
    tmp_path: Path, section: str, line: str, said: str
) -> None:
    # an analyst's `categories = "burglary"` was told "Input should be a valid tuple"
    text = f'name = "x"\n[data]\nevents = "e"\n[{section}]\n{line}\n'
    with pytest.raises(ConfigError) as err:
        read_spec(write(tmp_path, text))
    assert str(err.value) == f"training spec spec.toml: {said}"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (
            'n_estimators = "200"',
            "model.params.n_estimators '200' of 'lightgbm' is not a valid int",
        ),
        (
            "learning_rate = true",
            "model.params.learning_rate True of 'lightgbm' is not a valid float",
        ),
        ("related = 1", "model.params.related 1 of 'lightgbm' is not a valid bool"),
        ("train_periods = 1.5", "model.params.train_periods 1.5 of 'lightgbm' is not a valid"),
    ],
)
def test_params_of_the_wrong_type_name_the_key_and_value(
    tmp_path: Path, params: str, fragment: str
) -> None:
    text = f'name = "x"\n[data]\nevents = "e"\n[model.params]\n{params}\n'
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        check_spec(read_spec(write(tmp_path, text)))


@pytest.mark.parametrize(
    ("kind", "params", "fragment"),
    [
        ("lightgbm", "n_estimators = 0", "model.params.n_estimators is out of range: 0 (lightgbm"),
        ("lightgbm", "learning_rate = -1", "model.params.learning_rate is out of range: -1 ("),
        ("lightgbm", "learning_rate = nan", "model.params.learning_rate is out of range: nan ("),
        ("lightgbm", "num_leaves = 1", "model.params.num_leaves is out of range: 1 (lightgbm: "),
        ("lightgbm", "min_child_samples = -5", "model.params.min_child_samples is out of range"),
        ("lightgbm", "subsample = 1.5", "model.params.subsample is out of range: 1.5 ("),
        (
            "lightgbm",
            'objective = "gamma"',
            "model.params.objective is out of range: 'gamma' (lightgbm",
        ),
        ("lightgbm", "train_periods = 0", "model.params.train_periods is out of range: 0 ("),
        (
            "hawkes",
            "decays = [0.5, 1.5]",
            "model.params.decays is out of range: (0.5, 1.5) (hawkes: item 2",
        ),
        ("hawkes", "fit_days = 3", "model.params.fit_days is out of range: 3 (hawkes: must be"),
        ("kde", "bandwidth_km = 0", "model.params.bandwidth_km is out of range: 0 (kde: must"),
        ("rolling_mean", "window = 0", "model.params.window is out of range: 0 (rolling_mean"),
    ],
)
def test_params_out_of_range_name_the_spec_key_and_value(
    tmp_path: Path, year_panel: Panel, kind: str, params: str, fragment: str
) -> None:
    """Refused by check_spec, before any data is read (the events file does not exist)."""
    text = f'name = "x"\n[data]\nevents = "e"\n[model]\nkind = "{kind}"\n'
    text += f"[model.params]\n{params}\n"
    with pytest.raises(ConfigError, match=re.escape(f"training spec spec.toml: {fragment}")):
        check_spec(read_spec(write(tmp_path, text)))
    at_fit = fragment.removeprefix("model.params.")  # the same rule at fit, from the library
    with pytest.raises(ConfigError, match=re.escape(at_fit)):
        make_forecaster(kind, **read_spec(write(tmp_path, text)).model.params).fit(year_panel)


def test_params_of_the_declared_types_pass(tmp_path: Path) -> None:
    (tmp_path / "e").write_text("time,lat,lng\n")
    text = (
        'name = "x"\n[data]\nevents = "e"\n[model]\nkind = "hawkes"\n'
        "[model.params]\nfit_days = 90\nbackground_half_lives = [365, 730]\n"
    )
    check_spec(read_spec(write(tmp_path, text)))  # an int where a float is declared is fine
    lgbm = 'name = "x"\n[data]\nevents = "e"\n[model.params]\nlearning_rate = 1\n'
    check_spec(read_spec(write(tmp_path, lgbm)))


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        read_spec(tmp_path / "nope.toml")


@pytest.mark.parametrize(("typed", "code"), [("w", "W"), ("m", "M"), ("d", "D"), ("W", "W")])
def test_a_spec_spells_its_period_as_the_flag_does(tmp_path: Path, typed: str, code: str) -> None:
    from hotspots.cli.spec_flags import spec_from_flags

    path = write(tmp_path, f'name = "x"\n[data]\nevents = "e.csv"\n[grid]\nperiod = "{typed}"\n')
    assert read_spec(path).grid.period == code
    flags = spec_from_flags(None, {"events": "e.csv", "name": "x", "period": typed}, False)
    assert flags.grid.period == code


def test_a_period_of_neither_spelling_is_refused_by_key_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "x"\n[data]\nevents = "e.csv"\n[grid]\nperiod = "q"\n')
    with pytest.raises(ConfigError) as err:
        read_spec(path)
    assert str(err.value) == (
        "training spec spec.toml: grid.period: Input should be 'D', 'W' or 'M' (got 'q')"
    )


def test_spec_from_flags_only() -> None:
    spec = spec_from_dict({}, {"name": "n", "data.events": "e.csv", "target.categories": ["a"]})
    assert spec.target.categories == ("a",) and spec.data.events == Path("e.csv")


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ((), CATS),
        (("Robbery",), ("Robbery",)),
        (("burglary",), ("Burglary Commercial", "Burglary Residential")),
        (("Robbery", "^Assault$"), ("Assault", "Robbery")),
        (("Burglary Residential", "resid"), ("Burglary Residential",)),
    ],
)
def test_match_categories(entries: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert match_categories(TargetSpec(categories=entries), CATS) == expected


def test_unmatched_category_lists_what_there_is() -> None:
    with pytest.raises(ConfigError, match=r"'Arson' matches no category.*Assault"):
        match_categories(TargetSpec(categories=("Arson",)), CATS)


@pytest.mark.parametrize(
    ("member_params", "fragment"),
    [
        (
            "lightgbm = { num_leaves = 1 }",
            "model.params.member_params.lightgbm.num_leaves is out of range: 1 (lightgbm: must",
        ),
        (
            "hawkes = { decays = [2.0] }",
            "model.params.member_params.hawkes.decays is out of range: (2.0,) (hawkes: item 1",
        ),
        (
            "lightgbm = { leaves = 31 }",
            "model.params.member_params.lightgbm.leaves is not a parameter of 'lightgbm'; its",
        ),
        ("arson = {}", "model.params.member_params ['arson'] are not member kinds; kinds are"),
    ],
)
def test_ensemble_member_params_are_checked_as_their_own_kinds(
    tmp_path: Path, year_panel: Panel, member_params: str, fragment: str
) -> None:
    """Before any data is read, and at fit (members are fitted without their own fit)."""
    text = (
        'name = "x"\n[data]\nevents = "e"\n[model]\nkind = "ensemble"\n'
        f"[model.params]\nmembers = ['lightgbm', 'hawkes']\nmember_params = {{ {member_params} }}\n"
    )
    with pytest.raises(ConfigError, match=re.escape(f"training spec spec.toml: {fragment}")):
        check_spec(read_spec(write(tmp_path, text)))
    params = read_spec(write(tmp_path, text)).model.params
    with pytest.raises(ConfigError, match=re.escape(fragment.removeprefix("model.params."))):
        make_forecaster("ensemble", **params).fit(year_panel)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # ingest's --source-tz / --tz flags are data.source_timezone / data.timezone here
        (
            '[data]\nevents = "e"\nsource_tz = "UTC"\n',
            "data.source_tz is not a key of [data] (did you mean 'source_timezone'?); "
            "its keys are: events, preset, map, crs, timezone, source_timezone,",
        ),
        ('[data]\nevents = "e"\ntz = "UTC"\n', "(did you mean 'timezone'?)"),
        ('[data]\nevents = "e"\n[target]\ncategory = ["x"]\n', "(did you mean 'categories'?)"),
        ('[data]\nevents = "e"\n[grid]\nresolutoin = 8\n', "(did you mean 'resolution'?)"),
        ('[data]\nevents = "e"\n[[covariates]]\npth = "p"\n', "(did you mean 'path'?)"),
        ('nmae = "y"\n[data]\nevents = "e"\n', "nmae is not a key of the top level"),
    ],
)
def test_unknown_keys_name_the_valid_ones(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        read_spec(write(tmp_path, 'name = "x"\n' + text))


def test_a_missing_file_of_a_spec_says_relative_paths_are_read_from_its_folder(
    tmp_path: Path,
) -> None:
    """An analyst who writes the path from where they run the command finds why."""
    spec = read_spec(write(tmp_path, 'name = "x"\n[data]\nevents = "data/e.parquet"\n'))
    where = tmp_path / "data" / "e.parquet"
    with pytest.raises(InputFileError) as err:
        check_spec(spec)
    assert str(err.value) == (
        f"data.events {where} is not found (a relative path in training spec spec.toml is "
        "read from its folder)"
    )
    flags = spec_from_dict({"name": "x", "data": {"events": str(where)}})
    with pytest.raises(InputFileError) as err:  # no spec file: nothing to be relative to
        check_spec(flags)
    assert str(err.value) == f"data.events {where} is not found"
