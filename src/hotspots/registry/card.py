"""The model card: what a published model is for, what it learnt from, how well it did in the
backtest, and what it must not be used for. Rendered from the manifest alone."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

NONE_RECORDED = "none recorded"
_PERIODS = {"D": "daily", "W": "weekly", "M": "monthly"}
_SOURCE_KEYS = ("source", "source_file", "file", "path")
_FINGERPRINT_KEYS = ("sha256", "fingerprint")
_ROWS_KEYS = ("rows_used", "rows_accepted", "rows", "n_events", "events")
_RANGE_KEYS = (("first_event", "last_event"), ("start", "end"), ("first", "last"))
_WINDOW_KEYS = ("training_start", "training_until")
_EXCLUDED_KEYS = ("excluded_categories", "discretionary_excluded", "excluded_by_policy")

INTENDED_USE = """\
- For planning where to be: deciding where patrols, prevention and problem-solving work go
  in the coming periods.
- Outputs describe places (H3 cells), never people. Do not use them to judge, stop, search or
  suspect anyone, or as evidence about any person.
- A forecast is an expected count, not a certainty: a flagged cell may see no crime, and crime
  happens outside flagged cells."""

KNOWN_LIMITS = """\
- It learns only from recorded crime: unreported crime is invisible to it, and a change in
  recording practice looks like a change in crime.
- It assumes the near future resembles the recent past; new venues, events, road changes or
  policing changes are not foreseen.
- Most cells see zero or one event per period: the ranking of cells is more reliable than any
  single cell's number.
