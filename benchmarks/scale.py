"""Scale-out benchmark: a synthetic region of 5k -> 50k -> 500k cells at 156 weeks, each stage
serial and on a 2-worker LocalCluster, and a batch of 8 specs serial against the cluster.

Stages per size, each in its own process, timed, with the peak RSS of its whole process
tree (the command and, on the cluster path, its scheduler and workers) sampled every 0.2 s:

- generate: ``synthetic.region.write_region`` (city partitions) and one event table of them
- panel: events -> weekly resolution-9 panel; serial ``events_to_panel`` of the event table,
  cluster ``features.partitions.parquet_to_panel`` of the partitions
- train: ``hotspots train`` of one spec (LightGBM, 2 baselines, 4 selection + 4 reported
  folds, a final fit), by the paths of --train-paths: ``serial``; ``cluster``
  (``--cluster local:2``, each fit a task); ``dask`` (``--cluster local:2`` with
  ``engine = "dask"``: each LightGBM fit's rows built in parts on both workers and trained
  by lightgbm.dask). --zero-row-fraction sets the spec's ``zero_row_fraction`` (share of
  quiet rows kept, weighted; 1 = all rows, the default) for every path and size.

Cost per cell-week is seconds / (cells x 156). A size starts only when the machine has
--min-free-gib available; each stage runs only when its peak, extrapolated linearly in cells
from the same stage and path at the largest size run before, stays within --max-gib; a stage
whose tree passes --max-gib is stopped. The machine is shared: the load average is printed
beside every figure.

    .venv/bin/python benchmarks/scale.py [--cells 5000 50000 500000] [--work DIR]
        [--batch] [--batch-repeat 3] [--batch-before DIR ...]
        [--train-paths serial cluster dask] [--zero-row-fraction 1.0]
        [--panel-paths serial cluster] [--reuse]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

WEEKS = 156
DAYS = WEEKS * 7
START = "2023-01-02"  # a Monday: 156 whole weeks
GIB = 1024**3
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

SPEC = """
name = "{name}"
[data]
events = "{events}"
[target]
categories = ["{target}"]
[grid]
resolution = 9
period = "W"
[model]
kind = "{kind}"
baselines = ["historical_mean", "last_period"]
[model.params]
{params}
[backtest]
folds = 4
select_folds = 4
coverages = [0.01, 0.05]
"""


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    """The RSS of ``proc``'s whole tree, and of its largest process."""
    total = largest = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            rss = p.memory_info().rss
            total, largest = total + rss, max(largest, rss)
    return total, largest


def _tree_cpu(proc: psutil.Process, seen: dict[int, float]) -> None:
    """Record in ``seen`` the CPU seconds (user + system) each process of ``proc``'s tree has
    used so far; a process's last reading before it ends stands for all of its CPU."""
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            seen[p.pid] = max(seen.get(p.pid, 0.0), t.user + t.system)


