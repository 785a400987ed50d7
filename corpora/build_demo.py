"""Build the demo corpus in ``corpora/demo/``: enterprises, profiles, demands.

Run ``python -m xfd.corpora.build_demo``.  Deterministic (one seeded ``random.Random``),
so the committed output can be rebuilt byte for byte.

The setting is the imaginary 地级市 云溪市 with nine counties, a local
university (云溪学院) whose teachers, students and 科技小分队 serve the
enterprises there.  All texts are composed from hand-written fragments kept as
data in ``corpora/demo/source/`` (read by :func:`load_source`):

- ``enterprises.json``: ``[{name, county, industry (GB/T 4754 division), sector,
  business, products}]``;
- ``disciplines.json``: ``{discipline: {college, teachers, students (counts),
  majors, skills, topics}}``; a topic is one coherent line of work (any
  method x object x goal combination reads as a real title) with pain points,
  effects, keywords and an optional English ``en`` = ``[method, object, goal]``;
- ``problems.json``: ``{sector: [{disciplines the team needs, title with {p},
  description sentences with {p}}]}``;
- ``fits.json``: ``who`` (title -> substrings of business/products an enterprise
  needs), ``products`` (title -> the products it may name), ``service_sectors``
  (discipline -> sectors its teachers have served);
- ``texts.json``: city, counties, background and closing sentences, name
  characters, grade words, competitions, the standing teams' plans.

The data is built to be solvable for team formation (every listed discipline
has free teachers or students, capacity to spare), except two demands that are
hard on purpose: one needs 海洋科学, whose only teacher conflicts with that
enterprise, and one needs 核科学与技术, which nobody covers.  The script checks
both properties before writing.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from xfd.corpora import read_industries

SEED = 20251126
OUT_DIR = Path(__file__).resolve().parent / "demo"
SOURCE_DIR = OUT_DIR / "source"
#: disciplines of the two demands that are hard on purpose (see above)
HARD = ("海洋科学", "核科学与技术")


class Topic(NamedTuple):
    """One line of work: ``en`` is (method, object, goal) in English, or None."""

    methods: list[str]
    objects: list[str]
    goals: list[str]
    pains: list[str]
    effects: list[str]
    keywords: list[str]
    en: tuple[str, str, str] | None


class Discipline(NamedTuple):
    """A discipline's college, how many teachers and students to make, and their material."""

    college: str
    teachers: int
    students: int
    majors: list[str]
    skills: list[str]
    topics: list[Topic]


#: (disciplines the team needs, title with {p}, description sentences with {p})
Problem = tuple[list[str], str, list[str]]


class Source(NamedTuple):
    """The hand-written fragments of ``corpora/demo/source/`` (see the module docstring)."""

    enterprises: list[dict]
    disciplines: dict[str, Discipline]
    problems: dict[str, list[Problem]]
    who: dict[str, list[str]]
    products: dict[str, list[str]]
    service_sectors: dict[str, list[str]]
    city: str
    counties: list[str]
    backgrounds: list[str]
    closings: list[str]
    surnames: list[str]
    given: list[str]
    grade_words: dict[int, str]
    competitions: list[str]
    team_plans: list[tuple[str, list[str]]]


def _read(name: str) -> object:
    return json.loads((SOURCE_DIR / name).read_text(encoding="utf-8"))


