"""GET /v1/effectiveness, the /readyz flag and the realised PAI gauge, on a service that
served a forecast for a week whose events have since arrived."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest
from served_env import TARGET, Env, key_store, settings_of

from hotspots.evaluation import flagged_count
from hotspots.features import Panel
from hotspots.grid import strings_to_cells
from hotspots.ingest import write_events
from hotspots.publishing.snapshot_store import SnapshotStore
from hotspots.service.app import create_app
from hotspots.synthetic import TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

WEEK = pd.Timestamp("2023-12-04")


@pytest.fixture(scope="module")
def served_then_arrived(
    base_env: Env, year_city_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A state that served as_of 2023-12-04 (events through Sunday 3 December), then the
    rest of the year's events arrived and the service republished (as_of 2024-01-01)."""
    import shutil

    root = tmp_path_factory.mktemp("realised")
    for part in ("models", "state"):
        shutil.copytree(base_env.root / part, root / part)
    shutil.rmtree(root / "state" / "snapshots", ignore_errors=True)
    local = year_city_events["occurred_at"].dt.tz_localize(None)
    early = year_city_events.loc[local < WEEK].reset_index(drop=True)
    write_events(early, root / "events.parquet", {"timezone": TIMEZONE})
    with TestClient(create_app(settings_of(root))):
        pass  # the lifespan publishes as_of 2023-12-04
    write_events(year_city_events, root / "events.parquet", {"timezone": TIMEZONE})
    return root


@pytest.fixture
def client(served_then_arrived: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_of(served_then_arrived))) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_served_week_is_scored_and_the_next_is_pending(
    client: TestClient, base_env: Env, served_then_arrived: Path, year_panel: Panel
) -> None:
    answer = client.get("/v1/effectiveness", headers=auth(base_env.read))
    assert answer.status_code == 200, answer.text
    [model] = answer.json()["models"]
    assert model["name"] == "burglary"
    [period] = model["periods"]
    assert (period["as_of"], period["period_end"]) == ("2023-12-04", "2023-12-11")
    # the service forecasts 4 periods ahead: as of 1 January, none has passed
    assert [(p["as_of"], p["horizon"], p["period_start"]) for p in model["pending"]] == [
        ("2024-01-01", h, f"2024-01-{1 + 7 * (h - 1):02d}") for h in (1, 2, 3, 4)
    ]
    # by hand: the top 1% of the stored ranking, and the week's burglaries in those cells
    stored = SnapshotStore(served_then_arrived / "state" / "snapshots").load("burglary", WEEK)
    ranked = [
        h["cell"] for h in sorted(json.loads(stored.bytes)["hotspots"], key=lambda h: h["rank"])
    ]
    k = flagged_count(len(ranked), 0.01)
    week = year_panel.of(TARGET)[year_panel.periods.get_loc(WEEK)]
    top = np.isin(year_panel.cells, strings_to_cells(ranked[:k]))
    served = period["cutoffs"]["1%"]["served"]
    assert (served["n_events"], served["flagged"]) == (int(week.sum()), k)
    assert served["hits"] == int(week[top].sum())
    assert served["pai"] == pytest.approx(
        week[top].sum() / week.sum() / (k / len(ranked)), rel=1e-6
    )
    # the model served is a historical mean: its baseline twin, fitted on the same weeks
    # before the as_of, must score the same
    twin = period["cutoffs"]["1%"]["baselines"]["historical_mean"]
    assert {k: twin[k] for k in ("hits", "pai", "pei")} == {
        k: served[k] for k in ("hits", "pai", "pei")
    }
    assert set(period["cutoffs"]["1%"]["baselines"]) == {
        "last_period", "historical_mean", "rolling_mean", "prospective", "kde"
    }  # fmt: skip


