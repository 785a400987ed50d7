"""Known-answer tests for matching.readers and matching.writers."""
from __future__ import annotations

import csv
import json
import os
import pickle
from pathlib import Path

import openpyxl
import pytest

from xfd.matching.readers import (
    MAX_TEXT_CHARS,
    RecordError,
    Where,
    iter_raw_records,
    read_demands,
    read_profiles,
    validate_demand,
    validate_demands,
    validate_profile,
    validate_profiles,
)
from xfd.matching.types import Demand, DemandMatches, Document, Evidence, Match, Profile
from xfd.matching.writers import to_jsonable, write_json_atomic, write_jsonl_atomic

# ----------------------------------------------------------------------------- fixtures

PROFILE_RECORDS = [
    {"id": "T001", "name": " 张伟 ", "kind": "teacher", "college": "机械工程学院", "title": "副教授",
     "disciplines": ["机械工程", "控制科学与工程"], "keywords": ["机器视觉", "缺陷检测"],
     "county": "城关区", "capacity": 3, "conflicts": ["E017"],
     "documents": [{"kind": "paper", "title": "钢板缺陷检测", "text": "基于深度学习的表面缺陷检测", "year": 2023}],
     "unknown_extra": {"ignored": True}},
    {"id": "S004", "kind": "student", "major": "计算机科学与技术", "grade": 3, "skills": ["Python", "C++"]},
    {"id": 42, "kind": "team", "keywords": "光伏；储能;电网", "members": ["T001", "S004"]},
]

EXPECTED_PROFILES = [
    Profile(id="T001", kind="teacher", name="张伟", college="机械工程学院", title="副教授",
            disciplines=("机械工程", "控制科学与工程"), keywords=("机器视觉", "缺陷检测"),
            county="城关区", capacity=3, conflicts=("E017",),
            documents=(Document(text="基于深度学习的表面缺陷检测", kind="paper", title="钢板缺陷检测", year=2023),)),
    Profile(id="S004", kind="student", capacity=1, major="计算机科学与技术", grade=3, skills=("Python", "C++")),
    Profile(id="42", kind="team", capacity=1, keywords=("光伏", "储能", "电网"), members=("T001", "S004")),
]

DEMAND_RECORDS = [
    {"id": "D001", "enterprise": "E017", "county": "城关区", "industry": "C", "title": "钢板表面缺陷检测",
     "description": "生产线上需要自动识别划痕、凹坑", "disciplines": ["机械工程", "计算机科学与技术"],
     "team_size": [2, 4], "current_team": ["T001", "S004"]},
    {"id": "D002", "description": "光伏电站运维优化"},
]

EXPECTED_DEMANDS = [
    Demand(id="D001", title="钢板表面缺陷检测", description="生产线上需要自动识别划痕、凹坑", enterprise="E017",
           county="城关区", industry="C", disciplines=("机械工程", "计算机科学与技术"), team_size=(2, 4),
           current_team=("T001", "S004")),
    Demand(id="D002", description="光伏电站运维优化", team_size=(3, 5)),
]


def write_jsonl(path: Path, records: list, *, bom: bool = False) -> Path:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def err(exc_info: pytest.ExceptionInfo) -> RecordError:
    e = exc_info.value
    assert isinstance(e, RecordError)
    assert "\n" not in str(e)
    return e


# ----------------------------------------------------------------------------- good files

def test_profiles_jsonl_known_answer(tmp_path):
    path = write_jsonl(tmp_path / "profiles.jsonl", PROFILE_RECORDS)
    assert read_profiles(path) == EXPECTED_PROFILES


def test_demands_jsonl_known_answer(tmp_path):
    path = write_jsonl(tmp_path / "demands.jsonl", DEMAND_RECORDS)
    assert read_demands(path) == EXPECTED_DEMANDS


def test_defaults_applied():
    p = validate_profile({"id": "T1", "keywords": ["x"]})
    assert (p.kind, p.capacity, p.grade, p.documents) == ("teacher", 2, None, ())
    assert validate_profile({"id": "S1", "kind": "student", "skills": "x"}).capacity == 1
    assert validate_profile({"id": "G1", "kind": "team", "keywords": "x"}).capacity == 1
    assert validate_profile({"id": "T2", "keywords": "x", "capacity": 0}).capacity == 0
    assert validate_demand({"id": "D1", "title": "t"}).team_size == (3, 5)
    doc = validate_profile({"id": "T3", "documents": [{"title": "only a title"}]}).documents[0]
    assert doc == Document(text="", kind="paper", title="only a title", year=None)