- It covers only the study cells at the stated resolution and period.
- The backtest measures past performance; re-train and re-check it as new data arrives."""

FEEDBACK_LOOP = """\
Predicting from recorded crime reflects where police recorded crime, not only where crime
happened. Sending more officers to flagged cells records more crime there, which raises the
next forecast for the same cells. Officer-initiated (discretionary) types such as drugs,
weapons possession and public order are excluded from the targets by default for that reason.
Monitor for displacement to neighbouring cells and for recorded crime concentrating in flagged
cells over time; compare with victim-reported crime or calls for service where possible."""


def model_card(manifest: Mapping[str, Any]) -> str:
    """The markdown model card of a manifest (missing fields read "none recorded")."""
    name, version = manifest.get("name", "?"), manifest.get("version", "?")
    sections = [
        f"# Model card: {name} {version}",
        _summary(manifest),
        "## Intended use\n\n" + INTENDED_USE,
        "## Data\n\n" + _data(manifest),
        "## Categories\n\n" + _categories(manifest),
        "## Backtest\n\n" + _backtest(_mapping(manifest.get("backtest"))),
        "## Known limits\n\n" + KNOWN_LIMITS,
        "## Feedback-loop warning\n\n" + FEEDBACK_LOOP,
        "## Feedback-loop monitor\n\n" + _monitor(manifest),
    ]
    if retrain := _mapping(_mapping(manifest.get("notes")).get("retrain")):
        sections.append("## Retraining\n\n" + _retrain(retrain))
    return "\n\n".join(sections) + "\n"


def _monitor(manifest: Mapping[str, Any]) -> str:
    """The training-time monitor (``hotspots.feedback.monitor_report``) kept in the notes."""
    notes = _mapping(manifest.get("notes"))
    record = _mapping(notes.get("feedback_monitor"))
    reference = _mapping(record.get("reference"))
    if not reference:
        why = (
            "a retrain keeps its champion's, measured before use, and the champion had none"
            if notes.get("retrain")
            else "the backtest was too short, or too few events fell in its pooled periods "
            "for a flag"
        )
        return (
            f"No training-time reference was recorded ({why}): the live monitor "
            "(`GET /v1/monitor`) compares with the first full window of what was served "
            "instead."
        )
    kept = record.get("kept_from")
    head = (
        f"Kept by retrain from {kept}, measured before use (a retrain's folds are weeks a "
        "version was in use, where a loop would already be). "
        if kept
        else ""
    )
    th = _mapping(record.get("thresholds"))
    window, repeat = th.get("window", "?"), th.get("repeat", "?")
    return "\n".join(
        [
            f"{head}On the {record.get('periods')} reported backtest folds, {record.get('model')} "
            f"flagging the top {_pct(th.get('coverage'))} of the area:",
            f"- new events in cells flagged in the {_lookback(reference, window)} periods "
            f"before: {_num(reference.get('concentration'))}x their share of the area "
            "(the reference concentration)",
            f"- share of the flagged area flagged in at least {repeat} of the last {window} "
            f"periods: {_repeat(reference.get('repeat_share'), record.get('periods'), window)}",
            f"- events per km2 in those cells over the cells next to them: "
            f"{_num(record.get('mean_contrast'))}x",
            "",
            "In use, `GET /v1/monitor` raises a flag when the pooled concentration of the last "
            f"{th.get('pool', '?')} periods reaches {_num(th.get('concentration_rise'))}x the "
            "reference (recorded crime coming more and more from where patrols were sent) "
            f"and {th.get('concentration_z', 0)} standard errors beyond it, from the events "
            f"each rests on ({_events(reference)}), "
            f"when the repeat share reaches the reference plus {th.get('repeat_rise', '?')} "
            f"(and at least {_pct(th.get('repeat_floor'))}), or when a group's share of the "
            f"flagged area reaches {_num(th.get('group_ratio'))}x its share of reported crime.",
        ]
    )


def _lookback(reference: Mapping[str, Any], window: Any) -> str:
    """How many periods before the reference concentration counts back: P, or fewer when
    the backtest had too few folds for P before every fold of a pooled window (served
    periods are then compared counting back as many)."""
    lookback = reference.get("lookback")
    if lookback is None or lookback == window:
        return str(window)
    return f"{lookback} (not {window}: too few folds; served periods are compared alike)"


def _events(reference: Mapping[str, Any]) -> str:
    prior, events = reference.get("prior_events"), reference.get("events")
    if prior is None or events is None:
        return "the reference's were not recorded"
    return f"the reference's: {prior} of {events} events in cells flagged before"


def _num(value: Any) -> str:
    return "?" if value is None else f"{float(value):.2f}"


def _pct(value: Any) -> str:
    return "?" if value is None else f"{float(value):.0%}"


def _repeat(share: Any, folds: Any, window: Any) -> str:
    """The reference repeat share, or why there is none (it is not 0%)."""
    if share is not None:
        return _pct(share)
    if isinstance(folds, int) and isinstance(window, int) and folds < window:
        return f"not measured ({folds} folds, fewer than the {window} periods it counts back)"
    return "not measured"


def _retrain(record: Mapping[str, Any]) -> str:
    """Why ``hotspots retrain`` published this version, and whether it promoted it."""
    lines = [f"- {k}: {_text(v)}" for k, v in record.items() if not _nested(v)]
    return "\n".join(lines) or NONE_RECORDED


def _summary(manifest: Mapping[str, Any]) -> str:
    period = _PERIODS.get(str(manifest.get("freq")), str(manifest.get("freq", "?")))
    target = ", ".join(map(str, manifest.get("target") or [])) or "?"
    return (
        f"A `{manifest.get('kind', '?')}` forecaster, published {manifest.get('created', '?')}. "
        f"It forecasts the expected {period} count of {target} in each study cell."
    )


def _data(manifest: Mapping[str, Any]) -> str:
    data = _mapping(manifest.get("data"))
    source = _first(data, _SOURCE_KEYS)
    used = {*_SOURCE_KEYS, *_FINGERPRINT_KEYS, *_ROWS_KEYS, *_WINDOW_KEYS, *_EXCLUDED_KEYS}
    used |= {"date_range", "resolution_choice", "placeholder_times"}
    resolution = manifest.get("resolution")
    if chosen := _mapping(data.get("resolution_choice")).get("reason"):
        resolution = f"{resolution} ({chosen})"
    date_range = data.get("date_range")
    for lo, hi in _RANGE_KEYS:
        if lo in data or hi in data:
            used |= {lo, hi}
            date_range = [data.get(lo), data.get(hi)] if date_range is None else date_range
    lines = [
        ("Source", PurePath(str(source)).name if source is not None else None),
        ("Fingerprint (sha256)", _first(data, _FINGERPRINT_KEYS)),
        ("Date range", _text(date_range) if date_range is not None else None),
        ("Rows used", _first(data, _ROWS_KEYS)),
        ("Training window", _window(data)),
        ("Study cells", manifest.get("study_cells")),
        ("H3 resolution", resolution),
        ("Period", _PERIODS.get(str(manifest.get("freq")), manifest.get("freq"))),
        ("Last period fitted", last_period_fitted(manifest)),
    ]
    if held := _placeholders(data.get("placeholder_times")):
        lines.append(("Placeholder clock times read as dates (time of day unknown)", held))
    shown = {"freq": manifest.get("freq"), "resolution": manifest.get("resolution")}
    shown["study_cells"] = manifest.get("study_cells")  # said above: not again, raw, below
    used |= {k for k, v in shown.items() if v is not None and data.get(k) == v}
    lines += [(str(k), v) for k, v in data.items() if k not in used]
    return "\n".join(f"- {k}: {NONE_RECORDED if v is None else _count(v)}" for k, v in lines)


def _count(value: Any) -> str:
    """A whole number with thousands separators (86,104 rows), anything else as text."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else _text(value)


