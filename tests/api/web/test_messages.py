"""Form messages (``xfd.api.web.messages``): pydantic's English errors get a
Chinese text first and English alongside, the same for every form."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, field_validator

from xfd.api.errors import FieldInvalid
from xfd.api.web import messages


class Form(BaseModel):
    count: Annotated[int, Field(ge=1, le=50)] = 1
    amount: Annotated[float, Field(gt=0, lt=1e12)] = 1.0
    kind: Literal["visit", "other"] = "visit"
    day: dt.date = dt.date(2026, 1, 1)
    name: Annotated[str, Field(min_length=1, max_length=5)] = "x"
    tags: Annotated[list[str], Field(max_length=2)] = []
    need: str
    own: str = ""

    @field_validator("own")
    @classmethod
    def _own(cls, v: str) -> str:
        if v == "bad":
            raise ValueError("自己的说明 own reason")
        return v


def _text(**values) -> tuple[str, str]:
    with pytest.raises(ValidationError) as info:
        Form.model_validate({"need": "y", **values})
    first = info.value.errors()[0]
    return messages.field_of(first), messages.error_text(first)


@pytest.mark.parametrize(("values", "field", "text"), [
    ({"count": "abc"}, "count", "应为整数 must be a whole number"),
    ({"count": "2.5"}, "count", "应为整数 must be a whole number"),
    ({"count": 0}, "count", "不能小于 1 must be at least 1"),
    ({"count": 999}, "count", "不能大于 50 must be at most 50"),
    ({"amount": "x"}, "amount", "应为数字 must be a number"),
    ({"amount": 0}, "amount", "应大于 0 must be greater than 0"),
    ({"amount": 2e12}, "amount", "应小于 1000000000000 must be less than 1000000000000"),
    ({"kind": "party"}, "kind", "应为以下之一 must be one of: 'visit' or 'other'"),
    ({"day": "2026-13-40"}, "day", "应为日期，格式 YYYY-MM-DD must be a date as YYYY-MM-DD"),
    ({"name": ""}, "name", "不能为空 must not be empty"),
    ({"name": "toolong"}, "name", "最多 5 个字符 must have at most 5 characters"),
    ({"tags": ["a", "b", "c"]}, "tags", "最多 2 项 must have at most 2 items"),
    ({"own": "bad"}, "own", "自己的说明 own reason"),
])
def test_common_errors_read_chinese_first(values, field, text) -> None:
    assert _text(**values) == (field, text)


def test_a_missing_field_and_an_unknown_type() -> None:
    with pytest.raises(ValidationError) as info:
        Form.model_validate({})
    assert messages.error_text(info.value.errors()[0]) == "必填 this field is required"
    assert messages.error_text({"type": "something_new", "msg": "Odd thing"}) == "输入有误 invalid input: Odd thing"


def test_all_errors_and_parse_name_the_form_field() -> None:
    with pytest.raises(ValidationError) as info:
        Form.model_validate({"need": "y", "count": -1})
    (field, text), = messages.all_errors(list(info.value.errors())).items()
    assert field == "count" and text.startswith("不能小于 1")
    adapter = TypeAdapter(Annotated[int, Field(ge=1)])
    assert messages.parse(adapter, "3", "team_min") == 3
    with pytest.raises(FieldInvalid) as bad:
        messages.parse(adapter, "x", "team_min")
    assert bad.value.loc == ["form", "team_min"] and bad.value.message.startswith("应为整数")


def test_the_summary_of_a_malformed_request_names_each_field() -> None:
    errors = [{"type": "greater_than_equal", "loc": ("query", "page"), "msg": "…", "ctx": {"ge": 1}},
              {"type": "missing", "loc": ("form", "title"), "msg": "…"}]
    assert messages.summary(errors) == "输入有误 invalid input — page: 不能小于 1 must be at least 1; title: 必填 this field is required"


def test_all_errors_gives_every_field_its_first_error_renamed_to_the_form_field() -> None:
    errors = [{"type": "missing", "loc": ("body", "date")}, {"type": "int_parsing", "loc": ("team_size", 0)},
              {"type": "less_than_equal", "loc": ("team_size", 1), "ctx": {"le": 50}},
              {"type": "missing", "loc": ("date",)}, {"type": "value_error", "loc": (), "msg": "Value error, 整体有误 whole"}]
    fields = {"team_size[0]": "team_min", "team_size": "team_max"}
    assert messages.all_errors(errors, fields, default="title") == {
        "date": "必填 this field is required", "team_min": "应为整数 must be a whole number",
        "team_max": "不能大于 50 must be at most 50", "title": "整体有误 whole"}
    exc = messages.FormInvalid({"hours": "必填 this field is required", "kind": "x"})
    assert exc.loc == ["form", "hours"] and exc.message == "必填 this field is required" and len(exc.fields) == 2
