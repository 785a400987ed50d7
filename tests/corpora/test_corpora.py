"""The project's own corpora: discipline table, industries, jieba dictionary,
stopwords and the demo corpus (``corpora/``)."""
from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import jieba
import pytest

from xfd import corpora
from xfd.corpora import (
    DisciplineRow,
    corpus_path,
    demo_path,
    discipline_lookup,
    read_disciplines,
    read_industries,
    read_stopwords,
)

CATEGORY_OF_PREFIX = {
    "01": "哲学", "02": "经济学", "03": "法学", "04": "教育学", "05": "文学", "06": "历史学", "07": "理学",
    "08": "工学", "09": "农学", "10": "医学", "11": "军事学", "12": "管理学", "13": "艺术学", "14": "交叉学科",
}


def _jsonl(path: Path) -> list[dict]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - message for the failure
            pytest.fail(f"{path}:{number}: not JSON: {exc}")
    return records


@pytest.fixture(scope="module")
def rows() -> list[DisciplineRow]:
    return read_disciplines()


@pytest.fixture(scope="module")
def demo() -> dict[str, list[dict]]:
    return {name: _jsonl(demo_path(name)) for name in ("enterprises", "profiles", "demands")}


# ---------------------------------------------------------------- disciplines
def test_discipline_table_parses_with_unique_codes_and_names(rows: list[DisciplineRow]) -> None:
    assert len(rows) >= 110
    codes = [r.code for r in rows]
    names = [r.name for r in rows]
    assert len(set(codes)) == len(codes), [c for c, n in Counter(codes).items() if n > 1]
    assert len(set(names)) == len(names), [c for c, n in Counter(names).items() if n > 1]
    for r in rows:
        assert re.fullmatch(r"\d{4}", r.code), r
        assert CATEGORY_OF_PREFIX[r.code[:2]] == r.category, r.code
    assert {"0802", "0812", "0832", "0821", "1403"} <= set(codes)
    by_code = {r.code: r.name for r in rows}
    assert by_code["0802"] == "机械工程" and by_code["0812"] == "计算机科学与技术"


def test_every_discipline_has_15_to_40_distinct_keywords(rows: list[DisciplineRow]) -> None:
    for r in rows:
        assert 15 <= len(r.keywords) <= 40, (r.name, len(r.keywords))
        assert len(set(r.keywords)) == len(r.keywords), (r.name, [k for k, n in Counter(r.keywords).items() if n > 1])
        assert all(k and "\t" not in k for k in r.keywords), r.name


def test_aliases_are_unambiguous_except_group_names(rows: list[DisciplineRow]) -> None:
    """An alias names one row, unless it is a group name: a combined CSL label
    ("A/B", on every row it names) or a 门类 used as a discipline (on rows of that category)."""
    names = {r.name for r in rows}
    owners: dict[str, list[DisciplineRow]] = {}
    for r in rows:
        for alias in r.aliases:
            assert alias != r.name, r.name
            assert alias not in names, f"alias {alias} of {r.name} is another row's name"
            owners.setdefault(alias, []).append(r)
    for alias, rs in owners.items():
        if len(rs) > 1:
            assert "/" in alias or all(r.category == alias for r in rs), (alias, [r.name for r in rs])
        if "/" in alias:
            parts = alias.split("/")
            for r in rs:
                assert r.name in parts or any(p in r.aliases for p in parts) or r.name.startswith(parts[-1][:2]), (
                    alias, r.name)


def test_lookup_resolves_names_aliases_and_codes(rows: list[DisciplineRow]) -> None:
    lookup = discipline_lookup()
    for r in rows:
        assert lookup[r.name] == (r.name,)
        assert lookup[r.code] == (r.name,)
    assert lookup["计算机"] == ("计算机科学与技术",)
    assert lookup["化学/化学工程与技术"] == ("化学", "化学工程与技术")
    assert set(lookup["历史学"]) == {"考古学", "中国史", "世界史"}