def run_stage(
    cmd: list[str], max_gib: float, cwd: Path, env: dict[str, str] | None = None
) -> dict[str, object]:
    """Run ``cmd`` (in ``env``, else this process's environment); its seconds, the peak RSS
    and the CPU seconds of its process tree (read every 0.2 s), and whether it fitted."""
    start = time.monotonic()
    child = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    proc, peak, one, over = psutil.Process(child.pid), 0, 0, False
    cpu: dict[int, float] = {}
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(child.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    while child.poll() is None:
        _tree_cpu(proc, cpu)
        tree, largest = _tree_rss(proc)
        peak, one = max(peak, tree), max(one, largest)
        if peak > max_gib * GIB:
            over = True
            for p in [*proc.children(recursive=True), proc]:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            break
        time.sleep(0.2)
    child.wait()
    reader.join()
    seconds = time.monotonic() - start
    text = b"".join(out).decode(errors="replace")
    ok = child.returncode == 0 and not over
    if not ok and not over:
        print(text[-3000:], file=sys.stderr)
    got = {"seconds": seconds, "peak_gib": peak / GIB, "one_gib": one / GIB, "ok": ok}
    got["cpu_s"] = sum(cpu.values())
    return {**got, "over": over, "out": text}


# -- stages run in their own process: python scale.py _stage NAME DIR -----------------------


def stage_generate(work: Path, n_cells: int) -> None:
    import pandas as pd

    from hotspots.ingest import write_events
    from hotspots.synthetic.region import write_region

    info = write_region(work, n_cells, days=DAYS, start=START, seed=0)
    parts = sorted((work / "events").glob("city=*/part.parquet"))
    events = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    events = events.sort_values("occurred_at", kind="stable", ignore_index=True)
    write_events(events, work / "events.parquet", {"timezone": "America/Chicago"})
    print(json.dumps({"cells": info["n_cells"], "events": len(events)}))


def stage_startup() -> None:
    from hotspots.cluster import connect

    with connect("local:2") as client:
        client.run(lambda: None)  # every worker up and answering


def stage_panel(work: Path, cluster: bool) -> None:
    if cluster:
        from hotspots.cluster import connect
        from hotspots.features.partitions import parquet_to_panel

        with connect("local:2"):
            panel = parquet_to_panel(work / "events", 9, "W")
    else:
        from hotspots.features import events_to_panel
        from hotspots.ingest import read_events

        panel = events_to_panel(read_events(work / "events.parquet")[0], 9, "W")
    print(json.dumps({"cells": int(panel.cells.size), "periods": len(panel.periods)}))


def write_spec(
    work: Path, name: str, target: str, kind: str, n_jobs: int = 2, extra: str = ""
) -> Path:
    params = f"n_estimators = 50\nn_jobs = {n_jobs}\n{extra}" if kind == "lightgbm" else ""
    path = work / f"{name}.toml"
    text = SPEC.format(
        name=name, events=work / "events.parquet", target=target, kind=kind, params=params
    )
    path.write_text(text)
    return path


def train_cmd(specs: list[Path], models: Path, cluster: bool) -> list[str]:
    cmd = [str(BIN / "hotspots"), "train", *map(str, specs), "--models-dir", str(models)]
    return [*cmd, "--cluster", "local:2"] if cluster else cmd


# -- the driver -----------------------------------------------------------------------------


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def row(cells: int, stage: str, path: str, got: dict[str, object], cell_weeks: bool) -> None:
    if not got["ok"]:
        why = "over the memory bound" if got["over"] else "failed"
        print(f"| {cells:,} | {stage} | {path} | {why} | {got['peak_gib']:.2f} | - | {load()} |")
        return
    seconds = float(got["seconds"])  # type: ignore[arg-type]
    per = f"{seconds / (cells * WEEKS) * 1e6:.2f}" if cell_weeks else "-"
    print(
        f"| {cells:,} | {stage} | {path} | {seconds:.1f} | {got['peak_gib']:.2f} "
        f"({got['one_gib']:.2f}) | {per} | "
        f"{load()} |",
        flush=True,
    )


PEAKS: dict[tuple[str, str], dict[int, float]] = {}
"""The peak (GiB) of each (stage, path) at each size run, for the next size's estimate."""


def estimate_gib(stage: str, path: str, n_cells: int) -> tuple[float, int] | None:
    """The peak of ``stage`` on ``path`` at ``n_cells`` extrapolated linearly in cells from
    the largest size it ran at (and that size), or None before any; a peak per cell falls
    as fixed costs spread, so linear is an upper bound."""
    runs = PEAKS.get((stage, path))
    if not runs:
        return None
    base = max(runs)
    return runs[base] * n_cells / base, base


def guarded(
    n_cells: int, stage: str, path: str, cmd: list[str], work: Path, args: argparse.Namespace
) -> dict[str, object] | None:
    """``run_stage(cmd)``, or None (with a line saying why) when its estimate is too high."""
    guess = estimate_gib(stage, path, n_cells)
    if guess is not None and guess[0] > args.max_gib:
        print(
            f"| {n_cells:,} | {stage} | {path} | not run: its peak extrapolates to "
            f"{guess[0]:.1f} GiB from the {guess[1]:,}-cell run's, over --max-gib "
            f"{args.max_gib} | - | - | {load()} |",
            flush=True,
        )
        return None
    got = run_stage(cmd, args.max_gib, work)
    PEAKS.setdefault((stage, path), {})[n_cells] = float(got["peak_gib"])  # type: ignore[arg-type]
    (work / f"{stage}-{path}.log").write_text(str(got["out"]))  # e.g. the CLI's task lines
    return got


def one_size(n_cells: int, root: Path, args: argparse.Namespace) -> None:
    free = psutil.virtual_memory().available / GIB
    if free < args.min_free_gib:
        print(f"| {n_cells:,} | - | - | not run: {free:.1f} GiB available < {args.min_free_gib} |")
        return
    work = root / f"cells{n_cells}"
    work.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, str(Path(__file__).resolve()), "_stage"]
    made = work / "region.json"
    if args.reuse and made.is_file() and (work / "events.parquet").is_file():
        cells = json.loads(made.read_text())["n_cells"]
        print(f"| {cells:,} | generate | serial | reused {work} | - | - | {load()} |")
    else:
        cmd = [*me, "generate", str(work), str(n_cells)]
        gen = guarded(n_cells, "generate", "serial", cmd, work, args)
        if gen is None or not gen["ok"]:
            if gen is not None:
                row(n_cells, "generate", "serial", gen, False)
            return
        cells = json.loads(str(gen["out"]).strip().splitlines()[-1])["cells"]
        row(cells, "generate", "serial", gen, True)
    for path in args.panel_paths:
        got = guarded(n_cells, "panel", path, [*me, "panel", str(work), path], work, args)
        if got is not None:
            row(cells, "panel", path, got, True)
    extra = ""
    if args.zero_row_fraction < 1:
        extra = f"zero_row_fraction = {args.zero_row_fraction}"
    for path in args.train_paths:
        engine = '\nengine = "dask"' if path == "dask" else ""
        spec = write_spec(
            work, f"scale-{path}", "Burglary Residential", "lightgbm", 2, extra + engine
        )
        cmd = train_cmd([spec], work / f"models-{path}", path != "serial")
        got = guarded(n_cells, "train", path, cmd, work, args)
        if got is not None:
            row(cells, "train", path, got, True)


