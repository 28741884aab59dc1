"""Benchmark: importing a large orders CSV, as a ratio to DuckDB's own `read_csv` of the same file.

Not a test (no timed assertions anywhere): it prints figures measured in one run on one machine.

    .venv/bin/python bench/import_csv.py                              # 200,000 rows (quick)
    .venv/bin/python bench/import_csv.py --rows 1000000 --repeat 2    # the issue's figure
    .venv/bin/python bench/import_csv.py --profile                    # also the costliest SQL statements

The generated file has 11 columns as a Chinese ERP writes them: a line id, order numbers, `2024-03-05 14:23:01`
timestamps, `2024/3/7` dates, codes with leading zeros, Chinese customer names, `"4,409.80"` prices,
`"¥39,688.20"` and `"¥(4,151.08)"` amounts (3% returns), regions. Each measurement runs in its own subprocess,
so peak RSS is that step's alone; steps are interleaved and the best of `--repeat` runs is kept:
- baseline: `CREATE TABLE t AS SELECT * FROM read_csv(file)` (DuckDB auto-detects types; the amounts with
  separators and currency signs stay text there, so the baseline does less work than we do);
- read+type: `sources.files` (encoding, text cells with exact line numbers, header, mapping) + `sources.load`
  (typed canonical rows with skip kinds, reject reasons, duplicate keys) — the path the ≤ 2× goal is about;
- full import: `python -m sources import FILE` (the above plus staging commit, conform and snapshot publish);
- the same file saved as GBK (GB18030): read+type, against the same UTF-8 baseline (decoding is the extra work).
Both wall and CPU seconds are printed: on a shared machine the wall clock measures the neighbours too, while CPU
seconds (all threads) measure the work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
HEADER = "行ID,订单编号,订单日期,发货日期,客户编号,客户名称,产品编码,数量,单价,金额,地区\n"
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英"]
_SUFFIX = ["商贸有限公司", "科技有限公司", "贸易公司", "电子商行", "实业有限公司"]
REGIONS = np.array(["华东", "华北", "华南", "西南", "华中", "东北"])


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write `rows` order lines (UTF-8, no BOM) with separators, currency symbols, leading zeros and returns."""
    rng = np.random.default_rng(seed)
    customers = np.array([f"{s}{g}{x}" for s in _SURNAMES for g in _GIVEN for x in _SUFFIX])
    line = np.arange(1, rows + 1)
    order_no = (line + 2) // 3  # about three lines per order
    start = np.datetime64("2024-01-01T00:00:00")
    seconds = rng.integers(0, 3 * 365 * 86400, rows)
    order_ts = (start + seconds.astype("timedelta64[s]")).astype(str)
    order_ts = np.char.replace(order_ts, "T", " ")
    ship = (start + (seconds // 86400 + rng.integers(1, 9, rows)).astype("timedelta64[D]")).astype("datetime64[D]")
    # Y/M/D without zero padding, as Chinese Excel writes dates
    month = ship.astype("datetime64[M]")
    y = (ship.astype("datetime64[Y]").astype(int) + 1970).astype(str)
    m = (month.astype(int) % 12 + 1).astype(str)
    d = ((ship - month).astype(int) + 1).astype(str)
    ship_text = np.char.add(np.char.add(np.char.add(np.char.add(y, "/"), m), "/"), d)
    cust_idx = rng.integers(0, len(customers), rows)
    cust_id = np.char.add("C", np.char.zfill(cust_idx.astype(str), 6))
    product = np.char.zfill(rng.integers(1, 2000, rows).astype(str), 5)
    qty = rng.integers(1, 20, rows)
    returns = rng.random(rows) < 0.03
    qty = np.where(returns, -qty, qty)
    price_cents = rng.integers(500, 500_000, rows)
    amount_cents = price_cents * qty
    price = _money(price_cents)
    amount = np.where(returns, np.char.add(np.char.add("(", _money(-amount_cents)), ")"), _money(amount_cents))
    amount = np.char.add("¥", amount)
    region = REGIONS[rng.integers(0, len(REGIONS), rows)]
    cols = [
        line.astype(str),
        np.char.add("SO", np.char.zfill(order_no.astype(str), 8)),
        order_ts,
        ship_text,
        cust_id,
        customers[cust_idx],
        product,
        qty.astype(str),
        _quoted(price),
        _quoted(amount),
        region,
    ]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        chunk = 200_000
        for lo in range(0, rows, chunk):
            parts = [c[lo : lo + chunk] for c in cols]
            text = parts[0]
            for p in parts[1:]:
                text = np.char.add(np.char.add(text, ","), p)
            fh.write("\n".join(text.tolist()))
            fh.write("\n")


def _money(cents: np.ndarray) -> np.ndarray:
    """1234567 cents → '12,345.67' (vectorised thousands separators)."""
    units = cents // 100
    frac = np.char.zfill((cents % 100).astype(str), 2)
    text = units.astype(str)
    out = text.copy()
    big = units >= 1000
    if big.any():
        thousands = (units[big] // 1000).astype(str)
        rest = np.char.zfill((units[big] % 1000).astype(str), 3)
        out[big] = np.char.add(np.char.add(thousands, ","), rest)
        huge = units >= 1_000_000
        if huge.any():
            millions = (units[huge] // 1_000_000).astype(str)
            mid = np.char.zfill(((units[huge] // 1000) % 1000).astype(str), 3)
            low = np.char.zfill((units[huge] % 1000).astype(str), 3)
            out = out.astype(object)
            out[huge] = np.char.add(np.char.add(np.char.add(np.char.add(millions, ","), mid), ","), low)
            out = out.astype(str)
    return np.char.add(np.char.add(out, "."), frac)


def _quoted(a: np.ndarray) -> np.ndarray:
    return np.char.add(np.char.add('"', a), '"')


# ---- measured steps (each runs in a subprocess: `python bench/import_csv.py --step NAME FILE`) -----------
def _step_baseline(path: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(path)])
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    return {"seconds": elapsed, "cpu": cpu, "rows": rows}


def _read_and_type(con, path: Path, workdir: Path, timings: dict[str, float]):  # noqa: ANN001, ANN202
    from sources.connectors.files import plan_file
    from sources.load import LoadContext, type_rows

    t0 = time.perf_counter()
    plan = plan_file(con, path, entity="orders", sheet=None, explicit=None, table="raw__bench", workdir=workdir)
    timings["read (encoding, text cells, line numbers, header, mapping)"] = time.perf_counter() - t0
    ctx = LoadContext("bench", plan.entity, path.name, "Asia/Shanghai", None, "CNY")
    t1 = time.perf_counter()
    result = type_rows(
        con,
        plan.table,
        plan.header,
        plan.mapping,
        ctx,
        "load__bench",
        malformed=plan.raw.malformed,
        number_rules=plan.number_rules,
        **plan.type_args,
    )
    timings["type (dates, one typing pass, rejects, supersede)"] = time.perf_counter() - t1
    return plan, result


def _step_read_type(path: Path, profile: bool = False) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    statements: list[tuple[float, str]] = []
    if profile:
        con = _Timed(con, statements)
    timings: dict[str, float] = {}
    import sources.connectors.files  # noqa: F401  (module imports are not part of reading a file)
    import sources.load  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        plan, result = _read_and_type(con, path, Path(tmp), timings)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {
        "seconds": elapsed,
        "cpu": cpu,
        "rows": result.rows_loaded,
        "rejected": result.rows_rejected,
        "encoding": plan.raw.encoding.label if plan.raw.encoding else None,
        "timings": timings,
    }
    if profile:
        top = sorted(statements, reverse=True)[:12]
        out["profile"] = "\n".join(f"{sec:7.2f}s CPU  {sql[:110]}" for sec, sql in top)
    return out


class _Timed:
    """A DuckDB connection that records the CPU seconds of every statement (for --profile)."""

    def __init__(self, con, statements: list[tuple[float, str]]) -> None:  # noqa: ANN001
        self._con, self._statements = con, statements

    def execute(self, sql: str, params=None):  # noqa: ANN001, ANN201
        c0 = time.process_time()
        out = self._con.execute(sql, params) if params is not None else self._con.execute(sql)
        self._statements.append((time.process_time() - c0, " ".join(sql.split())))
        return out

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._con, name)


def _step_full_import(path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.yml"
        cfg.write_text("business: {timezone: Asia/Shanghai, currency: CNY}\nsources: []\n", encoding="utf-8")
        env = {**os.environ, "COCKPIT_CONFIG": str(cfg), "COCKPIT_DATA_DIR": str(Path(tmp) / "data")}
        t0, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(
            [sys.executable, "-m", "sources", "import", str(path), "--as", "orders", "--format", "json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"import failed:\n{proc.stderr}\n{proc.stdout[-2000:]}")
    report = json.loads(proc.stdout)
    cpu = (usage.ru_utime + usage.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"seconds": elapsed, "cpu": cpu, "rows": report["rows_loaded"], "child_rss_mb": usage.ru_maxrss / 1024}


def _peak_rss_mb() -> float:
    """This process's peak resident memory since it started (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_step(name: str, path: Path, profile: bool = False) -> dict:
    """Run one step in a fresh interpreter and return its figures plus that process's peak RSS."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", name, str(path)]
    if profile:
        cmd.append("--profile")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows to generate (default 200,000)")
    parser.add_argument("--profile", action="store_true", help="print where the read+type time goes")
    parser.add_argument("--keep", type=Path, help="write the generated files into this folder and keep them")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step; the best is reported (default 1)")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        sys.path.insert(0, str(ROOT))
        if args.step == "generate":
            generate(args.file, args.rows)
            gbk = args.file.with_name(args.file.stem + "_gbk.csv")
            gbk.write_bytes(args.file.read_text(encoding="utf-8").encode("gb18030"))
            return 0
        steps = {"baseline": _step_baseline, "read_type": _step_read_type, "full_import": _step_full_import}
        out = steps[args.step](args.file, args.profile) if args.step == "read_type" else steps[args.step](args.file)
        out["peak_rss_mb"] = _peak_rss_mb()
        if "child_rss_mb" in out:
            out["peak_rss_mb"] = max(out["peak_rss_mb"], out.pop("child_rss_mb"))
        print(json.dumps(out, ensure_ascii=False))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        utf8 = folder / f"orders_{args.rows}.csv"
        gbk = folder / f"orders_{args.rows}_gbk.csv"
        t0 = time.perf_counter()
        # In a subprocess, so that this process stays small (a child's peak memory starts from its parent's).
        subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--step", "generate", "--rows", str(args.rows), str(utf8)],
            check=True,
        )
        print(f"generated {args.rows:,} rows ({utf8.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f}s")
        runs = {name: [] for name in ("baseline", "read_type", "full_import", "gbk")}
        for _ in range(args.repeat):  # interleaved, so a busy moment hits every step alike
            runs["baseline"].append(_run_step("baseline", utf8))
            runs["read_type"].append(_run_step("read_type", utf8))
            runs["full_import"].append(_run_step("full_import", utf8))
            runs["gbk"].append(_run_step("read_type", gbk))
        best = {name: min(rs, key=lambda r: r["seconds"]) for name, rs in runs.items()}
        base, ours, full, gb = best["baseline"], best["read_type"], best["full_import"], best["gbk"]
        if ours["rows"] != args.rows or gb["rows"] != args.rows or ours["rejected"]:
            print(f"warning: rows loaded {ours['rows']:,} / GBK {gb['rows']:,} / rejected {ours['rejected']:,}")
        b, bc = base["seconds"], base["cpu"]
        print(f"best of {args.repeat} run(s); wall = elapsed seconds, CPU = user+system seconds of all threads")
        print(f"{'step':<46}{'wall s':>8}{'ratio':>8}{'CPU s':>8}{'ratio':>8}{'peak RSS MB':>13}")
        for label, r in (
            ("DuckDB read_csv (baseline)", base),
            ("read+type UTF-8 (sources.files + load)", ours),
            ("full import UTF-8 (python -m sources import)", full),
            ("read+type GBK (same rows)", gb),
        ):
            print(
                f"{label:<46}{r['seconds']:>8.2f}{r['seconds'] / b:>7.2f}x{r['cpu']:>8.2f}{r['cpu'] / bc:>7.2f}x"
                f"{r['peak_rss_mb']:>13.0f}"
            )
        for part, sec in ours["timings"].items():
            print(f"    read+type UTF-8: {part:<52}{sec:>7.2f}s")
        for part, sec in gb["timings"].items():
            print(f"    read+type GBK:   {part:<52}{sec:>7.2f}s")
        print(
            f"ratio read+type/baseline: {ours['seconds'] / b:.2f}x wall, {ours['cpu'] / bc:.2f}x CPU (goal <= 2x); "
            f"full import {full['seconds'] / b:.2f}x; GBK {gb['seconds'] / b:.2f}x"
        )
        if args.profile:
            print(_run_step("read_type", utf8, True)["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