def test_every_csl_discipline_name_resolves(shared_data: Path) -> None:
    lookup = discipline_lookup()
    mapping = json.loads((shared_data / "csl_category_to_disciplines.json").read_text(encoding="utf-8"))
    names = [name for group in mapping.values() for name in group]
    assert len(names) > 60
    missing = [name for name in names if name not in lookup]
    assert not missing, missing
    for name in names:
        if "/" in name:  # a combined label resolves to each part that is itself a discipline
            for part in name.split("/"):
                if part in lookup and len(lookup[part]) == 1:
                    assert lookup[part][0] in lookup[name], (name, part)


# ---------------------------------------------------------------- industries
def test_industries_sections_and_divisions() -> None:
    industries = read_industries()
    sections = [c for c in industries if c.isalpha()]
    divisions = [c for c in industries if c.isdigit()]
    assert sections == list("ABCDEFGHIJKLMNOPQRST")
    assert divisions == [f"{i:02d}" for i in range(1, 98)]
    assert industries["C"] == "制造业" and industries["15"] == "酒、饮料和精制茶制造业"


def test_industries_agree_with_the_published_codes(shared_data: Path) -> None:
    with (shared_data / "gbt4754_2017_industry_codes.csv").open(encoding="utf-8") as f:
        published = {r["code"]: r["name"] for r in csv.DictReader(f) if r["level"] in ("1", "2")}
    assert read_industries() == published


# ---------------------------------------------------------------- jieba dictionary, stopwords
def test_jieba_dict_format_and_coverage(rows: list[DisciplineRow]) -> None:
    entries = {}
    for number, line in enumerate(corpus_path("jieba_dict.txt").read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split(" ")
        assert len(parts) == 3 and parts[1].isdigit() and int(parts[1]) > 0 and parts[2], (number, line)
        assert parts[0] not in entries, f"duplicate {parts[0]}"
        entries[parts[0]] = int(parts[1])
    assert len(entries) >= 2000
    for r in rows:
        assert r.name in entries, r.name
        for kw in r.keywords:
            if len(kw) >= 2 and " " not in kw:
                assert kw in entries, (r.name, kw)
    for term in ("工艺优化", "废水处理", "数控机床", "深度学习", "图像识别", "发酵工艺", "锂电池", "注塑模具", "PLC", "物联网"):
        assert term in entries, term


def test_jieba_keeps_domain_terms_whole() -> None:
    tk = jieba.Tokenizer()
    tk.load_userdict(str(corpus_path("jieba_dict.txt")))
    tokens = tk.lcut("我司注塑模具出现翘曲变形，希望通过工艺优化和机器视觉缺陷检测提高良品率")
    for term in ("注塑模具", "翘曲变形", "工艺优化", "机器视觉", "缺陷检测", "良品率"):
        assert term in tokens, tokens


def test_stopwords_cover_filler_but_no_domain_term(rows: list[DisciplineRow]) -> None:
    stop = read_stopwords()
    for word in ("的", "了", "和", "及", "进行", "研究", "本文", "提出", "结果表明", "the", "of"):
        assert word in stop, word
    lines = corpus_path("stopwords.txt").read_text(encoding="utf-8").splitlines()
    assert all(line and line == line.strip() and " " not in line and not line.startswith("#") for line in lines)
    assert len(set(lines)) == len(lines) and len(lines) >= 300
    domain = {r.name for r in rows} | {k for r in rows for k in r.keywords} | set(read_industries().values())
    assert not stop & domain, sorted(stop & domain)


# ---------------------------------------------------------------- helpers
def test_corpus_path_names_a_missing_file() -> None:
    with pytest.raises(FileNotFoundError, match="no_such_file.tsv"):
        corpus_path("no_such_file.tsv")
    assert demo_path("profiles") == demo_path("profiles.jsonl")
    assert corpora.corpus_path("disciplines.tsv").is_file()


# ---------------------------------------------------------------- demo corpus
def test_demo_enterprises(demo: dict[str, list[dict]]) -> None:
    ents = demo["enterprises"]
    industries = read_industries()
    assert len(ents) >= 40
    assert len({e["id"] for e in ents}) == len(ents)
    assert len({e["county"] for e in ents}) == 9
    for e in ents:
        assert re.fullmatch(r"E\d{3}", e["id"]) and e["name"] and e["county"], e
        assert e["industry"] in industries and e["section"] in industries, e


def test_demo_profiles(demo: dict[str, list[dict]], rows: list[DisciplineRow]) -> None:
    profiles = demo["profiles"]
    names = {r.name for r in rows}
    ent_ids = {e["id"] for e in demo["enterprises"]}
    ids = [p["id"] for p in profiles]
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]
    by_id = {p["id"]: p for p in profiles}
    kinds = Counter(p["kind"] for p in profiles)
    assert kinds["teacher"] >= 110 and kinds["student"] >= 120 and 6 <= kinds["team"] <= 10, kinds
    teacher_disciplines = {p["disciplines"][0] for p in profiles if p["kind"] == "teacher"}
    assert len(teacher_disciplines) >= 12
    english = 0
    for p in profiles:
        assert p["disciplines"] and set(p["disciplines"]) <= names, (p["id"], p["disciplines"])
        assert set(p.get("conflicts", [])) <= ent_ids, p["id"]
        if p["kind"] == "teacher":
            assert p["college"] and p["title"] in ("教授", "副教授", "讲师") and p["capacity"] >= 1, p["id"]
            assert 2 <= len(p["documents"]) <= 4, p["id"]
            for doc in p["documents"]:
                assert doc["kind"] in ("paper", "patent", "project", "service") and doc["title"] and doc["text"], p["id"]
                assert 2016 <= doc["year"] <= 2025, p["id"]
                english += doc.get("lang") == "en"
        elif p["kind"] == "student":
            assert p["major"] and p["skills"] and p["grade"] in (1, 2, 3, 4), p["id"]
        else:
            assert p["members"], p["id"]
            for member in p["members"]:
                assert by_id[member]["kind"] in ("teacher", "student"), (p["id"], member)
            assert any(by_id[m]["kind"] == "teacher" for m in p["members"]), p["id"]
    assert {p["grade"] for p in profiles if p["kind"] == "student"} == {1, 2, 3, 4}
    assert english >= 5
    assert sum(bool(p.get("conflicts")) for p in profiles) >= 5