def batch(root: Path, args: argparse.Namespace) -> None:
    """8 specs (4 crime types x LightGBM / the historical mean) of the 5k-cell region."""
    work = root / "cells5000"
    if not (work / "events.parquet").is_file():
        one_size(5_000, root, args)
    targets = ("Burglary Residential", "Theft from Vehicle", "Robbery", "Assault")
    specs = [
        write_spec(work, f"batch-{i}-{kind}", t, kind, n_jobs=1)
        for i, t in enumerate(targets)
        for kind in ("lightgbm", "historical_mean")
    ]
    others = {f"cluster@{d.name}": d.resolve() / "src" for d in args.batch_before}
    paths = ["serial", *others, "cluster"]
    times: dict[str, list[float]] = {p: [] for p in paths}
    cpus: dict[str, list[float]] = {p: [] for p in paths}
    for rep in range(args.batch_repeat):  # interleaved: the paths meet the same load
        for path in paths:
            before = load()
            models = work / f"batch-{path}-{rep}"
            env = None
            if path in others:  # the library's source from there comes first
                env = {**os.environ, "PYTHONPATH": str(others[path])}
            cmd = train_cmd(specs, models, path != "serial")
            got = run_stage(cmd, 99, work, env)
            times[path].append(float(got["seconds"]))  # type: ignore[arg-type]
            cpus[path].append(float(got["cpu_s"]))  # type: ignore[arg-type]
            (work / f"batch-{path}-{rep}.log").write_text(str(got["out"]))
            print(
                f"batch of 8 specs, {path} #{rep + 1}: {got['seconds']:.1f} s, CPU "
                f"{got['cpu_s']:.1f} s, peak {got['peak_gib']:.2f} GiB, ok={got['ok']}, "
                f"load {before} before, {load()} after",
                flush=True,
            )
    serial, cpu_serial = statistics.median(times["serial"]), statistics.median(cpus["serial"])
    print(f"medians of {args.batch_repeat}: serial {serial:.1f} s (CPU {cpu_serial:.1f} s)")
    for path in paths[1:]:
        wall, cpu = statistics.median(times[path]), statistics.median(cpus[path])
        print(
            f"  {path} {wall:.1f} s (CPU {cpu:.1f} s); speed-up of the 2-worker cluster: "
            f"{serial / wall:.2f}x"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_stage":
        name, work = sys.argv[2], Path(sys.argv[3])
        if name == "generate":
            stage_generate(work, int(sys.argv[4]))
        elif name == "startup":
            stage_startup()
        else:
            stage_panel(work, sys.argv[4] == "cluster")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="*", default=[5_000, 50_000])
    parser.add_argument("--batch", action="store_true", help="also the 8-spec batch")
    parser.add_argument(
        "--batch-repeat", type=int, default=3,
        help="runs of each path of the batch, interleaved (the medians are compared)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-before", type=Path, nargs="+", default=[], metavar="DIR",
        help="also run the batch's cluster with the library's source in each DIR/src (e.g. "
        "`git archive BASE src | tar -x -C DIR`), interleaved: before / after comparisons",
    )  # fmt: skip
    parser.add_argument("--work", type=Path, default=None, help="keep the data here")
    parser.add_argument("--min-free-gib", type=float, default=14.0)
    parser.add_argument("--max-gib", type=float, default=16.0)
    parser.add_argument(
        "--train-paths", nargs="+", default=["serial", "cluster"],
        choices=["serial", "cluster", "dask"],
    )  # fmt: skip
    parser.add_argument("--zero-row-fraction", type=float, default=1.0)
    parser.add_argument(
        "--panel-paths", nargs="*", default=["serial", "cluster"], choices=["serial", "cluster"]
    )
    parser.add_argument(
        "--reuse", action="store_true",
        help="use a size's data already generated in --work DIR/cellsN (region.json and "
        "events.parquet, e.g. linked from an earlier run) instead of generating it again",
    )  # fmt: skip
    args = parser.parse_args()
    mem = psutil.virtual_memory()
    print(
        f"machine: {os.cpu_count()} cores, {mem.total / GIB:.0f} GiB "
        f"({mem.available / GIB:.1f} available), load {load()} (1/5 min)"
    )
    print(
        "| cells | stage | path | seconds | peak GiB: tree (largest process) | "
        "us per cell-week | load |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work or Path(tmp)
        me = [sys.executable, str(Path(__file__).resolve()), "_stage", "startup", tmp]
        got = run_stage(me, args.max_gib, Path(tmp))
        print(
            f"starting and stopping a 2-worker LocalCluster alone: {got['seconds']:.1f} s, "
            f"peak {got['peak_gib']:.2f} GiB (in every cluster row below)"
        )
        for n in args.cells:
            one_size(n, root, args)
        if args.batch:
            batch(root, args)


if __name__ == "__main__":
    main()
