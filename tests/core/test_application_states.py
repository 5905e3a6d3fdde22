"""A refused application move names the states as people read them: the clerk accepting an
approved application was told "申请状态为 approved，不能变为 accepted" (the API's 409 title)."""

from __future__ import annotations

import datetime as dt

import pytest

from govcred.core import models
from govcred.core.exceptions import Conflict

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


def test_a_refused_move_names_both_states_in_chinese():
    app = models.Application(schema="zj-residence/application@1", channel="online", document={})
    app.state = models.APPROVED
    with pytest.raises(Conflict) as refused:
        app.submit(NOW)
    assert refused.value.code == "INVALID_STATE"
    assert refused.value.message == "申请状态为“已批准”，不能变为“已提交，待受理”"