def test_blank_lines_bom_crlf_and_unicode_separators(tmp_path):
    body = json.dumps({"id": "T1", "keywords": ["a\u2028b"]}, ensure_ascii=False)
    raw = "\ufeff\r\n  \r\n" + body + "\r\n\r\n"
    path = tmp_path / "p.jsonl"
    path.write_bytes(raw.encode("utf-8"))
    assert read_profiles(path) == [Profile(id="T1", keywords=("a\u2028b",))]


def test_bom_jsonl_same_as_plain(tmp_path):
    a = read_profiles(write_jsonl(tmp_path / "a.jsonl", PROFILE_RECORDS))
    b = read_profiles(write_jsonl(tmp_path / "b.jsonl", PROFILE_RECORDS, bom=True))
    assert a == b == EXPECTED_PROFILES


def test_json_array_and_ndjson_and_single_object(tmp_path):
    arr = tmp_path / "p.json"
    arr.write_text(json.dumps(PROFILE_RECORDS, ensure_ascii=False, indent=2), encoding="utf-8")
    assert read_profiles(arr) == EXPECTED_PROFILES
    nd = write_jsonl(tmp_path / "p.ndjson", PROFILE_RECORDS)
    assert read_profiles(nd) == EXPECTED_PROFILES
    one = tmp_path / "one.json"
    one.write_text(json.dumps(DEMAND_RECORDS[0], ensure_ascii=False, indent=2), encoding="utf-8")
    assert read_demands(one) == EXPECTED_DEMANDS[:1]
    jsonl_in_json = write_jsonl(tmp_path / "d.json", DEMAND_RECORDS)
    assert read_demands(jsonl_in_json) == EXPECTED_DEMANDS
    empty = tmp_path / "empty.json"
    empty.write_text("[ ]", encoding="utf-8")
    assert read_demands(empty) == []


def test_json_array_error_names_line_of_element(tmp_path):
    path = tmp_path / "p.json"
    recs = [{"id": "T1", "keywords": ["a"]}, {"id": "T2", "keywords": ["a"], "capacity": -1}]
    path.write_text(json.dumps(recs, indent=2), encoding="utf-8")
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    e = err(ei)
    text = path.read_text(encoding="utf-8").split("\n")
    assert text[e.line - 1].strip() == "{"  # the line where the second object starts
    assert e.line > 2 and e.field == "capacity"


