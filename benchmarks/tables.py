"""pandas or polars for check's column rules? The same pandera schema on the same typed columns.

    .venv/bin/python benchmarks/tables.py [--files 128]     (polars: pip install polars)

check types every cell once (frames.build_frames: Decimal amounts, dates, the parsed 指标值) and then
runs one pandera schema per table over a chunk of files (rules/schema.py: required fields, code
lists, cents, HTML and formula text, lengths). This script times that schema step both ways on the
corpus of benchmarks/generate.py, in chunks of jixiao.check.CHUNK_FILES files, CPU time, best of 7:

- pandas: what check runs (pandera.pandas over object columns);
- polars: the same checks written as polars expressions through pandera.polars, over a polars frame
  of the same cells (text as Utf8, amounts as Decimal(18, 2)), and the conversion to that frame,
  which check would have to pay as well (its typing is Python: Decimal, dates, IndicatorValue).

It prints one line per step, in ms per file, and what share of check's CPU the schema step is.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate as gen  # noqa: E402
from jixiao.check import CHUNK_FILES, _check_chunk  # noqa: E402
from jixiao.frames import build_frames  # noqa: E402
from jixiao.reader import read_workbook  # noqa: E402
from jixiao.rules import Context  # noqa: E402
from jixiao.rules.schema import HTML_TAG, run_schema  # noqa: E402
from jixiao.spec import load_form  # noqa: E402
from jixiao.text import FORMULA_TEXT  # noqa: E402

FORM = "sh-project"


def best(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def polars_schema(sheet, spec):
    """rules/schema.build_schema with polars expressions (the regexes are valid for Rust's engine)."""
    import pandera.polars as pa
    import polars as pl

    columns = {}
    for f in sheet.fields:
        checks = []
        if f.required:
            checks.append(pa.Check(lambda d: d.lazyframe.select(pl.col(d.key).is_not_null()), name="P-01",
                                   ignore_na=False))
        if f.type == "code":
            allowed = list(spec.code_lists[f.code_list])
            checks.append(pa.Check(lambda d, a=allowed: d.lazyframe.select(pl.col(d.key).is_in(a)), name="P-03"))
        elif f.type == "amount":
            checks.append(pa.Check(lambda d: d.lazyframe.select(pl.col(d.key) >= 0), name="F-01"))
        elif f.type in ("text", "longtext", "project_ref"):
            checks.append(pa.Check(lambda d: d.lazyframe.select(~pl.col(d.key).str.contains(HTML_TAG.pattern)),
                                   name="P-09"))
            checks.append(pa.Check(lambda d: d.lazyframe.select(
                ~pl.col(d.key).str.contains("^" + FORMULA_TEXT.pattern.lstrip("^"))), name="P-08"))
            if f.max_length:
                checks.append(pa.Check(lambda d, n=f.max_length: d.lazyframe.select(
                    pl.col(d.key).str.len_chars() <= n), name="P-10"))
        columns[f.id] = pa.Column(None, checks, nullable=True, required=True)
    return pa.DataFrameSchema(columns, coerce=False, strict=False)


def to_polars(df, sheet):
    """A pandas frame of typed cells as polars: text as Utf8, amounts as Decimal, the rest as text."""
    import polars as pl

    data = {}
    for f in sheet.fields:
        values = df[f.id].tolist()
        if f.type == "amount":
            data[f.id] = pl.Series(f.id, values, dtype=pl.Decimal(18, 2))
        else:
            data[f.id] = pl.Series(f.id, [None if v is None else str(v) for v in values], dtype=pl.Utf8)
    return pl.DataFrame(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=128)
    args = parser.parse_args()
    spec = load_form(FORM)
    files, _roster, _manifest = gen.ensure_corpus(args.files)
    files = files[:args.files]
    subs = [read_workbook(p, spec) for p in files]
    chunks = [build_frames(subs[i:i + CHUNK_FILES], spec, {j: [] for j in range(CHUNK_FILES)}, set())
              for i in range(0, len(subs), CHUNK_FILES)]
    tables = [spec.table("projects"), spec.table("indicators")]
    per_file = 1000 / len(files)

    ctx = Context(None, None, None, None)
    check_ms = best(lambda: [_check_chunk((files[i:i + CHUNK_FILES], FORM, ctx, (), False))
                             for i in range(0, len(files), CHUNK_FILES)], 3) * per_file
    pandas_ms = best(lambda: [list(run_schema(frames[t.key], t, spec)) for frames in chunks for t in tables]) * per_file
    print(f"check, whole (read + rules), CPU: {check_ms:.2f} ms per file")
    print(f"pandera.pandas schema step:       {pandas_ms:.2f} ms per file ({pandas_ms / check_ms:.0%} of check)")
    try:
        import pandera.polars  # noqa: F401
        import polars  # noqa: F401
    except ImportError:
        print("polars is not installed: pip install polars")
        return
    schemas = {t.key: polars_schema(t, spec) for t in tables}
    converted = [{t.key: to_polars(frames[t.key], t) for t in tables} for frames in chunks]

    def validate_polars():
        import pandera.errors

        for frames in converted:
            for t in tables:
                try:
                    schemas[t.key].validate(frames[t.key], lazy=True)
                except pandera.errors.SchemaErrors:
                    pass

    def expressions(sheet):
        """The same checks as plain polars expressions, evaluated in one select (no pandera)."""
        import polars as pl

        out = []
        for f in sheet.fields:
            col = pl.col(f.id)
            if f.required:
                out.append(col.is_not_null().alias(f"{f.id}/P-01"))
            if f.type == "code":
                out.append(col.is_in(list(spec.code_lists[f.code_list])).alias(f"{f.id}/P-03"))
            elif f.type in ("text", "longtext", "project_ref"):
                out.append(col.str.contains(HTML_TAG.pattern).alias(f"{f.id}/P-09"))
                out.append(col.str.contains("^" + FORMULA_TEXT.pattern.lstrip("^")).alias(f"{f.id}/P-08"))
        return out

    plain = {t.key: expressions(t) for t in tables}
    plain_ms = best(lambda: [frames[t.key].select(plain[t.key]) for frames in converted for t in tables]) * per_file
    convert_ms = best(lambda: [{t.key: to_polars(frames[t.key], t) for t in tables} for frames in chunks]) * per_file
    polars_ms = best(validate_polars) * per_file
    print(f"pandera.polars schema step:       {polars_ms:.2f} ms per file, plus {convert_ms:.2f} ms to build the "
          f"polars frames = {polars_ms + convert_ms:.2f} ms ({(polars_ms + convert_ms) / pandas_ms:.2f}× pandas)")
    print(f"polars expressions alone (no pandera, one select): {plain_ms:.2f} ms per file")


if __name__ == "__main__":
    main()
