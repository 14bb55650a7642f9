"""Benchmark of the commands as users run them: whole processes, three sizes each (not run by the tests).

For each command and size it times the process (median of --reps: wall clock, and the child's own CPU time,
user + system, which a shared machine disturbs less) and its peak memory (the child's max RSS), then prints the
growth factor between sizes (time ratio ÷ size ratio: 1.0 is linear, 2.0 at a doubling is quadratic) and, for the
flat-table commands, the ratio to the yardstick loop (bench/yardstick.py) and to ``pd.read_csv`` of the same
file, each run in the same moment (alternating) — the machine is shared.

    python bench/bench_commands.py [--only score,check] [--sizes 20000,40000,80000] [--reps 3]
    python bench/bench_commands.py --only template --tables 1000,3000,10000
    python bench/bench_commands.py --only batch --departments 750,1500,3000 --reps 2 --work /tmp/p --baseline /tmp/old
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_score import QUAL_ACTUALS, TARGETS  # noqa: E402

PY = sys.executable
EVALUATOR = [PY, "-m", "evaluator"]


def flat_csv(path: Path, n: int, names: str = "unique", seed: int = 7) -> Path:
    """A filled flat 自评表 of ``n`` rows (the 指标值 shapes of bench_score): distinct 三级指标 names, or 10 shared
    names ("shared"), or a distinct unknown 一级指标 per row ("unknown-level1")."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"])
        for i in range(n):
            l1, l2, pattern, unit, base = TARGETS[i % len(TARGETS)]
            v = None if base is None else round(base * rng.choice([1, 1, 1, 2, 0.5]), 1)
            target = pattern.format(v=f"{v:g}") if v is not None else pattern
            if unit == "deadline":
                actual = rng.choice(["2023年12月", "2023年11月30日", "2024年1月", "按期完成"])
            elif unit == "qual":
                actual = rng.choice(QUAL_ACTUALS)
            elif unit == "na":
                actual = "无"
            elif unit == "rate":
                actual = "4次/年/界别"
            elif unit is None:
                actual = "达成"
            else:
                x = v * rng.uniform(0.7, 1.3)
                actual = f"{x:.{ {'%': 1, '万元': 2, '万': 2}.get(unit, 0)}f}{unit if rng.random() < 0.8 else ''}"
            name = f"指标{i % 10}" if names == "shared" else f"指标{i}"
            w.writerow([f"其他指标{i}" if names == "unknown-level1" else l1, l2, name, target, actual, "", "", ""])
    return path


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, int, float]:
    """Wall seconds, peak MB of the child, exit code, CPU seconds of the child (user + system)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(p.pid, 0)  # this child's own peak (RUSAGE_CHILDREN is the maximum over all)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, p.returncode, usage.ru_utime + usage.ru_stime


def timed(cmds: dict[str, list[str]], cwd: Path, reps: int, env=None) -> dict[str, tuple[float, float, float]]:
    """Median wall time, max peak and median CPU time of each command, the commands alternating so each rep
    shares the machine's state."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    peaks: dict[str, float] = {k: 0.0 for k in cmds}
    for _ in range(reps):
        for k, cmd in cmds.items():
            wall, peak, code, cpu = run(cmd, cwd, env)
            if code not in (0, 1):
                raise SystemExit(f"{k}: exit {code}")
            times[k].append(wall)
            cpus[k].append(cpu)
            peaks[k] = max(peaks[k], peak)
    return {k: (statistics.median(v), peaks[k], statistics.median(cpus[k])) for k, v in times.items()}


def growth(rows: list[tuple[int, float]]) -> str:
    out = []
    for (n0, t0), (n1, t1) in zip(rows, rows[1:]):
        out.append(f"{(t1 / t0) / (n1 / n0):.2f}")
    return " / ".join(out)