def test_empty_file_gives_empty_list(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    assert read_profiles(path) == []


def test_strings_stripped_and_lists_split_and_deduplicated():
    p = validate_profile({"id": "  T9 ", "keywords": " a ; b；a;;\n c ", "disciplines": ["x", " x ", "", None],
                          "conflicts": [17, "E2"]})
    assert p.id == "T9"
    assert p.keywords == ("a", "b", "c")
    assert p.disciplines == ("x",)
    assert p.conflicts == ("17", "E2")


def test_kind_aliases_and_grade_only_for_students():
    assert validate_profile({"id": "1", "kind": "学生", "major": "化学"}).kind == "student"
    assert validate_profile({"id": "2", "kind": "Teacher", "keywords": "x"}).kind == "teacher"
    assert validate_profile({"id": "3", "keywords": "x", "grade": 2}).grade is None


def test_team_size_forms():
    for value, expected in [([3, 5], (3, 5)), ("3;5", (3, 5)), ("3-5", (3, 5)), ("2～4", (2, 4)),
                            ("3 - 6", (3, 6)), (4, (4, 4)), ("4", (4, 4)), (["1", "50"], (1, 50)),
                            (None, (3, 5)), ("", (3, 5))]:
        assert validate_demand({"id": "D", "title": "t", "team_size": value}).team_size == expected, value


def test_integral_float_and_numeric_string_ints_accepted():
    p = validate_profile({"id": "S", "kind": "student", "major": "m", "grade": 2.0, "capacity": "3"})
    assert (p.grade, p.capacity) == (2, 3)
    d = validate_profile({"id": "T", "documents": [{"text": "t", "year": "2020"}]})
    assert d.documents[0].year == 2020


# ----------------------------------------------------------------------------- bad records

def _bad_profile_file(tmp_path: Path, bad: dict, *, line: int = 3) -> RecordError:
    good = [{"id": f"G{i}", "keywords": ["k"]} for i in range(line - 1)]
    path = write_jsonl(tmp_path / "profiles.jsonl", [*good, bad])
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    e = err(ei)
    assert e.file == str(path) and e.line == line
    assert f"第 {line} 行 line {line}" in str(e)
    return e


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ({"keywords": ["k"]}, "id", "missing id"),
        ({"id": "", "keywords": ["k"]}, "id", "missing id"),
        ({"id": ["T"], "keywords": ["k"]}, "id", "string or an integer"),
        ({"id": "T", "name": "x"}, None, "no text to match on"),
        ({"id": "T", "keywords": []}, None, "no text to match on"),
        ({"id": "T", "major": "化学"}, None, "no text to match on"),  # major counts for students only
        ({"id": "T", "kind": "robot", "keywords": "k"}, "kind", "unknown kind"),
        ({"id": "S", "kind": "student", "major": "m", "grade": 5}, "grade", "1..4"),
        ({"id": "S", "kind": "student", "major": "m", "grade": 0}, "grade", "1..4"),
        ({"id": "S", "kind": "student", "major": "m", "grade": "大三"}, "grade", "1..4"),
        ({"id": "T", "keywords": "k", "capacity": -1}, "capacity", "non-negative integer"),
        ({"id": "T", "keywords": "k", "capacity": "two"}, "capacity", 'got "two"'),
        ({"id": "T", "keywords": "k", "capacity": 1.5}, "capacity", "non-negative integer"),
        ({"id": "T", "keywords": "k", "capacity": True}, "capacity", "non-negative integer"),
        ({"id": "T", "keywords": 5}, "keywords", "list of strings"),
        ({"id": "T", "keywords": {"a": 1}}, "keywords", "list of strings"),
        ({"id": "T", "keywords": ["a", {"b": 1}]}, "keywords[1]", "must be a string"),
        ({"id": "T", "keywords": "k", "name": ["张"]}, "name", "must be a string"),
        ({"id": "T", "documents": [{"text": "t", "year": 1800}]}, "documents[0].year", "1900..2100"),
        ({"id": "T", "documents": [{"text": "t"}, {"text": "t", "year": "去年"}]}, "documents[1].year",
         "1900..2100"),
        ({"id": "T", "documents": [{"text": "t"}, {"kind": "paper", "text": " "}]}, "documents[1].text",
         "text or title"),
        ({"id": "T", "documents": [5]}, "documents[0]", "object"),
        ({"id": "T", "documents": 5}, "documents", "list of objects"),
        ({"id": "T", "documents": [{"text": "x" * (MAX_TEXT_CHARS + 1)}]}, "documents[0].text", "too long"),
        ({"id": "T", "keywords": "k", "county": "a\x00b"}, "county", "invalid character"),
        ({"id": "T", "keywords": "k", "name": "张\x01伟"}, "name", "invalid character U+0001"),
        ({"id": "T", "keywords": ["机器\x1f视觉"]}, "keywords[0]", "invalid character U+001F"),
        ({"id": "T", "documents": [{"text": "正文\x0c下一页"}]}, "documents[0].text", "invalid character U+000C"),
        ({"id": "T", "keywords": "k", "college": "学院\x7f"}, "college", "invalid character U+007F"),
    ],
)
def test_bad_profile_record(tmp_path, bad, field, words):
    e = _bad_profile_file(tmp_path, bad)
    assert e.field == field
    assert words in e.reason
    if field is not None:
        assert f'字段 field "{field}"' in str(e)


def test_text_keeps_tab_and_line_breaks_but_refuses_other_control_characters(tmp_path):
    """The one text rule (``record_fields._check_chars``): tab, LF and CR stay; a demand title
    with U+0001 is a field error naming ``title`` (Excel cannot hold it, no text needs it)."""
    d = validate_demand({"id": "D1", "title": "甲\t乙", "description": "第一行\r\n第二行"})
    assert d.title == "甲\t乙" and d.description == "第一行\r\n第二行"
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "D1", "title": "控制字符\x01标题"}) + "\n", encoding="utf-8")
    with pytest.raises(RecordError) as e:
        read_demands(path)
    assert e.value.field == "title" and e.value.line == 1 and "U+0001" in e.value.reason