def load_source() -> Source:
    """Read the five source files into typed tables."""
    disciplines = {
        name: Discipline(d["college"], d["teachers"], d["students"], d["majors"], d["skills"],
                         [Topic(t["methods"], t["objects"], t["goals"], t["pains"], t["effects"], t["keywords"],
                                tuple(t["en"]) if t["en"] else None) for t in d["topics"]])
        for name, d in _read("disciplines.json").items()
    }
    problems = {sec: [(p["disciplines"], p["title"], p["sentences"]) for p in probs]
                for sec, probs in _read("problems.json").items()}
    fits, texts = _read("fits.json"), _read("texts.json")
    return Source(
        enterprises=_read("enterprises.json"), disciplines=disciplines, problems=problems,
        who=fits["who"], products=fits["products"], service_sectors=fits["service_sectors"],
        city=texts["city"], counties=texts["counties"], backgrounds=texts["backgrounds"], closings=texts["closings"],
        surnames=list(texts["surnames"]), given=list(texts["given"]),
        grade_words={int(k): v for k, v in texts["grade_words"].items()}, competitions=texts["competitions"],
        team_plans=[(p["name"], p["disciplines"]) for p in texts["team_plans"]],
    )


# --------------------------------------------------------------------------- generation
class Builder:
    """Composes the records from ``src`` with one seeded random generator."""

    def __init__(self, src: Source, seed: int = SEED) -> None:
        self.src = src
        self.rng = random.Random(seed)
        self.used_names: set[str] = set()

    def name(self) -> str:
        while True:
            given = "".join(self.rng.sample(self.src.given, self.rng.choice([1, 2, 2])))
            full = self.rng.choice(self.src.surnames) + given
            if full not in self.used_names:
                self.used_names.add(full)
                return full

    # ---- documents
    def doc(self, kind: str, topic: Topic, ents: list[dict]) -> dict:
        r = self.rng
        m, o, g = r.choice(topic.methods), r.choice(topic.objects), r.choice(topic.goals)
        pain, eff = r.choice(topic.pains), r.choice(topic.effects)
        year = r.randint(2016, 2025)
        if kind == "paper":
            title = r.choice([f"基于{m}的{o}{g}研究", f"{m}在{o}{g}中的应用", f"面向{o}的{g}方法研究",
                              f"{o}{g}关键技术研究进展", f"{m}优化{o}{g}的试验研究"])
            text = r.choice([
                f"针对{o}{g}中{pain}的问题，提出了一种基于{m}的方法。试验表明，{eff}。",
                f"以{o}为对象，采用{m}研究了{g}的影响因素，建立了预测模型，{eff}。",
                f"{o}生产中普遍存在{pain}等问题。本研究结合{m}开展{g}研究，{eff}，可为同类企业提供参考。",
            ])
        elif kind == "patent":
            title = r.choice([f"一种基于{m}的{o}{g}装置", f"一种{o}{g}系统及方法", f"一种用于{o}的{g}设备"])
            text = f"本发明公开了一种{o}{g}方案，利用{m}解决{pain}的问题，{eff}。"
        elif kind == "project":
            county, city = r.choice(self.src.counties), self.src.city
            title = r.choice([f"{county}{o}{g}关键技术研究与示范", f"{city}{o}{g}技术攻关项目", f"{o}{g}产学研合作项目"])
            text = f"项目面向{city}{county}{o}产业，针对{pain}的问题，开展{m}与{g}研究与示范应用，{eff}。"
        else:  # service
            ent = r.choice(ents)
            title = f"为{ent['name']}提供{g}技术服务"
            text = r.choice([
                f"带领科技小分队驻厂调研，发现{pain}，采用{m}完成{o}{g}改进，{eff}。",
                f"为企业诊断{o}{g}问题，提出基于{m}的改进方案并协助实施，{eff}。",
            ])
        return {"kind": kind, "title": title, "text": text, "year": year}

    def doc_en(self, topic: Topic) -> dict:
        assert topic.en is not None
        m, o, g = topic.en
        title = self.rng.choice([f"{g.capitalize()} of {o} based on {m}", f"A {m} approach to {g} of {o}",
                                 f"Improving {g} of {o} with {m}"])
        text = (f"This paper studies {g} of {o} in small and medium-sized local enterprises. "
                f"A method based on {m} is proposed and validated on production data, "
                f"improving the key index by {self.rng.randint(8, 35)}% over the current practice.")
        return {"kind": "paper", "title": title, "text": text, "year": self.rng.randint(2016, 2025), "lang": "en"}

    # ---- profiles
    def teachers(self, ents: list[dict]) -> list[dict]:
        r = self.rng
        out: list[dict] = []
        disciplines = list(self.src.disciplines)
        for disc, spec in self.src.disciplines.items():
            for _ in range(spec.teachers):
                topics = r.sample(spec.topics, min(len(spec.topics), r.choice([1, 2, 2])))
                served = [e for e in ents if e["sector"] in self.src.service_sectors.get(disc, [e["sector"]])]
                docs = [self.doc(kind, r.choice(topics), served)
                        for kind in r.sample(["paper", "paper", "patent", "project", "service"], r.randint(2, 4))]
                en_topics = [t for t in topics if t.en]
                if en_topics and r.random() < 0.3:
                    docs[0] = self.doc_en(r.choice(en_topics))
                discs = [disc]
                if r.random() < 0.3:
                    other = r.choice(disciplines)
                    if other != disc and other != "海洋科学":
                        discs.append(other)
                kws: list[str] = []
                for t in topics:
                    kws += r.sample(t.keywords, min(len(t.keywords), r.randint(2, 4)))
                title = r.choices(["教授", "副教授", "讲师"], weights=[3, 4, 3])[0]
                out.append({"id": "", "name": self.name(), "kind": "teacher", "college": spec.college,
                            "title": title, "disciplines": discs, "keywords": list(dict.fromkeys(kws)),
                            "county": r.choice(self.src.counties), "capacity": r.choices([1, 2, 3], weights=[2, 6, 2])[0],
                            "conflicts": [], "documents": docs})
        r.shuffle(out)
        for i, t in enumerate(out, 1):
            t["id"] = f"T{i:03d}"
        # a few conflicts of interest (relatives, shareholdings)
        for t in r.sample(out, 12):
            t["conflicts"] = sorted(r.sample([e["id"] for e in ents], r.choice([1, 1, 2])))
        return out

    def students(self) -> list[dict]:
        r = self.rng
        out: list[dict] = []
        for disc, spec in self.src.disciplines.items():
            for k in range(spec.students):
                grade = (k % 4) + 1 if spec.students >= 4 else r.randint(1, 4)
                skills = r.sample(spec.skills, min(len(spec.skills), r.randint(2, 4)))
                topic = r.choice(spec.topics)
                rec = {"id": "", "name": self.name(), "kind": "student", "major": r.choice(spec.majors),
                       "grade": grade, "skills": skills, "disciplines": [disc],
                       "keywords": r.sample(topic.keywords, 2), "county": r.choice(self.src.counties)}
                if grade >= 2 and r.random() < 0.6:
                    o, g = r.choice(topic.objects), r.choice(topic.goals)
                    rec["documents"] = [{"kind": "statement", "title": "个人陈述",
                                         "text": r.choice([
                                             f"{self.src.grade_words[grade]}学生，参加过{r.choice(self.src.competitions)}，熟悉{'、'.join(skills)}，希望参与{o}{g}相关的企业项目。",
                                             f"跟随导师参与过{o}{g}课题，掌握{skills[0]}，对{r.choice(topic.keywords)}方向感兴趣。",
                                         ])}]
                out.append(rec)
        r.shuffle(out)
        for i, s in enumerate(out, 1):
            s["id"] = f"S{i:03d}"
        return out

    def teams(self, teachers: list[dict], students: list[dict], ents: list[dict]) -> list[dict]:
        r = self.rng
        plans = self.src.team_plans
        used: set[str] = set()
        out = []
        for k, (name, discs) in enumerate(plans, 1):
            lead = next(t for t in teachers if t["disciplines"][0] == discs[0] and t["id"] not in used)
            members = [lead["id"]]
            used.add(lead["id"])
            for d in discs:
                pool = [s for s in students if d in s["disciplines"] and s["id"] not in used]
                for s in pool[: r.choice([1, 2])]:
                    members.append(s["id"])
                    used.add(s["id"])
            topic_docs = []
            for d in discs:
                served = [e for e in ents if e["sector"] in self.src.service_sectors.get(d, [e["sector"]])]
                topic_docs.append(self.doc("service", r.choice(self.src.disciplines[d].topics), served))
            kws = list(dict.fromkeys(kw for d in discs for kw in r.choice(self.src.disciplines[d].topics).keywords[:3]))
            out.append({"id": f"G{k:02d}", "name": name, "kind": "team", "members": members,
                        "disciplines": discs, "keywords": kws, "county": r.choice(self.src.counties), "capacity": 1,
                        "documents": topic_docs})
        return out

    # ---- enterprises and demands
    def enterprises(self) -> list[dict]:
        industries = read_industries()
        section_of = {}
        section = ""
        for code in industries:
            if code.isalpha():
                section = code
            else:
                section_of[code] = section
        return [{"id": f"E{i:03d}", "name": name, "county": county, "industry": div, "section": section_of[div],
                 "industry_name": industries[div], "sector": sector, "business": business, "products": products}
                for i, (name, county, div, sector, business, products) in enumerate(
                    ((e["name"], e["county"], e["industry"], e["sector"], e["business"], e["products"])
                     for e in self.src.enterprises), 1)]

    def demands(self, ents: list[dict]) -> list[dict]:
        r = self.rng
        industries = read_industries()
        count: Counter[str] = Counter()

        def eligible(ent: dict, title: str) -> bool:
            text = ent["business"] + "".join(ent["products"])
            who, products = self.src.who, self.src.products
            if title in who and not any(w in text for w in who[title]):
                return False
            return title not in products or bool(set(products[title]) & set(ent["products"]))

        done: set[tuple[str, str]] = set()

        def pick(sec: str, title: str) -> dict | None:
            """The least-used fitting enterprise that does not have this problem yet."""
            pool = [e for e in ents if e["sector"] == sec and eligible(e, title) and (e["id"], title) not in done]
            return min(pool, key=lambda e: (count[e["id"]], r.random())) if pool else None

        jobs: list[tuple[dict, Problem]] = []

        def add(sec: str, prob: Problem) -> bool:
            ent = pick(sec, prob[1])
            if ent is None:
                return False
            count[ent["id"]] += 1
            done.add((ent["id"], prob[1]))
            jobs.append((ent, prob))
            return True

        for sec, problems in self.src.problems.items():
            for prob in problems:
                assert add(sec, prob), f"no enterprise fits {prob[1]}"
        # a second round on the larger sectors, other enterprises, to reach 60+ demands
        for sec in ["tea", "food", "textile", "machinery", "chemical", "electronics", "pharma", "agri", "buildmat"]:
            problems = list(self.src.problems[sec])
            r.shuffle(problems)
            added = 0
            for prob in problems:
                if added < 2 and add(sec, prob):
                    added += 1
        out = []
        for i, (ent, (discs, title, sentences)) in enumerate(jobs, 1):
            products = [p for p in ent["products"] if p in self.src.products.get(title, ent["products"])]
            fill = dict(p=r.choice(products), county=ent["county"], business=ent["business"], ent=ent["name"],
                        city=self.src.city, value=r.choice([800, 1500, 3000, 5000, 12000]), staff=r.choice([30, 60, 120, 260]),
                        years=r.choice([5, 8, 12, 20]), products="、".join(ent["products"]))
            body = [s.format(**fill) for s in sentences]
            if len(body) > 2 and r.random() < 0.3:  # drop one middle sentence, keep the request
                del body[r.randrange(1, len(body) - 1)]
            if r.random() < 0.75:
                body.insert(0, r.choice(self.src.backgrounds).format(**fill))
            text = "".join(body) + r.choice(self.src.closings)
            hard = discs[0] in HARD
            industry = ent["section"] if i % 11 else industries[ent["section"]]
            rec = {"id": f"D{i:03d}", "enterprise": ent["id"], "county": ent["county"], "industry": industry,
                   "title": title.format(**fill), "description": text}
            if hard or r.random() < 0.6:
                rec["disciplines"] = list(discs)
            rec["team_size"] = r.choice([[3, 5], [3, 5], [2, 4], [3, 4], [4, 6]])
            rec["_needs"] = list(discs)
            out.append(rec)
        return out