def test_the_periods_served_ahead_are_scored_on_their_own_weeks(
    client: TestClient, base_env: Env, served_then_arrived: Path, year_panel: Panel
) -> None:
    # as of 4 December the service also served 11, 18 and 25 December (horizon 2-4)
    [model] = client.get("/v1/effectiveness", headers=auth(base_env.read)).json()["models"]
    later = model["later_periods"]
    assert [(p["as_of"], p["horizon"], p["period_start"], p["period_end"]) for p in later] == [
        ("2023-12-04", 2, "2023-12-11", "2023-12-18"),
        ("2023-12-04", 3, "2023-12-18", "2023-12-25"),
        ("2023-12-04", 4, "2023-12-25", "2024-01-01"),
    ]
    snapshots = SnapshotStore(served_then_arrived / "state" / "snapshots")
    for period in later:
        # by hand: the top 1% of the ranking served for that week, and the week's burglaries
        stored = snapshots.load("burglary", WEEK, period=period["horizon"] - 1)
        rows = sorted(json.loads(stored.bytes)["hotspots"], key=lambda h: h["rank"])
        k = flagged_count(len(rows), 0.01)
        week = year_panel.of(TARGET)[
            year_panel.periods.get_loc(pd.Timestamp(period["period_start"]))
        ]
        top = np.isin(year_panel.cells, strings_to_cells([h["cell"] for h in rows[:k]]))
        served = period["cutoffs"]["1%"]["served"]
        assert (served["n_events"], served["hits"]) == (int(week.sum()), int(week[top].sum()))
        # the served historical mean, fitted before 4 December, forecasts every week alike:
        # its baseline twin forecasting as far ahead from the same as_of scores the same
        twin = period["cutoffs"]["1%"]["baselines"]["historical_mean"]
        assert (twin["hits"], twin["pai"]) == (served["hits"], served["pai"])
        assert period["dosage"] is None
    by = {h["horizon"]: h for h in model["by_horizon"]}
    assert sorted(by) == [1, 2, 3, 4] and all(h["periods"] == 1 for h in by.values())
    assert by[3]["served"]["pai"] == later[1]["cutoffs"]["1%"]["served"]["pai"]


def test_window_and_empty_window(client: TestClient, base_env: Env) -> None:
    later = client.get("/v1/effectiveness?since=2023-12-05", headers=auth(base_env.read))
    assert later.json()["models"][0]["periods"] == []
    assert later.json()["models"][0]["flag"]["periods_below"] in (0, 1)  # judged on every one
    # a window no period can be in is a wrong request, not an answer saying nothing was served
    for since, until in (("2023-12-05", "2023-12-01"), ("2023-12-04", "2023-12-04")):
        bad = client.get(
            f"/v1/effectiveness?since={since}&until={until}", headers=auth(base_env.read)
        )
        assert bad.status_code == 422, bad.text
        assert bad.json()["detail"] == (
            f"since {since} is not before until {until}: the window holds the periods starting "
            "on or after since and before until"
        )
    assert client.get("/v1/effectiveness", headers=auth(base_env.write)).status_code == 403


def test_a_question_that_cannot_be_answered_is_a_problem(client: TestClient, base_env: Env) -> None:
    """An unknown category names the categories there are (not 200 with no models); a day
    that does not exist names the parameter."""
    unknown = client.get("/v1/effectiveness?category=Arson", headers=auth(base_env.read))
    assert unknown.status_code == 404, unknown.text
    assert unknown.headers["content-type"] == "application/problem+json"
    detail = unknown.json()["detail"]
    assert detail.startswith("category 'Arson': ") and "'Burglary Residential'" in detail
    known = client.get(
        "/v1/effectiveness?category=Burglary%20Residential", headers=auth(base_env.read)
    )
    assert known.status_code == 200 and [m["name"] for m in known.json()["models"]] == ["burglary"]
    no_day = client.get("/v1/effectiveness?until=2023-02-30", headers=auth(base_env.read))
    assert no_day.status_code == 422
    assert no_day.json()["detail"].startswith("until '2023-02-30' is not a date")