def test_demo_demands(demo: dict[str, list[dict]], rows: list[DisciplineRow]) -> None:
    demands = demo["demands"]
    names = {r.name for r in rows}
    industries = read_industries()
    ents = {e["id"]: e for e in demo["enterprises"]}
    profiles = {p["id"]: p for p in demo["profiles"]}
    assert len(demands) >= 60
    assert len({d["id"] for d in demands}) == len(demands)
    for d in demands:
        assert d["title"] and d["description"], d["id"]
        assert 2 <= d["description"].count("。") <= 6, (d["id"], d["description"])
        assert d["enterprise"] in ents and d["county"] == ents[d["enterprise"]]["county"], d["id"]
        assert d["industry"] in industries or d["industry"] in industries.values(), d["id"]
        assert set(d.get("disciplines", [])) <= names, (d["id"], d.get("disciplines"))
        low, high = d["team_size"]
        assert 1 <= low <= high, d["id"]
        for member in d.get("current_team", []):
            assert member in profiles and d["enterprise"] not in profiles[member].get("conflicts", []), (d["id"], member)
    with_disc = sum("disciplines" in d for d in demands)
    assert 0 < with_disc < len(demands)
    assert sum("current_team" in d for d in demands) >= 3
    assert len({d["title"] for d in demands}) >= 0.9 * len(demands)


def test_demo_is_solvable_except_the_hard_demands(demo: dict[str, list[dict]]) -> None:
    """Every listed discipline is covered by someone free of conflict, with a
    teacher available; the 海洋科学 demand has no free teacher for it."""
    profiles = [p for p in demo["profiles"] if p["kind"] != "team"]
    hard = []
    for d in demo["demands"]:
        usable = [p for p in profiles if d["enterprise"] not in p.get("conflicts", [])]
        assert any(p["kind"] == "teacher" for p in usable), d["id"]
        for disc in d.get("disciplines", []):
            if not any(disc in p["disciplines"] for p in usable):
                hard.append((d["id"], disc))
    assert {disc for _, disc in hard} == {"海洋科学", "核科学与技术"}, hard
    assert any(disc in p["disciplines"] for p in profiles for disc in ["海洋科学"])  # a teacher exists, conflicted


def test_demo_output_is_what_the_script_builds(demo: dict[str, list[dict]]) -> None:
    from xfd.corpora.build_demo import build

    assert build() == demo