def _add_current_teams(rng: random.Random, demands: list[dict], profiles: list[dict]) -> None:
    """Give a few staffed-last-semester demands a ``current_team``."""
    teachers = [p for p in profiles if p["kind"] == "teacher"]
    students = [p for p in profiles if p["kind"] == "student"]
    candidates = [d for d in demands if "disciplines" in d and d["disciplines"][0] not in HARD]
    for d in rng.sample(candidates, 5):
        need = d["disciplines"]
        t = next(t for t in teachers if need[0] in t["disciplines"] and d["enterprise"] not in t["conflicts"])
        team = [t["id"]]
        for disc in need[1:] + need[:1]:
            s = next((s for s in students if disc in s["disciplines"] and s["id"] not in team), None)
            if s:
                team.append(s["id"])
        d["current_team"] = team[: d["team_size"][1]]


def _check(demands: list[dict], profiles: list[dict]) -> None:
    """Solvable except the hard ones: each needed discipline has free, unconflicted coverage."""
    load: Counter[str] = Counter()
    for d in demands:
        for disc in d["_needs"]:
            load[disc] += 1
    capacity: Counter[str] = Counter()
    for p in profiles:
        for disc in p.get("disciplines", []):
            capacity[disc] += p.get("capacity", 2 if p["kind"] == "teacher" else 1)
    for d in demands:
        for disc in d["_needs"]:
            ok = [p for p in profiles if disc in p.get("disciplines", []) and d["enterprise"] not in p.get("conflicts", [])]
            hard = disc in HARD
            if hard:
                assert not any(p["kind"] == "teacher" for p in ok), f"{d['id']} should be hard on {disc}"
            else:
                assert any(p["kind"] == "teacher" for p in profiles
                           if d["enterprise"] not in p.get("conflicts", [])), d["id"]
                assert ok, f"{d['id']}: nobody covers {disc}"
                assert 2 * capacity[disc] >= 3 * load[disc], f"{disc}: capacity {capacity[disc]} < 1.5 x load {load[disc]}"