def flat_commands(work: Path, sizes: list[int], reps: int, only: set[str], baseline: str | None = None) -> None:
    """score --json, check --json, score (text) on flat CSVs, against the loop (and the loop printing only the
    rows it cannot score, beside ``check``) and pandas; with ``baseline``, each command of another checkout too."""
    env = {**os.environ, "COLUMNS": "160"}
    for variant in ("unique", "shared", "unknown-level1"):
        if variant != "unique" and "names" not in only:
            continue
        series: dict[str, list[tuple[int, float]]] = {}
        print(f"\n## flat CSV, {variant} names")
        print("| rows | command | median s | CPU s | peak MB | ÷ loop | CPU ÷ loop CPU | ÷ read_csv |")
        print("|---|---|---|---|---|---|---|---|")
        for n in sizes:
            f = flat_csv(work / f"flat-{variant}-{n}.csv", n, variant)
            cmds = {"loop": [PY, str(HERE / "yardstick.py"), str(f)],
                    "read_csv": [PY, "-c", f"import pandas as pd; pd.read_csv({str(f)!r})"]}
            if "score" in only:
                cmds["score --json"] = [*EVALUATOR, "score", str(f), "--budget", "100", "--spent", "90", "--json"]
            if "check" in only:
                cmds["check --json"] = [*EVALUATOR, "check", str(f), "--budget", "100", "--spent", "90", "--json"]
            if "check" in only:
                cmds["loop --findings"] = [PY, str(HERE / "yardstick.py"), str(f), "--findings"]
            if "text" in only and n <= 20_000:
                cmds["score (text)"] = [*EVALUATOR, "score", str(f), "--budget", "100", "--spent", "90"]
            if baseline:  # (env execs the interpreter: the child measured is the baseline's own process)
                cmds.update({f"{k} (baseline)": ["env", f"PYTHONPATH={baseline}", *c] for k, c in list(cmds.items())
                             if c[:len(EVALUATOR)] == EVALUATOR})
            got = timed(cmds, work, reps, env)
            for k, (t, peak, cpu) in got.items():
                series.setdefault(k, []).append((n, t))
                if k in ("read_csv",):
                    continue
                print(f"| {n:,} | `{k}` | {t:.2f} | {cpu:.2f} | {peak:.0f} | {t / got['loop'][0]:.2f} | "
                      f"{cpu / got['loop'][2]:.2f} | {t / got['read_csv'][0]:.2f} |")
        for k, rows in series.items():
            print(f"growth ({k}): {growth(rows)}")


def many_tables(path: Path, n: int) -> Path:
    """A targets file of ``n`` tables: the seed department's tables again and again, each with its own id.
    Made by a child process: a child's peak RSS starts at its parent's, so the ~600 MB this process would keep
    after dumping 10,000 tables showed as the peak of every command measured after it."""
    subprocess.run([PY, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); from pathlib import Path; "
                    f"import bench_commands as b; b._many_tables(Path({str(path)!r}), {n})"], check=True)
    return path


def _many_tables(path: Path, n: int) -> Path:
    import yaml

    seed = yaml.safe_load((HERE.parent / "data" / "targets" / "shifeng-cppcc-2023.yaml").read_text(encoding="utf-8"))
    tables = seed["tables"]
    seed["tables"] = [{**copy.deepcopy(tables[k % len(tables)]), "id": f"t{k}"} for k in range(n)]  # (no aliases)
    path.write_text(yaml.safe_dump(seed, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def template_command(work: Path, sizes: list[int], reps: int = 1, baseline: str | None = None) -> None:
    """template on a targets file of 1,000 … 10,000 tables (one sheet per table with indicators), alternating
    with the yardstick (PyYAML's C loader reading the same targets file: what any tool spends just to read it)
    and, with ``--baseline``, the same command from another checkout; medians of ``reps`` (CPU and wall)."""
    rows = []
    print("\n## template")
    for n in sizes:
        targets = many_tables(work / f"tables-{n}.yaml", n)
        runs: dict[str, list[tuple[float, float, float]]] = {"yaml read": [], "template": []}
        if baseline:
            runs["template (baseline)"] = []
        for _ in range(reps):
            for k in runs:
                out = work / f"t-{n}-{'baseline' if 'baseline' in k else 'new'}.xlsx"
                out.unlink(missing_ok=True)
                env = {**os.environ, "PYTHONPATH": baseline} if "baseline" in k else None
                cmd = ([PY, "-c", f"import yaml; yaml.load(open({str(targets)!r}, encoding='utf-8'), yaml.CSafeLoader)"]
                       if k == "yaml read" else [*EVALUATOR, "template", str(targets), "-o", str(out)])
                wall, peak, code, cpu = run(cmd, work, env)
                if code:
                    err = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env).stderr
                    raise SystemExit(f"{k} {n}: exit {code}: {err[-500:]}")
                runs[k].append((wall, cpu, peak))
        med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v), max(r[2] for r in v))
               for k, v in runs.items()}
        for k, (wall, cpu, peak) in med.items():
            cpus = ", ".join(f"{c:.2f}" for _, c, _ in runs[k])
            print(f"- {n:,} tables, {k}: {wall:.2f} s, CPU {cpu:.2f} s ({cpus}), {peak:.0f} MB"
                  + ("" if k == "yaml read" else f", CPU ÷ yaml read {cpu / med['yaml read'][1]:.2f}"))
        rows.append((n, med["template"][1]))
    print(f"growth (CPU): {growth(rows)}")


