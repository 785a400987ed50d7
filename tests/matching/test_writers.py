"""``matching.writers``: bytes written atomically, and several outputs all or nothing
(``OutputBatch``) — on a failing write, on a failing rename midway, and on success."""
from __future__ import annotations

import json
import os

import pytest

from xfd.matching import writers
from xfd.matching.writers import OutputBatch, write_bytes_atomic


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_bytes_are_written_atomically_and_replace_the_old_file(tmp_path):
    path = tmp_path / "w.xlsx"
    path.write_bytes(b"old")
    write_bytes_atomic(path, b"PK\x03\x04new")
    assert path.read_bytes() == b"PK\x03\x04new" and _names(tmp_path) == ["w.xlsx"]


def test_a_batch_writes_every_output(tmp_path):
    plan, book = tmp_path / "plan.json", tmp_path / "plan.xlsx"
    book.write_bytes(b"last semester")
    with OutputBatch() as batch:
        batch.add_json(plan, {"objective": 1.5, "teams": []})
        assert batch.add_lines(tmp_path / "s.jsonl", ['{"a": 1}', '{"a": 2}']) == 2
        batch.add_bytes(book, b"new book")
        assert not plan.exists() and book.read_bytes() == b"last semester"  # nothing visible before the commit
        batch.commit()
    assert json.loads(plan.read_text(encoding="utf-8")) == {"objective": 1.5, "teams": []}
    assert (tmp_path / "s.jsonl").read_text(encoding="utf-8") == '{"a": 1}\n{"a": 2}\n'
    assert book.read_bytes() == b"new book"
    assert _names(tmp_path) == ["plan.json", "plan.xlsx", "s.jsonl"]  # no temporary or backup file left
    assert batch.failed is None


def test_a_failing_second_output_writes_neither(tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    plan, bad = tmp_path / "plan.json", tmp_path / "afile" / "plan.xlsx"
    with pytest.raises(NotADirectoryError), OutputBatch() as batch:
        batch.add_json(plan, {"objective": 0})
        batch.add_bytes(bad, b"book")
    assert batch.failed == bad
    assert _names(tmp_path) == ["afile"]  # the first output's temporary file is gone too


def test_leaving_the_block_without_commit_writes_nothing(tmp_path):
    with OutputBatch() as batch:
        batch.add_json(tmp_path / "a.json", [1])
    assert _names(tmp_path) == []


def test_a_rename_failing_midway_puts_the_first_output_back(tmp_path, monkeypatch):
    first, second, third = tmp_path / "a.json", tmp_path / "b.xlsx", tmp_path / "c.json"
    first.write_text('"old a"\n', encoding="utf-8")
    real_replace = os.replace

    def replace(src, dst):
        if os.fspath(dst) == os.fspath(third):
            raise PermissionError(13, "Permission denied", os.fspath(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(writers.os, "replace", replace)
    with pytest.raises(PermissionError), OutputBatch() as batch:
        batch.add_json(first, "new a")
        batch.add_bytes(second, b"new b")
        batch.add_json(third, "new c")
        batch.commit()
    assert batch.failed == third
    assert first.read_text(encoding="utf-8") == '"old a"\n'  # the old file, put back
    assert _names(tmp_path) == ["a.json"]  # b did not exist before: removed again; no temporaries