def test_message_format_exact(tmp_path):
    e = _bad_profile_file(tmp_path, {"id": "T", "keywords": "k", "capacity": "two"}, line=7)
    assert str(e) == (f'{tmp_path / "profiles.jsonl"} 第 7 行 line 7, 字段 field "capacity": '
                      '应为非负整数 must be a non-negative integer, got "two"')


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ({"title": "t"}, "id", "missing id"),
        ({"id": "D9", "enterprise": "E1"}, None, "title or description"),
        ({"id": "D9", "title": "t", "team_size": [5, 3]}, "team_size", "[5, 3]"),
        ({"id": "D9", "title": "t", "team_size": "5-3"}, "team_size", "min <= max"),
        ({"id": "D9", "title": "t", "team_size": [0, 3]}, "team_size", "two integers"),
        ({"id": "D9", "title": "t", "team_size": [3, 51]}, "team_size", "two integers"),
        ({"id": "D9", "title": "t", "team_size": [3, 4, 5]}, "team_size", "two integers"),
        ({"id": "D9", "title": "t", "team_size": "三到五"}, "team_size", "two integers"),
        ({"id": "D9", "title": "t", "team_size": {"min": 3}}, "team_size", "two integers"),
        ({"id": "D9", "title": "t", "disciplines": 3}, "disciplines", "list of strings"),
        ({"id": "D9", "title": "t", "current_team": [None, ["T1"]]}, "current_team[1]", "must be a string"),
    ],
)
def test_bad_demand_record(tmp_path, bad, field, words):
    path = write_jsonl(tmp_path / "demands.jsonl", [{"id": "D1", "title": "ok"}, bad])
    with pytest.raises(RecordError) as ei:
        read_demands(path)
    e = err(ei)
    assert (e.line, e.field) == (2, field)
    assert words in e.reason
    assert "第 2 行 line 2" in str(e)


@pytest.mark.parametrize(
    ("line_text", "words"),
    [
        ('{"id": "T3", "keywords": ["a"', "truncated JSON"),          # truncated
        ('{"id": "T3", "keywords": ["a"]} {"id": "T4"}', "extra data"),
        ('{"id": "T3" "keywords": ["a"]}', "invalid JSON"),
        ('{"id": "T3", "keywords": ["a"], "capacity": NaN}', "NaN"),
        ('{"id": "T3", "keywords": ["a"], "capacity": Infinity}', "NaN/Infinity"),
        ('["T3", "a"]', "JSON object"),
        ('"T3"', "JSON object"),
        ('{"id": "T3", "keywords": ["a"], "id": "T4"}', "duplicate key"),
        ("[" * 100_000, "JSON"),   # nested far too deep and truncated
    ],
)
def test_bad_json_line_names_line(tmp_path, line_text, words):
    path = write_lines(tmp_path / "profiles.jsonl",
                       ['{"id": "T1", "keywords": ["a"]}', "", line_text, '{"id": "T9", "keywords": ["a"]}'])
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    e = err(ei)
    assert e.line == 3, str(e)
    assert words in e.reason, str(e)