def province_commands(work: Path, sizes: list[int], reps: int, only: set[str], baseline: str | None = None) -> None:
    """batch (first run and unchanged rerun) and compare on synthetic provinces; with ``baseline`` (another
    checkout's folder, put on PYTHONPATH) each batch run of it alternates with this checkout's, in the same moment."""
    for cmd_name in ("batch", "compare"):
        if cmd_name not in only:
            continue
        rows, again_rows = [], []
        print(f"\n## {cmd_name}")
        for n in sizes:
            folder = work / f"province-{n}"
            if not folder.exists():
                subprocess.run([*EVALUATOR, "synth", "--departments", str(n), "--seed", "1", "-o", str(folder)],
                               check=True, stdout=subprocess.DEVNULL)
            db = work / f"p-{n}.db"
            if cmd_name == "batch":
                for _ in range(reps if baseline else 1):
                    for label, env in ((("before", {**os.environ, "PYTHONPATH": baseline}),) if baseline else ()) + \
                            (("after" if baseline else "", None),):
                        db.unlink(missing_ok=True)
                        t, peak, _, cpu = run([*EVALUATOR, "batch", str(folder), "--db", f"sqlite:///{db}"], work, env)
                        again, _, _, again_cpu = run([*EVALUATOR, "batch", str(folder), "--db", f"sqlite:///{db}"],
                                                     work, env)
                        print(f"- {n:,} departments{' ' + label if label else ''}: first run {t:.2f} s "
                              f"(CPU {cpu:.2f} s, {peak:.0f} MB), unchanged rerun {again:.2f} s (CPU {again_cpu:.2f} s)",
                              flush=True)
                again_rows.append((n, again))
            else:
                if not db.exists():
                    run([*EVALUATOR, "batch", str(folder), "--db", f"sqlite:///{db}"], work)
                t = compare_command(work, n, db, reps, baseline)
            rows.append((n, t))
        print(f"growth: {growth(rows)}" + (f"; rerun: {growth(again_rows)}" if again_rows else ""))


def compare_command(work: Path, n: int, db: Path, reps: int, baseline: str | None) -> float:
    """compare on one store, alternating with the yardstick (pandas reading the store's one row per table) and,
    with ``--baseline``, the same command from another checkout (``PYTHONPATH``); medians of ``reps``."""
    cmds = {"pandas read": [PY, "-c", "import sqlite3, pandas as pd; "
                            f"pd.read_sql('select * from submissions', sqlite3.connect({str(db)!r}))"],
            "compare": [*EVALUATOR, "compare", "--db", f"sqlite:///{db}", "-o", str(work / f"cmp-{n}")]}
    runs = {k: [] for k in cmds}
    if baseline:
        runs["compare (baseline)"] = []
    for _ in range(reps):
        for k in runs:
            env = {**os.environ, "PYTHONPATH": baseline} if k == "compare (baseline)" else None
            cmd = cmds["compare"][:-1] + [str(work / f"cmp-{n}-baseline")] if env else cmds[k]
            wall, peak, code, cpu = run(cmd, work, env)
            if code:
                raise SystemExit(f"{k}: exit {code}")
            runs[k].append((wall, cpu, peak))
    med = {k: (statistics.median(w for w, _, _ in v), statistics.median(c for _, c, _ in v), max(p for *_, p in v))
           for k, v in runs.items()}
    for k, (wall, cpu, peak) in med.items():
        walls = ", ".join(f"{w:.2f}" for w, _, _ in runs[k])
        print(f"- {n:,} departments, {k}: {wall:.2f} s ({walls}), CPU {cpu:.2f} s, {peak:.0f} MB, "
              f"÷ pandas read {wall / med['pandas read'][0]:.2f} (CPU {cpu / med['pandas read'][1]:.2f})")
    return med["compare"][0]


def compiled(*roots: Path) -> None:
    """Compile each checkout's ``evaluator`` package to bytecode first, as an installed package is (pip compiles it;
    an editable install writes it on the first run). Where PYTHONDONTWRITEBYTECODE is set — as on the machine
    these figures were taken on — every command otherwise compiled evaluator's modules from source on each run
    (~0.08 s of CPU; the yardstick, which imports three of them, far less)."""
    for root in roots:
        subprocess.run([PY, "-m", "compileall", "-q", str(root / "evaluator")], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,40000,80000", help="flat-table rows")
    ap.add_argument("--departments", default="100,200,400", help="province sizes for batch/compare")
    ap.add_argument("--tables", default="1000,2000,4000", help="tables in the targets file for template")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="score,check,text,names,batch,compare,template")
    ap.add_argument("--work", help="keep the provinces and their stores here (reused by later runs)")
    ap.add_argument("--baseline", help="also run another checkout's evaluator (its root on PYTHONPATH), alternating "
                                       "(flat tables, batch, compare, template)")
    ap.add_argument("--source", action="store_true",
                    help="leave the bytecode uncompiled (with PYTHONDONTWRITEBYTECODE set every run compiles evaluator)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if not args.source:
        compiled(HERE.parent, *([Path(args.baseline)] if args.baseline else []))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"# command benchmarks (Python {sys.version.split()[0]}, {os.cpu_count()} cores, shared machine)")
        if only & {"score", "check", "text", "names"}:
            flat_commands(work, [int(x) for x in args.sizes.split(",")], args.reps, only, args.baseline)
        province_commands(work, [int(x) for x in args.departments.split(",")], args.reps, only, args.baseline)
        if "template" in only:
            template_command(work, [int(x) for x in args.tables.split(",")], args.reps, args.baseline)


if __name__ == "__main__":
    main()
