"""Where a scoring job's rows and rejects go: a file (JSONL, CSV or Parquet; resumable at committed offsets), a
directory of Parquet parts, or stdout. A commit makes everything written so far durable and returns the offsets
the journal records; `finish` gives the output and the rejects their final names."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import sys
from pathlib import Path
from typing import IO, Any

from service.batch.files import JobFiles, fsync_dir, fsync_path
from service.batch.rows import ScoringError, json_line

OUTPUT_FORMATS = ("jsonl", "csv", "parquet")


def output_format(path: str) -> str:
    if path == "-":
        return "jsonl"
    name = path.lower()
    for ext, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".csv", "csv"), (".parquet", "parquet")):
        if name.endswith(ext):
            return fmt
    raise ScoringError(f"cannot tell the output format of {path!r}: use .jsonl, .csv or .parquet (or - for stdout)")


def flatten_for_csv(row: dict[str, Any]) -> dict[str, Any]:
    """Scores as ``score_<label>`` columns; other nested values as JSON text."""
    flat: dict[str, Any] = {}
    for k, v in row.items():
        if k == "scores":
            flat.update({f"score_{lab}": p for lab, p in v.items()})
        elif isinstance(v, dict | list):
            flat[k] = json_line(v)
        else:
            flat[k] = v
    return flat


class TextSink:
    """JSONL / CSV rows appended to one file; a commit fsyncs and returns the byte offset reached."""

    def __init__(self, fh: IO[bytes], fmt: str, csv_fields: list[str] | None = None) -> None:
        self.fh = fh
        self.fmt = fmt
        self.csv_fields = csv_fields

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.fmt == "jsonl":
            text = "".join(json_line(r) + "\n" for r in rows)
            self.fh.write(text.encode("utf-8", "surrogateescape"))
            return
        buf = io.StringIO()
        flat_rows = [flatten_for_csv(r) for r in rows]
        if self.csv_fields is None:
            self.csv_fields = list(flat_rows[0])
            csv.writer(buf).writerow(self.csv_fields)
        w = csv.DictWriter(buf, fieldnames=self.csv_fields, extrasaction="ignore", restval="")
        w.writerows(flat_rows)
        self.fh.write(buf.getvalue().encode("utf-8", "surrogateescape"))

    def commit(self) -> int:
        self.fh.flush()
        with contextlib.suppress(OSError, io.UnsupportedOperation):  # stdout, pipes
            os.fsync(self.fh.fileno())
        try:
            return self.fh.tell()
        except (OSError, io.UnsupportedOperation):
            return 0


class ParquetSink:
    """Parquet rows as committed part files (one per window); merged into one file, or kept as a directory."""

    def __init__(self, parts_dir: Path, next_part: int = 0) -> None:
        self.parts_dir = parts_dir
        self.next_part = next_part
        self._pending: list[dict[str, Any]] = []
        self.csv_fields: list[str] | None = None

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._pending.extend(rows)

    def commit(self) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pending:
            try:
                table = pa.Table.from_pylist(self._pending)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                raise ScoringError(f"cannot write these rows as parquet (mixed types in a column?): {e}") from e
            part = self.parts_dir / f"part-{self.next_part:06d}.parquet"
            tmp = part.with_suffix(".tmp")
            pq.write_table(table, tmp)
            fsync_path(tmp)
            os.replace(tmp, part)
            self.next_part += 1
            self._pending = []
        return self.next_part

    def merge_into(self, dest: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = sorted(self.parts_dir.glob("part-*.parquet"))
        if not parts:
            pq.write_table(pa.table({}), dest)
            return
        schema = pa.unify_schemas([pq.read_schema(p) for p in parts], promote_options="permissive")
        with pq.ParquetWriter(dest, schema) as writer:
            for p in parts:
                try:
                    writer.write_table(pq.read_table(p).cast(schema))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                    raise ScoringError(f"cannot merge {p} into one parquet file (column types differ): {e}") from e
        fsync_path(dest)


class FileOutput:
    """Rows into `files.partial` (or Parquet parts), rejects into `files.rejects_partial`, both opened at the offsets
    of the last commit (`state`, from the journal): anything after them was never committed and is cut off."""

    def __init__(self, files: JobFiles, fmt: str, state: dict[str, Any], to_dir: bool = False) -> None:
        self.files, self.fmt, self.to_dir = files, fmt, to_dir
        resumed = state.get("records_done", 0) > 0
        self._out: IO[bytes] | None = None
        self.sink: TextSink | ParquetSink
        if fmt == "parquet":
            files.parts.mkdir(exist_ok=True)
            for p in files.parts.iterdir():  # parts past the committed count, and temp files, were never committed
                if p.suffix != ".parquet" or int(p.stem.removeprefix("part-")) >= state["output_offset"]:
                    p.unlink()
            self.sink = ParquetSink(files.parts, state["output_offset"])
        else:
            self._out = open(files.partial, "r+b" if files.partial.exists() and resumed else "wb")
            self._out.truncate(state["output_offset"])
            self._out.seek(state["output_offset"])
            self.sink = TextSink(self._out, fmt, state.get("csv_fields"))
        self._rejects = open(files.rejects_partial, "r+b" if files.rejects_partial.exists() and resumed else "wb")
        self._rejects.truncate(state["rejects_offset"])
        self._rejects.seek(state["rejects_offset"])

    def write(self, rows: list[dict[str, Any]], rejects: list[dict[str, Any]]) -> None:
        self.sink.write(rows)
        if rejects:
            self._rejects.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects).encode())

    def commit(self) -> dict[str, Any]:
        """Data first (fsynced), so that the journal written next never points past it."""
        offset = self.sink.commit()
        self._rejects.flush()
        os.fsync(self._rejects.fileno())
        return {"output_offset": offset, "rejects_offset": self._rejects.tell(), "csv_fields": self.sink.csv_fields}

    def finish(self, rejected: int) -> str | None:
        """All records done: the output (and rejects) get their final names. Returns the rejects' path, if any."""
        files = self.files
        if isinstance(self.sink, ParquetSink):
            if self.to_dir:
                if files.output.exists():
                    shutil.rmtree(files.output) if files.output.is_dir() else files.output.unlink()
                os.replace(files.parts, files.output)
            else:
                self.sink.merge_into(files.partial)
                os.replace(files.partial, files.output)
                shutil.rmtree(files.parts)
        else:
            assert self._out is not None
            self._out.close()
            os.replace(files.partial, files.output)
        self._rejects.close()
        rejects = None
        if rejected:
            os.replace(files.rejects_partial, files.rejects)
            rejects = str(files.rejects)
        else:
            files.rejects_partial.unlink(missing_ok=True)
            files.rejects.unlink(missing_ok=True)  # a stale one from an earlier run would mislead
        fsync_dir(files.output.parent)
        return rejects

    def close(self) -> None:
        """Stop without finishing (an error or Ctrl-C): what was committed stays for --resume."""
        for fh in (self._out, self._rejects):
            if fh is not None and not fh.closed:
                fh.close()


class StreamOutput:
    """JSON lines on stdout (nothing to resume); bad rows reported on stderr."""

    def __init__(self) -> None:
        self.sink = TextSink(sys.stdout.buffer, "jsonl")

    def write(self, rows: list[dict[str, Any]], rejects: list[dict[str, Any]]) -> None:
        for r in rejects:
            print(f"rejected: {json.dumps(r, ensure_ascii=False)}", file=sys.stderr)
        self.sink.write(rows)

    def commit(self) -> dict[str, Any]:
        self.sink.commit()
        return {}

    def finish(self, rejected: int) -> str | None:
        return "stderr" if rejected else None

    def close(self) -> None:
        return None