def test_an_unknown_category_is_refused_before_any_snapshot_is_read(
    client: TestClient, base_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each odd category was scored (its model's snapshots read, 0.15-0.8 s) before its 404,
    and refusals are not cached: checked first, against the events, it costs a lookup."""
    from hotspots.serving import realised

    reads: list[str] = []
    real = realised.snapshots_to_served
    monkeypatch.setattr(
        realised, "snapshots_to_served", lambda store, name: reads.append(name) or real(store, name)
    )
    for odd in ("Arson", "Burglary residential", "Burglary Residential "):
        got = client.get("/v1/effectiveness", params={"category": odd}, headers=auth(base_env.read))
        assert got.status_code == 404 and got.json()["detail"].startswith(f"category {odd!r}: ")
    assert reads == []
    known = client.get(
        "/v1/effectiveness?category=Burglary%20Residential", headers=auth(base_env.read)
    )
    assert known.status_code == 200 and reads == ["burglary"]


def test_dosage_from_posted_patrols(
    client: TestClient, base_env: Env, served_then_arrived: Path, year_panel: Panel
) -> None:
    key = key_store(served_then_arrived).create("log", ["patrols:write"])[1]
    near = h3.grid_ring(base_env.cell, 1)[0]
    body = (
        "id,cells,start,end\n"
        f"D1,{base_env.cell} {near},2023-12-05 10:00,2023-12-05 12:00\n"
        f"D2,{base_env.cell},2023-12-06 22:00,2023-12-06 23:30\n"
    )
    posted = client.post(
        "/v1/patrols", content=body, headers={**auth(key), "Content-Type": "text/csv"}
    )
    assert posted.json()["stored"] == 2, posted.text
    # every count shown (HOTSPOTS_MIN_EVENTS_SHOWN=0), on the same records
    with TestClient(create_app(settings_of(served_then_arrived, min_events_shown=0))) as c:
        shown = c.get("/v1/effectiveness", headers=auth(base_env.read)).json()
    dose = shown["models"][0]["periods"][0]["dosage"]
    # two hours over two cells and 90 minutes on one: 60 + 90 and 60 minutes
    assert (dose["patrolled_cells"], dose["patrol_minutes"]) == (2, 210.0)
    week = year_panel.of(TARGET)[year_panel.periods.get_loc(WEEK)]
    cells = strings_to_cells([base_env.cell, near])
    patrolled = int(week[np.isin(year_panel.cells, cells)].sum())
    assert dose["events_patrolled"] == patrolled == 2  # one household's burglaries, maybe
    disks = set(h3.grid_disk(base_env.cell, 1)) | set(h3.grid_disk(near, 1))
    ring = strings_to_cells(sorted(disks - {base_env.cell, near}))
    assert dose["events_ring"] == int(week[np.isin(year_panel.cells, ring)].sum())
    assert dose["events_patrolled"] + dose["events_ring"] + dose["events_rest"] == week.sum()
    assert dose["suppressed"] is False and dose["periods_before"] == 4
    # by default (3) the 2 is withheld, and the rest beside it, which would give it away
    # (patrolled + ring + rest = the week's n_events, shown); the ratios stay as they were
    answer = client.get("/v1/effectiveness", headers=auth(base_env.read)).json()
    hidden = answer["models"][0]["periods"][0]["dosage"]
    assert hidden["events_patrolled"] is None and hidden["events_rest"] is None
    assert hidden["suppressed"] is True
    assert hidden["patrol_minutes"] == 210.0 and hidden["patrolled_cells"] == 2
    ring_shown = dose["events_ring"] if dose["events_ring"] >= 3 else None
    assert hidden["events_ring"] == ring_shown
    cutoffs = answer["models"][0]["periods"][0]["cutoffs"]
    assert cutoffs == shown["models"][0]["periods"][0]["cutoffs"]
    assert cutoffs["1%"]["served"]["n_events"] == int(week.sum())


def test_readyz_flag_and_the_gauge_follow_the_figures(
    served_then_arrived: Path, base_env: Env
) -> None:
    settings = settings_of(served_then_arrived, effectiveness_k_periods=1)
    scraper = key_store(served_then_arrived).create("scrape", ["metrics:read"])[1]
    with TestClient(create_app(settings)) as c:
        body = c.get("/v1/effectiveness", headers=auth(base_env.read)).json()
        cut = body["models"][0]["periods"][0]["cutoffs"]["1%"]
        best = max(b["pai"] for b in cut["baselines"].values())
        flagged = body["models"][0]["flag"]["flagged"]
        assert flagged == (cut["served"]["pai"] < best)
        ready = c.get("/readyz", headers=auth(base_env.read)).json()
        assert ("burglary" in ready["flagged"]) == flagged
        metrics = c.get("/metrics", headers=auth(scraper)).text
    line = next(x for x in metrics.splitlines() if x.startswith("hotspots_realised_pai{"))
    assert 'model="burglary"' in line and 'cutoff="1%"' in line
    assert float(line.rsplit(" ", 1)[1]) == pytest.approx(cut["served"]["pai"])
    flag_line = next(x for x in metrics.splitlines() if x.startswith("hotspots_model_flagged{"))
    assert float(flag_line.rsplit(" ", 1)[1]) == float(flagged)