def last_period_fitted(manifest: Mapping[str, Any]) -> str | None:
    """``the week from 2010-08-23``: the last period the model was fitted on (``fit_end`` is
    its start; "fitted up to 2010-08-23T00:00:00" read as if that week were left out)."""
    start = _mapping(manifest.get("meta")).get("fit_end")
    if start is None:
        return None
    day = str(start)[:10]
    unit = {"D": "the day", "W": "the week from", "M": "the month from"}.get(
        str(manifest.get("freq")), "the period from"
    )
    return f"{unit} {day}"


def _placeholders(counts: Any) -> str | None:
    """``{"00:01": 1234}`` (rows per placeholder minute, ``ingest.placeholders``) as
    "1,234 rows at 00:01"; None when the export had none, so the card says nothing."""
    rows = [(str(k), v) for k, v in _mapping(counts).items() if _is_num(v)]
    return ", ".join(f"{v:,} rows at {k}" for k, v in rows) or None


def _categories(manifest: Mapping[str, Any]) -> str:
    meta = _mapping(manifest.get("meta"))
    spec, data = _mapping(manifest.get("spec")), _mapping(manifest.get("data"))
    inputs = meta.get("categories") or spec.get("categories")
    return "\n".join(
        [
            f"- Forecast target: {_list(manifest.get('target'))}",
            f"- Categories the model reads: {_list(inputs)}",
            f"- Discretionary categories excluded: {_excluded(spec, data)}",
        ]
    )


def _excluded(spec: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    spec_data = _mapping(spec.get("data"))  # a training spec nests its ingest settings
    if True in (spec.get("include_discretionary"), spec_data.get("include_discretionary")):
        return "none: officer-initiated types were kept on purpose (include_discretionary)"
    for source in (spec, spec_data, data, _mapping(data.get("report"))):
        for key in _EXCLUDED_KEYS:
            if key not in source:
                continue
            value = source[key]
            if isinstance(value, Mapping):  # the ingest report's {category: rows}
                listed = ", ".join(f"{k} ({_text(v)} rows)" for k, v in value.items())
                return listed or "none (the data held no officer-initiated types)"
            return _list(value) if value else "none"
    return NONE_RECORDED


def _window(data: Mapping[str, Any]) -> str | None:
    start, until = (data.get(k) for k in _WINDOW_KEYS)
    if start is None and until is None:
        return None
    return f"{start or '?'} to {until or '?'} (end excluded)"


def _backtest(backtest: Mapping[str, Any]) -> str:
    rows = backtest.get("table")
    parts = []
    facts = [(k, v) for k, v in backtest.items() if k != "table" and not _nested(v)]
    if facts:
        parts.append("\n".join(f"- {k}: {format_cell(v)}" for k, v in facts))
    if isinstance(rows, Sequence) and not isinstance(rows, str) and rows:
        parts.append(markdown_table(rows))
    else:
        parts.append("No backtest table recorded.")
    return "\n\n".join(parts)


def table_columns(rows: Sequence[Any]) -> list[str]:
    """Keys of row dicts in order of first appearance (non-dict rows are skipped)."""
    columns: dict[str, None] = {}
    for row in rows:
        if isinstance(row, Mapping):
            columns.update(dict.fromkeys(map(str, row)))
    return list(columns)


def format_cell(value: Any) -> str:
    """A table cell: 4 significant digits for floats, ``low-high`` for pairs, '-' for None."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple) and len(value) == 2 and all(_is_num(v) for v in value):
        return f"{format_cell(value[0])}-{format_cell(value[1])}"
    return _text(value)


def markdown_table(rows: Sequence[Any]) -> str:
    """Row dicts as a markdown table."""
    columns = table_columns(rows)
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |"]
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        if isinstance(row, Mapping):
            row = {str(k): v for k, v in row.items()}
            lines.append("| " + " | ".join(_cell(format_cell(row.get(c))) for c in columns) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _first(data: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((data[k] for k in keys if data.get(k) is not None), None)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _nested(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple)


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _list(value: Any) -> str:
    if not value:
        return NONE_RECORDED
    if isinstance(value, str):
        return value
    return ", ".join(map(str, value))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, str) for v in value)
    ):
        return f"{value[0]} to {value[1]}"
    if isinstance(value, Mapping | list | tuple):
        text = json.dumps(value, default=str)
        return text if len(text) <= 160 else text[:157] + "..."
    return str(value)
