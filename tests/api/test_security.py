"""Keys and accounts are bound to enterprise/profile ids under the one id rule of the file
readers (NFKC, stripped): a full-width ``Ｔ００１`` binds the teacher ``T001`` the profiles file
names, so that teacher sees their teams; ids the rule refuses are errors naming the field."""
from __future__ import annotations

import pytest

from xfd.api import crud
from xfd.api.accounts import AccountError, create_user
from xfd.api.security import KeyError_, bound_record_id, create_key, lookup_key
from xfd.api.storage.models import Enterprise
from xfd.matching.types import Profile


@pytest.mark.parametrize(("raw", "expected"), [
    ("Ｔ００１", "T001"), (" E017 ", "E017"), ("ｅ１７", "e17"), ("T 001", None), ("a/b", None),
    ("T\x00", None), ("..", None), ("x" * 201, None), ("张伟", "张伟"),
])
def test_bound_record_id_is_the_file_readers_rule(raw: str, expected: str | None) -> None:
    assert bound_record_id(raw) == expected


def test_a_full_width_teacher_key_is_bound_to_the_half_width_profile(session) -> None:
    row, plaintext = create_key(session, "teacher", profile="Ｔ００１")
    session.commit()
    assert row.profile_id == "T001"
    assert lookup_key(session, plaintext).profile_id == "T001"


def test_a_full_width_enterprise_key_names_one_enterprise_row(session) -> None:
    create_key(session, "enterprise", enterprise="Ｅ０１７")
    create_key(session, "enterprise", enterprise="E017")
    session.commit()
    assert [e.id for e in session.query(Enterprise).all()] == ["E017"]


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"role": "teacher", "profile": "T 001"}, "profile: 人员编号无效 invalid profile id 'T 001'"),
    ({"role": "enterprise", "enterprise": "E/1"}, "enterprise: 企业编号无效 invalid enterprise id 'E/1'"),
])
def test_a_refused_binding_names_the_field_and_the_value_given(session, kwargs, needle) -> None:
    with pytest.raises(KeyError_, match=needle):
        create_key(session, **kwargs)


def test_an_account_bound_to_a_full_width_profile_finds_the_teacher(session) -> None:
    crud.upsert_profiles(session, [Profile(id="T001", kind="teacher", keywords=("机器视觉",))])
    user = create_user(session, "teacher", "zhang", "a-long-password-1", profile="Ｔ００１")
    assert user.profile_id == "T001"
    ent = create_user(session, "enterprise", "e17", "a-long-password-1", enterprise="Ｅ０１７")
    assert ent.enterprise_id == "E017"
    with pytest.raises(AccountError) as err:
        create_user(session, "teacher", "li", "a-long-password-1", profile="T 001")
    assert err.value.field == "profile"
