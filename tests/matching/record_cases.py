"""One shared table of good and bad records, run through the file readers (and
``xfd score``) and through ``POST /v1/profiles`` / ``POST /v1/demands`` by
``tests/api/test_record_parity.py``.

A case is a list of records (one file line / one array element each; usually
one), given either as Python objects or as raw JSON text (for what Python
objects cannot express: repeated keys, NaN).  ``error`` is ``None`` for a case
that must be accepted, else ``(position, field)``: the 0-based record that is
refused (file line - 1, array index) and the field path named (``None`` for a
whole-record problem).  ``ids`` are the stored ids of an accepted case (after
id normalisation).
"""
from __future__ import annotations

from typing import Any, NamedTuple

NFC_E = "caf\u00e9"          # café, composed
NFD_E = "cafe\u0301"         # café, decomposed: the same id after NFKC


class Case(NamedTuple):
    name: str
    kind: str                          # "profile" or "demand"
    records: list[Any]                 # Python objects, or str = one raw JSON text
    error: tuple[int, str | None] | None = None
    ids: tuple[str, ...] = ()


def _p(pid: Any = "T1", **kw: Any) -> dict[str, Any]:
    """A valid teacher profile with some fields replaced."""
    rec = {"id": pid, "name": "张伟", "keywords": ["机器视觉"]}
    rec.update(kw)
    return {k: v for k, v in rec.items() if v is not _DROP}


def _d(did: Any = "D1", **kw: Any) -> dict[str, Any]:
    """A valid demand with some fields replaced."""
    rec = {"id": did, "enterprise": "E1", "title": "钢板表面缺陷检测"}
    rec.update(kw)
    return {k: v for k, v in rec.items() if v is not _DROP}


_DROP = object()

PROFILE_CASES: list[Case] = [
    # -- accepted
    Case("minimal teacher", "profile", [_p("P-ok1")], ids=("P-ok1",)),
    Case("student with major only", "profile",
         [{"id": "S-ok1", "kind": "student", "major": "化学", "grade": 2}], ids=("S-ok1",)),
    Case("kind alias and capacity as text", "profile", [_p("P-ok2", kind="教师", capacity="3")], ids=("P-ok2",)),
    Case("keywords as a ;-separated string", "profile", [_p("P-ok3", keywords="机器视觉；缺陷检测")], ids=("P-ok3",)),
    Case("full-width id is normalised", "profile", [_p("Ｐ－ｏｋ４")], ids=("P-ok4",)),
    Case("integer id", "profile", [_p(17)], ids=("17",)),
    Case("one document object, not a list", "profile",
         [_p("P-ok5", keywords=_DROP, documents={"title": "机器视觉", "text": "钢板检测", "year": "2021"})],
         ids=("P-ok5",)),
    Case("grade of a teacher is checked but dropped", "profile", [_p("P-ok6", grade=3)], ids=("P-ok6",)),
    Case("capacity 0 and unknown keys", "profile", [_p("P-ok7", capacity=0, hobby="围棋")], ids=("P-ok7",)),
    Case("NFC id", "profile", [_p(NFC_E)], ids=(NFC_E,)),
    Case("NFD id is the NFC record", "profile", [_p(NFD_E)], ids=(NFC_E,)),
    # -- refused: ids
    Case("missing id", "profile", [_p(_DROP)], error=(0, "id")),
    Case("empty id", "profile", [_p("")], error=(0, "id")),
    Case("id with a space", "profile", [_p("T 1")], error=(0, "id")),
    Case("id with a slash", "profile", [_p("a/b")], error=(0, "id")),
    Case("id with ? and #", "profile", [_p("a?b#c")], error=(0, "id")),
    Case("id '.'", "profile", [_p(".")], error=(0, "id")),
    Case("id '..'", "profile", [_p("..")], error=(0, "id")),
    Case("zero-width character in id", "profile", [_p("T\u200b1")], error=(0, "id")),
    Case("bidi override in id", "profile", [_p("T\u202e1")], error=(0, "id")),
    Case("id too long", "profile", [_p("T" * 201)], error=(0, "id")),
    Case("id true", "profile", [_p(True)], error=(0, "id")),
    # -- refused: numbers
    Case("capacity true", "profile", [_p(capacity=True)], error=(0, "capacity")),
    Case("capacity -1", "profile", [_p(capacity=-1)], error=(0, "capacity")),
    Case("capacity 'two'", "profile", [_p(capacity="two")], error=(0, "capacity")),
    Case("capacity 1.5", "profile", [_p(capacity=1.5)], error=(0, "capacity")),
    Case("capacity too large", "profile", [_p(capacity=1001)], error=(0, "capacity")),
    Case("capacity NaN", "profile", ['{"id": "T1", "keywords": ["a"], "capacity": NaN}'], error=(0, "capacity")),
    Case("grade true", "profile",
         [{"id": "S1", "kind": "student", "major": "化学", "grade": True}], error=(0, "grade")),
    Case("grade 5", "profile", [{"id": "S1", "kind": "student", "major": "化学", "grade": 5}], error=(0, "grade")),
    Case("document year in words", "profile",
         [_p(documents=[{"text": "a"}, {"text": "b", "year": "去年"}])], error=(0, "documents[1].year")),
    Case("document year true", "profile", [_p(documents=[{"text": "a", "year": True}])],
         error=(0, "documents[0].year")),
    Case("document year Infinity", "profile", ['{"id": "T1", "documents": [{"text": "a", "year": Infinity}]}'],
         error=(0, "documents[0].year")),
    # -- refused: shapes and texts
    Case("document is a number", "profile", [_p(documents=[5])], error=(0, "documents[0]")),
    Case("document without text or title", "profile", [_p(documents=[{"kind": "paper", "text": " "}])],
         error=(0, "documents[0].text")),
    Case("keyword is an object", "profile", [_p(keywords=["a", {"b": 1}])], error=(0, "keywords[1]")),
    Case("keywords is a number", "profile", [_p(keywords=5)], error=(0, "keywords")),
    Case("too many keywords", "profile", [_p(keywords=[f"k{i}" for i in range(1001)])], error=(0, "keywords")),
    Case("name with NUL", "profile", [_p(name="a\x00b")], error=(0, "name")),
    Case("unknown kind", "profile", [_p(kind="robot")], error=(0, "kind")),
    Case("no text to match on", "profile", [{"id": "T9", "name": "无"}], error=(0, None)),
    Case("not an object", "profile", ['"T3"'], error=(0, None)),
    Case("conflict id with a space", "profile", [_p(conflicts=["E 1"])], error=(0, "conflicts[0]")),
    # -- refused: strict JSON
    Case("repeated key", "profile", ['{"id": "T1", "keywords": ["a"], "capacity": 1, "capacity": 2}'],
         error=(0, "capacity")),
    Case("repeated key inside a document", "profile",
         ['{"id": "T1", "documents": [{"title": "a", "title": "b"}]}'], error=(0, "documents[0].title")),
    # -- refused: batches
    Case("duplicate ids", "profile", [_p("T1"), _p("T2"), _p("T1")], error=(2, "id")),
    Case("NFC and NFD ids are duplicates", "profile", [_p(NFC_E), _p(NFD_E)], error=(1, "id")),
    Case("full-width and ASCII ids are duplicates", "profile", [_p("T001"), _p("Ｔ００１")], error=(1, "id")),
]

