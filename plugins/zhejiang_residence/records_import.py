"""``govcred records import FILE``: load registrations and existing permits from CSV or JSON lines.

One record per line, in either format (``.csv`` with a header row, or ``.jsonl``/``.ndjson``,
one JSON object per line)::

    kind,id_number,division,declared,ended,number,issuer_division,issued,status
    registration,330102199003071231,331121,2026-01-01,,,,,
    permit,330102199003071231,,,,ZJ3301002024000001,330100,2024-05-01,valid

Every error is reported with its line number, and nothing is imported from a file that has
any. Importing a person again replaces all their rows (the file is the records office's
current extract for the people it names).

Real extracts come from government systems: the encoding is detected (UTF-8 with or without
BOM, UTF-16 with its BOM, GB18030 -- a superset of GBK and GB2312), columns the import does
not know (a ``name``, an address) are ignored, and a row that repeats another or a permit
listed with two statuses is an error with both lines. Nothing in a file ends in a traceback:
an oversized field or a JSON line nested too deep is a line error like any other.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from govcred.core import FieldError, ValidationError
from govcred.plugins.zhejiang_residence.configured import configured
from govcred.plugins.zhejiang_residence.document import PERMIT_STATUSES
from govcred.plugins.zhejiang_residence.identifiers import ResidentId, is_division, normalise_id, parse_resident_id

KINDS = ("registration", "permit")
COLUMNS = ("kind", "id_number", "division", "declared", "ended", "number", "issuer_division", "issued", "status")
MAX_LINES = 1_000_000


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _date(record: dict, name: str, line: int, errors: list[FieldError], *, optional: bool = False) -> dt.date | None:
    raw = _text(record.get(name))
    if not raw:
        if not optional:
            errors.append(FieldError(f"line {line}: {name}", "REQUIRED", f"第{line}行：缺少{name}"))
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(f"line {line}: {name}", "DATE", f"第{line}行：{name} 应为 YYYY-MM-DD 日期"))
        return None


def _division(record: dict, name: str, line: int, errors: list[FieldError], *, exact6: bool) -> str:
    value = _text(record.get(name))
    if not is_division(value, exact6=exact6):
        what = "6 位" if exact6 else "6 位以上"
        errors.append(FieldError(f"line {line}: {name}", "DIVISION", f"第{line}行：{name} 应为{what}行政区划代码"))
    return value


def parse_record(record: Any, line: int, today: dt.date) -> tuple[str, str, dict[str, Any]] | list[FieldError]:
    """One line as ``(id_number, kind, row)``, or every error on it."""
    if not isinstance(record, dict):
        return [FieldError(f"line {line}", "NOT_AN_OBJECT", f"第{line}行：应为一个 JSON 对象")]
    errors: list[FieldError] = []
    kind = _text(record.get("kind"))
    if kind not in KINDS:
        errors.append(FieldError(f"line {line}: kind", "KIND", f"第{line}行：kind 应为 registration 或 permit"))
    id_number = normalise_id(_text(record.get("id_number")))
    if not isinstance(parse_resident_id(id_number, today), ResidentId):
        errors.append(FieldError(f"line {line}: id_number", "ID_NUMBER", f"第{line}行：身份号码无效"))
    row: dict[str, Any] = {}
    if kind == "registration":
        row["division"] = _division(record, "division", line, errors, exact6=False)
        row["declared"] = _date(record, "declared", line, errors)
        row["ended"] = _date(record, "ended", line, errors, optional=True)
        if row["declared"] and row["ended"] and row["ended"] < row["declared"]:
            errors.append(FieldError(f"line {line}: ended", "PERIOD", f"第{line}行：ended 早于 declared"))
    elif kind == "permit":
        row["number"] = _text(record.get("number"))
        if not row["number"] or len(row["number"]) > 64:
            errors.append(
                FieldError(f"line {line}: number", "REQUIRED", f"第{line}行：缺少居住证号码（最多 64 个字符）")
            )
        row["issuer_division"] = _division(record, "issuer_division", line, errors, exact6=True)
        row["issued"] = _date(record, "issued", line, errors)
        row["status"] = _text(record.get("status"))
        if row["status"] not in PERMIT_STATUSES:
            errors.append(
                FieldError(
                    f"line {line}: status", "STATUS", f"第{line}行：status 应为 {'、'.join(PERMIT_STATUSES)} 之一"
                )
            )
    return errors or (id_number, kind, row)


#: The longest field or JSON line read (real fields are a few dozen characters).
MAX_FIELD = 4096
#: Files above this size get a progress bar.
PROGRESS_BYTES = 1_000_000


def decode(raw: bytes) -> str:
    """The file's text. A BOM decides; otherwise strict UTF-8, then GB18030.

    Written here rather than guessed by a detector (charset-normalizer): the candidates are
    three and ordered -- valid UTF-8 is almost never valid text in another encoding by
    accident, and GB18030 decodes everything GBK/GB2312 wrote -- so a strict attempt in that
    order is exact where a statistical guess on short numeric files is not.
    """
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                break
    if raw[:4].count(0) >= 1 and len(raw) >= 4:  # UTF-16 without a BOM: every ASCII char has a NUL
        for codec in ("utf-16-le", "utf-16-be"):
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError:
                continue
            if text[:1].isascii() and text[:1].isprintable():
                return text
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    raise ValidationError(
        [FieldError("file", "ENCODING", "无法识别文件编码：请另存为 UTF-8、GB18030（GBK）或 UTF-16 编码后重试")]
    )


def _too_long(line: int) -> FieldError:
    return FieldError(f"line {line}", "TOO_LONG", f"第{line}行：内容过长（一个字段最多 {MAX_FIELD} 个字符）")


def _csv_records(text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames or ()
    except csv.Error:
        fieldnames = ()
    missing = [c for c in ("kind", "id_number") if c not in fieldnames]
    if missing:
        raise ValidationError([FieldError("line 1", "HEADER", f"第1行：表头缺少 {', '.join(missing)}")])
    out: list[tuple[int, Any]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return out
        except csv.Error:  # a field over csv's own limit: the reader skips that line
            line = reader.line_num + 1  # (not yet counted when the error is raised)
            out.append((line, _too_long(line)))
            continue
        if any(isinstance(v, str) and len(v) > MAX_FIELD for v in row.values()):
            out.append((reader.line_num, _too_long(reader.line_num)))
            continue
        row.pop(None, None)  # cells beyond the header
        out.append((reader.line_num, row))


def _json_records(text: str) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(raw) > MAX_FIELD * 4:
            out.append((line, _too_long(line)))
            continue
        try:
            out.append((line, json.loads(raw)))
        except ValueError as exc:
            out.append((line, FieldError(f"line {line}", "JSON", f"第{line}行：JSON 格式错误（{exc.msg}）")))
        except RecursionError:
            out.append((line, FieldError(f"line {line}", "JSON_DEPTH", f"第{line}行：JSON 嵌套过深")))
    return out


def _records(path: Path) -> list[tuple[int, Any]]:
    text = decode(path.read_bytes())
    return _csv_records(text) if path.suffix.lower() == ".csv" else _json_records(text)


def _row_key(row: dict[str, Any]) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in row.items()))


def parse_file(path: Path, today: dt.date, *, progress=None) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every person's rows in the file, or one ValidationError with every bad line.

    ``progress(n)`` is told of each ``n`` lines checked (the command's progress bar)."""
    if path.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise ValidationError([FieldError("file", "FORMAT", "只支持 .csv 或 .jsonl（JSON Lines）文件")])
    people: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {"registrations": [], "permits": []})
    errors: list[FieldError] = []
    records = _records(path)
    if len(records) > MAX_LINES:
        raise ValidationError([FieldError("file", "TOO_LARGE", f"一次最多导入 {MAX_LINES} 行")])
    rows_seen: dict[tuple, int] = {}
    permits_seen: dict[tuple[str, str], tuple[int, str]] = {}
    for line, record in records:
        if progress is not None:
            progress(1)
        if isinstance(record, FieldError):
            errors.append(record)
            continue
        parsed = parse_record(record, line, today)
        if isinstance(parsed, list):
            errors.extend(parsed)
            continue
        id_number, kind, row = parsed
        first = rows_seen.setdefault((id_number, kind, _row_key(row)), line)
        if first != line:
            errors.append(FieldError(f"line {line}", "DUPLICATE", f"第{line}行：与第{first}行完全相同（重复记录）"))
            continue
        if kind == "permit":
            earlier = permits_seen.setdefault((id_number, row["number"]), (line, row["status"]))
            if earlier[0] != line and earlier[1] != row["status"]:
                errors.append(
                    FieldError(
                        f"line {line}",
                        "CONTRADICTION",
                        f"第{line}行：居住证 {row['number']} 的状态为 {row['status']}，"
                        f"与第{earlier[0]}行的 {earlier[1]} 矛盾",
                    )
                )
                continue
        people[id_number]["registrations" if kind == "registration" else "permits"].append(row)
    if errors:
        raise ValidationError(errors, f"导入文件有 {len(errors)} 处错误，未导入任何记录")
    return dict(people)


def _line_count(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


@click.group("records")
def records() -> None:
    """人员信息：居住登记与已有居住证记录（本地数据源）。"""


@records.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, file: Path) -> None:
    """导入居住登记与居住证记录（CSV 或 JSON Lines）；有任何错误则不导入。"""
    plugin = configured(ctx.find_root().obj.runtime.pm)
    now = dt.datetime.now(dt.UTC)
    try:
        if file.stat().st_size > PROGRESS_BYTES:
            # sys.stderr as the command runs (click's get_text_stream("stderr") is deprecated)
            with click.progressbar(length=_line_count(file), label="检查记录", file=sys.stderr) as bar:
                people = parse_file(file, now.date(), progress=bar.update)
        else:
            people = parse_file(file, now.date())
    except ValidationError as exc:
        click.echo(f"错误：{exc.message}", err=True)
        for err in exc.errors:
            click.echo(f"  - {err.message} [{err.code}]", err=True)
        ctx.exit(2)
    written = plugin.import_people(people, now)
    click.echo(f"已导入 {len(people)} 人、{written} 条记录。")