def test_deeply_nested_json_line(tmp_path):
    path = write_lines(tmp_path / "p.jsonl",
                       ['{"id": "T1", "keywords": ["a"]}', '{"id": "T2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"])
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    assert err(ei).line == 2


def test_duplicate_id_names_both_lines(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": "T1", "keywords": "a"}, {"id": "T2", "keywords": "a"},
                                              {"id": " T1", "keywords": "b"}])
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    e = err(ei)
    assert (e.line, e.field) == (3, "id")
    assert "line 1" in e.reason and '"T1"' in e.reason


def test_int_and_string_id_collide(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": 7, "title": "a"}, {"id": "7", "title": "b"}])
    with pytest.raises(RecordError) as ei:
        read_demands(path)
    assert err(ei).line == 2


def test_not_utf8_names_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"id": "T1", "keywords": ["a"]}\n' + '{"id": "T2", "keywords": ["机器"]}\n'.encode("gbk"))
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    e = err(ei)
    assert e.line == 2 and "UTF-8" in e.reason


def test_unsupported_suffix_and_missing_file(tmp_path):
    with pytest.raises(RecordError) as ei:
        read_profiles(tmp_path / "p.txt")
    assert ".jsonl" in err(ei).reason and ".xlsx" in err(ei).reason
    with pytest.raises(RecordError) as ei:
        read_profiles(tmp_path / "missing.jsonl")
    assert err(ei).line is None and "cannot read" in str(ei.value)


def test_all_or_nothing_no_partial_result(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [*PROFILE_RECORDS, {"id": "X"}])
    result = None
    with pytest.raises(RecordError):
        result = read_profiles(path)
    assert result is None


# ----------------------------------------------------------------------------- validate_* for the API

def test_validate_without_location_still_names_field():
    with pytest.raises(RecordError) as ei:
        validate_demand({"id": "D1", "title": "t", "team_size": [5, 1]})
    e = err(ei)
    assert (e.file, e.line, e.field) == (None, None, "team_size")
    assert str(e).startswith('字段 field "team_size": ')
    assert e.to_dict()["field"] == "team_size"
    with pytest.raises(RecordError) as ei:
        validate_profile("not an object")
    assert err(ei).field is None and "JSON object" in str(ei.value)


def test_validate_list_prefixes_index_and_checks_duplicates():
    with pytest.raises(RecordError) as ei:
        validate_profiles([{"id": "A", "keywords": "k"}, {"id": "B", "keywords": "k", "capacity": -2}])
    assert err(ei).field == "[1].capacity"
    with pytest.raises(RecordError) as ei:
        validate_profiles([{"id": "A", "keywords": "k"}, {"id": "A", "keywords": "k"}])
    e = err(ei)
    assert e.field == "[1].id" and "[0]" in e.reason
    with pytest.raises(RecordError) as ei:
        validate_profiles({"id": "A"})
    assert "JSON array" in err(ei).reason
    assert validate_demands(DEMAND_RECORDS) == EXPECTED_DEMANDS
    with pytest.raises(RecordError) as ei:
        validate_profile({"id": "A"}, Where(prefix="body"))
    assert err(ei).field == "body"
    with pytest.raises(RecordError) as ei:
        validate_profile({"id": "A", "keywords": 1}, "body")
    assert err(ei).field == "body.keywords"


def test_record_error_pickles():
    e = RecordError("bad", file="f.jsonl", line=3, field="id")
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.file, e2.line, e2.field, e2.reason, str(e2)) == (e.file, e.line, e.field, e.reason, str(e))


# ----------------------------------------------------------------------------- CSV / XLSX

PROFILE_HEADER = ["id", "name", "kind", "college", "title", "disciplines", "keywords", "county", "capacity",
                  "conflicts", "major", "grade", "skills", "members",
                  "document_kind", "document_title", "document_text", "document_year"]
PROFILE_ROWS = [
    ["T001", " 张伟 ", "teacher", "机械工程学院", "副教授", "机械工程;控制科学与工程", "机器视觉；缺陷检测", "城关区", 3,
     "E017", "", "", "", "", "paper", "钢板缺陷检测", "基于深度学习的表面缺陷检测", 2023],
    [],  # a blank row is skipped
    ["S004", "", "student", "", "", "", "", "", "", "", "计算机科学与技术", 3, "Python;C++", "", "", "", "", ""],
    [42, "", "team", "", "", "", "光伏；储能;电网", "", "", "", "", "", "", "T001;S004", "", "", "", ""],
]
DEMAND_HEADER = ["id", "enterprise", "county", "industry", "title", "description", "disciplines", "team_size",
                 "current_team", "note"]
DEMAND_ROWS = [
    ["D001", "E017", "城关区", "C", "钢板表面缺陷检测", "生产线上需要自动识别划痕、凹坑", "机械工程;计算机科学与技术",
     "2-4", "T001;S004", "ignored column"],
    ["D002", "", "", "", "", "光伏电站运维优化", "", "", "", ""],
]


def write_csv(path: Path, header: list, rows: list, *, bom: bool = False, delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, header: list, rows: list, *, skip_rows: int = 0) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for _ in range(skip_rows):
        ws.append([])
    ws.append(header)
    for row in rows:
        ws.append([None if v == "" else v for v in row])
    wb.save(path)
    return path