def build() -> dict[str, list[dict]]:
    """Return ``{"enterprises": [...], "profiles": [...], "demands": [...]}``."""
    b = Builder(load_source())
    ents = b.enterprises()
    teachers = b.teachers(ents)
    marine_teacher = next(t for t in teachers if t["disciplines"][0] == "海洋科学")
    marine_ents = [e["id"] for e in ents if e["sector"] == "marine"]
    marine_teacher["conflicts"] = sorted(set(marine_teacher["conflicts"]) | set(marine_ents))
    students = b.students()
    teams = b.teams(teachers, students, ents)
    profiles = teachers + students + teams
    demands = b.demands(ents)
    _add_current_teams(b.rng, demands, profiles)
    _check(demands, profiles)
    for d in demands:
        del d["_needs"]
    return {"enterprises": ents, "profiles": profiles, "demands": demands}


def main() -> None:
    data = build()
    OUT_DIR.mkdir(exist_ok=True)
    for name, records in data.items():
        path = OUT_DIR / f"{name}.jsonl"
        path.write_text("".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records), encoding="utf-8")
        print(f"wrote {len(records)} records to {path}")
    kinds = Counter(p["kind"] for p in data["profiles"])
    print(f"teachers {kinds['teacher']}, students {kinds['student']}, teams {kinds['team']}, "
          f"demands {len(data['demands'])}, with disciplines {sum('disciplines' in d for d in data['demands'])}")


if __name__ == "__main__":
    main()