DEMAND_CASES: list[Case] = [
    # -- accepted
    Case("minimal demand", "demand", [_d("D-ok1")], ids=("D-ok1",)),
    Case("teachers-only team", "demand", [_d("D-ok2", students=[0, 0])], ids=("D-ok2",)),
    Case("bounds as text", "demand", [_d("D-ok3", team_size="3-5", students="1;2", distinct_grades="2")],
         ids=("D-ok3",)),
    Case("no discipline required", "demand", [_d("D-ok4", disciplines=[])], ids=("D-ok4",)),
    Case("exact team size", "demand", [_d("D-ok5", team_size=4)], ids=("D-ok5",)),
    Case("full-width demand id", "demand", [_d("Ｄ－ｏｋ６")], ids=("D-ok6",)),
    Case("description only", "demand", [_d("D-ok7", title=_DROP, description="苹果采后保鲜")], ids=("D-ok7",)),
    # -- refused
    Case("students above team size", "demand", [_d(team_size=[3, 5], students=[2, 9])], error=(0, "students")),
    Case("students min > max", "demand", [_d(students=[3, 1])], error=(0, "students")),
    Case("students negative", "demand", [_d(students=[-1, 2])], error=(0, "students")),
    Case("students true", "demand", [_d(students=True)], error=(0, "students")),
    Case("distinct_grades 5", "demand", [_d(distinct_grades=5)], error=(0, "distinct_grades")),
    Case("distinct_grades 0", "demand", [_d(distinct_grades=0)], error=(0, "distinct_grades")),
    Case("distinct_grades true", "demand", [_d(distinct_grades=True)], error=(0, "distinct_grades")),
    Case("team_size true", "demand", [_d(team_size=True)], error=(0, "team_size")),
    Case("team_size min > max", "demand", [_d(team_size=[5, 3])], error=(0, "team_size")),
    Case("team_size 0", "demand", [_d(team_size=[0, 3])], error=(0, "team_size")),
    Case("team_size NaN", "demand", ['{"id": "D1", "title": "t", "team_size": [1, NaN]}'],
         error=(0, "team_size[1]")),
    Case("too many disciplines", "demand", [_d(disciplines=[f"学科{i}" for i in range(51)])],
         error=(0, "disciplines")),
    Case("disciplines is a number", "demand", [_d(disciplines=3)], error=(0, "disciplines")),
    Case("current_team item is a list", "demand", [_d(current_team=[["T1"]])], error=(0, "current_team[0]")),
    Case("enterprise id with a space", "demand", [_d(enterprise="E 1")], error=(0, "enterprise")),
    Case("neither title nor description", "demand", [_d(title=_DROP)], error=(0, None)),
    Case("title too long", "demand", [_d(title="x" * 2001)], error=(0, "title")),
    Case("title is a list", "demand", [_d(title=["x"])], error=(0, "title")),
    Case("zero-width demand id", "demand", [_d("D\u200d1")], error=(0, "id")),
    Case("repeated demand key", "demand", ['{"id": "D1", "title": "a", "title": "b"}'], error=(0, "title")),
]

CASES: list[Case] = PROFILE_CASES + DEMAND_CASES