def test_csv_equals_jsonl(tmp_path):
    assert read_profiles(write_csv(tmp_path / "p.csv", PROFILE_HEADER, PROFILE_ROWS)) == EXPECTED_PROFILES
    assert read_demands(write_csv(tmp_path / "d.csv", DEMAND_HEADER, DEMAND_ROWS)) == EXPECTED_DEMANDS


def test_csv_with_bom_and_tsv(tmp_path):
    assert read_profiles(write_csv(tmp_path / "p.csv", PROFILE_HEADER, PROFILE_ROWS, bom=True)) == EXPECTED_PROFILES
    assert read_demands(write_csv(tmp_path / "d.tsv", DEMAND_HEADER, DEMAND_ROWS, delimiter="\t")) == EXPECTED_DEMANDS


def test_xlsx_equals_jsonl(tmp_path):
    assert read_profiles(write_xlsx(tmp_path / "p.xlsx", PROFILE_HEADER, PROFILE_ROWS)) == EXPECTED_PROFILES
    assert read_demands(write_xlsx(tmp_path / "d.xlsx", DEMAND_HEADER, DEMAND_ROWS)) == EXPECTED_DEMANDS


def test_csv_documents_json_column_plus_flat_columns(tmp_path):
    docs = json.dumps([{"kind": "patent", "title": "一种夹具", "text": "夹具结构", "year": 2019}], ensure_ascii=False)
    header = ["id", "documents", "document_text", "team_size"]
    rows = [["T1", docs, "个人陈述", ""], ["T2", "纯文本简介", "", ""]]
    got = read_profiles(write_csv(tmp_path / "p.csv", header, rows))
    assert got[0].documents == (Document(text="夹具结构", kind="patent", title="一种夹具", year=2019),
                                Document(text="个人陈述"))
    assert got[1].documents == (Document(text="纯文本简介"),)


def test_csv_multiline_cell_row_numbers_and_list_with_newlines(tmp_path):
    header = ["id", "keywords", "capacity"]
    rows = [["T1", "机器视觉\n缺陷检测", ""], ["T2", "a", "-1"]]
    path = write_csv(tmp_path / "p.csv", header, rows)
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    e = err(ei)
    assert (e.line, e.field) == (3, "capacity")  # spreadsheet row 3 although physical line 4
    ok = read_profiles(write_csv(tmp_path / "q.csv", header, rows[:1]))
    assert ok[0].keywords == ("机器视觉", "缺陷检测")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        (["S9", "student", "化学", "5", "", "", ""], "grade", "1..4"),
        (["S9", "student", "化学", "", "two", "", ""], "capacity", 'got "two"'),
        (["", "student", "化学", "", "", "", ""], "id", "missing id"),
        (["T9", "teacher", "化学", "", "", "", ""], None, "no text to match on"),
        (["T9", "teacher", "", "", "", "1850", "论文"], "document_year", "1900..2100"),
        (["T9", "teacher", "", "", "", "2020", ""], "document_text", "text or title"),
    ],
)
def test_tabular_bad_row_names_row_and_column(tmp_path, suffix, row, field, words):
    header = ["id", "kind", "major", "grade", "capacity", "document_year", "document_text"]
    good = [["T1", "student", "物理", "", "", "", ""], ["S1", "student", "化学", "2", "", "", ""]]
    path = tmp_path / f"p{suffix}"
    (write_csv if suffix == ".csv" else write_xlsx)(path, header, [*good, row])
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    e = err(ei)
    assert (e.line, e.field) == (4, field), str(e)
    assert words in e.reason


def test_xlsx_leading_blank_rows_keep_spreadsheet_row_numbers(tmp_path):
    path = write_xlsx(tmp_path / "d.xlsx", ["id", "title", "team_size"],
                      [["D1", "t", "3;5"], ["D2", "t", "6-2"]], skip_rows=2)
    with pytest.raises(RecordError) as ei:
        read_demands(path)
    e = err(ei)
    assert (e.line, e.field) == (5, "team_size")


def test_xlsx_excel_error_cell(tmp_path):
    path = write_xlsx(tmp_path / "p.xlsx", ["id", "keywords", "capacity"], [["T1", "k", "#N/A"]])
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    e = err(ei)
    assert (e.line, e.field) == (2, "capacity") and "#N/A" in e.reason


def test_tabular_header_problems(tmp_path):
    with pytest.raises(RecordError) as ei:
        read_profiles(write_csv(tmp_path / "a.csv", ["name", "keywords"], [["x", "k"]]))
    assert (err(ei).line, err(ei).field) == (1, "id")
    with pytest.raises(RecordError) as ei:
        read_profiles(write_csv(tmp_path / "b.csv", ["id", "keywords", "Keywords"], [["x", "k", "j"]]))
    assert err(ei).line == 1 and "duplicate column" in err(ei).reason
    with pytest.raises(RecordError) as ei:
        read_profiles(write_csv(tmp_path / "c.csv", ["id", "documents"], [["T1", '[{"text": "a"'] ]))
    assert (err(ei).line, err(ei).field) == (2, "documents")


def test_not_an_xlsx(tmp_path):
    path = tmp_path / "p.xlsx"
    path.write_text("id,keywords\n", encoding="utf-8")
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    assert "xlsx" in err(ei).reason


def test_iter_raw_records_lines(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", ["", '{"id": "A"}', "", '{"id": "B"}'])
    assert list(iter_raw_records(path)) == [(2, {"id": "A"}), (4, {"id": "B"})]


def test_iter_raw_records_collects_bad_jsonl_lines_when_asked(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", ['{"id": "A"}', "broken", '{"id": "B"} x', '{"id": "C"}', '{"id": 1, "id": 2}'])
    with pytest.raises(RecordError) as ei:
        list(iter_raw_records(path))
    assert err(ei).line == 2
    bad: list[RecordError] = []
    assert list(iter_raw_records(path, bad)) == [(1, {"id": "A"}), (4, {"id": "C"})]
    assert [(e.line, e.field) for e in bad] == [(2, None), (3, None), (5, "id")]
    assert "JSON" in bad[0].reason and "extra data" in bad[1].reason and "重复" in bad[2].reason
    with pytest.raises(RecordError):  # a JSON array cannot be read on past a syntax error
        list(iter_raw_records(write_lines(tmp_path / "a.json", ['[{"id": "A"},', "broken]"]), []))


# ----------------------------------------------------------------------------- writers

def test_jsonl_writer_round_trip(tmp_path):
    path = tmp_path / "out.jsonl"
    n = write_jsonl_atomic(path, (to_jsonable(p) for p in EXPECTED_PROFILES))
    assert n == 3
    assert read_profiles(path) == EXPECTED_PROFILES
    assert "张伟" in path.read_text(encoding="utf-8")  # ensure_ascii=False
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_to_jsonable_scores_shape():
    dm = DemandMatches("D1", (Match("T1", 0.83, (Evidence("钢板缺陷检测", ("机器视觉",)),)),))
    assert to_jsonable(dm) == {"demand_id": "D1", "matches": [
        {"profile_id": "T1", "score": 0.83, "evidence": [{"document": "钢板缺陷检测", "terms": ["机器视觉"]}]}]}


def test_jsonl_writer_leaves_nothing_when_iterable_raises(tmp_path):
    path = tmp_path / "out.jsonl"

    def records():
        yield {"a": 1}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_jsonl_atomic(path, records())
    assert list(tmp_path.iterdir()) == []


def test_writer_keeps_old_content_on_failure(tmp_path):
    path = tmp_path / "plan.json"
    write_json_atomic(path, {"objective": 1.0})
    with pytest.raises(ValueError):
        write_json_atomic(path, {"objective": float("nan")})
    assert json.loads(path.read_text(encoding="utf-8")) == {"objective": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    mode = os.stat(path).st_mode & 0o777
    assert mode & 0o044  # not left at mkstemp's 0600 (with the usual umask)


# ----------------------------------------------------------------------------- more edges

def test_pretty_printed_json_object_error_names_its_line(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{\n  "id": "D1",\n  "title": "t"\n  "description": "x"\n}\n', encoding="utf-8")
    with pytest.raises(RecordError) as ei:
        read_demands(path)
    assert err(ei).line == 4


def test_list_and_document_caps():
    from xfd.matching.readers import MAX_DOCUMENTS, MAX_LIST_ITEMS

    with pytest.raises(RecordError) as ei:
        validate_profile({"id": "T", "keywords": [f"k{i}" for i in range(MAX_LIST_ITEMS + 1)]})
    assert err(ei).field == "keywords" and "too many" in err(ei).reason
    with pytest.raises(RecordError) as ei:
        validate_profile({"id": "T", "documents": [{"text": "t"}] * (MAX_DOCUMENTS + 1)})
    assert err(ei).field == "documents"
    with pytest.raises(RecordError) as ei:
        validate_profile({"id": "T" * 201, "keywords": "k"})
    assert err(ei).field == "id" and "too long" in err(ei).reason


def test_gbk_csv_is_reported_not_misread(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes("id,keywords\nT1,机器视觉\n".encode("gbk"))
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    assert err(ei).line == 2 and "UTF-8" in err(ei).reason


# ----------------------------------------------------------------------------- team composition, disciplines, strict JSON

@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".xlsx"])
def test_students_and_distinct_grades_in_every_format(tmp_path, suffix):
    header = ["id", "title", "team_size", "students", "distinct_grades"]
    rows = [["D1", "t", "3-5", "0;0", ""], ["D2", "t", "2~4", "2-3", "2"], ["D3", "t", "", "", ""],
            ["D4", "t", "1;2", "", ""]]
    path = tmp_path / f"d{suffix}"
    if suffix == ".jsonl":
        write_jsonl(path, [{k: v for k, v in zip(header, row) if v} for row in rows])
    else:
        (write_csv if suffix == ".csv" else write_xlsx)(path, header, rows)
    got = [(d.team_size, d.students, d.distinct_grades) for d in read_demands(path)]
    # absent students: the default [1, 3] capped at the team's maximum size
    assert got == [((3, 5), (0, 0), 1), ((2, 4), (2, 3), 2), ((3, 5), (1, 3), 1), ((1, 2), (1, 2), 1)]


@pytest.mark.parametrize(("bad", "words"), [
    ({"students": [2, 6]}, "exceeds team_size max 5"),
    ({"students": [3, 2]}, "min <= max"),
    ({"students": "两个"}, "two integers"),
    ({"distinct_grades": 5}, "1..4"),
    ({"distinct_grades": True}, "got true"),
])
def test_bad_composition_names_the_field(bad, words):
    field = next(iter(bad))
    with pytest.raises(RecordError) as ei:
        validate_demand({"id": "D1", "title": "t", **bad})
    assert err(ei).field == field and words in err(ei).reason, str(ei.value)


def test_empty_disciplines_mean_none_required_absent_means_infer(tmp_path):
    assert validate_demand({"id": "D1", "title": "t", "disciplines": []}).disciplines == ()
    assert validate_demand({"id": "D1", "title": "t"}).disciplines is None
    assert validate_demand({"id": "D1", "title": "t", "disciplines": None}).disciplines is None
    path = write_csv(tmp_path / "d.csv", ["id", "title", "disciplines"], [["D1", "t", "[]"], ["D2", "t", ""]])
    assert [d.disciplines for d in read_demands(path)] == [(), None]


def test_strict_json_names_the_full_path(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", ['{"id": "T1", "documents": [{"text": "a"}, {"text": "b", "year": NaN}]}'])
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    assert (err(ei).line, err(ei).field) == (1, "documents[1].year") and "NaN" in err(ei).reason
    path = write_lines(tmp_path / "q.json", ['[{"id": "T1", "keywords": "a"},', ' {"id": "T2", "keywords": "a", "id": "T3"}]'])
    with pytest.raises(RecordError) as ei:
        read_profiles(path)
    assert (err(ei).line, err(ei).field) == (2, "id") and "duplicate key" in err(ei).reason


@pytest.mark.parametrize(("raw", "stored"), [("Ｔ００１", "T001"), ("cafe\u0301", "caf\u00e9"), (" T001 ", "T001"), (17, "17")])
def test_ids_are_normalised(raw, stored):
    assert validate_profile({"id": raw, "keywords": "k"}).id == stored


@pytest.mark.parametrize("raw", ["T 1", "a/b", "a?b", "a#b", ".", "..", "T\u200b1", "T\u202e1", "T\u00ad1", "x" * 201])
def test_bad_ids_are_refused(raw):
    with pytest.raises(RecordError) as ei:
        validate_profile({"id": raw, "keywords": "k"})
    assert err(ei).field == "id"
