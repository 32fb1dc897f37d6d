"""services.bulk's array statements: one text for any number of rows, so PostgreSQL parses and plans it once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from mautic_app.services import bulk


def _sql(select: sa.Select) -> tuple[str, dict]:
    compiled = select.compile(dialect=postgresql.dialect())
    return str(compiled), compiled.params


def test_the_statement_is_the_same_whatever_the_number_of_rows():
    few, few_params = _sql(bulk.unnested(id=([1, 2], sa.Integer()), city=(["Oslo", "Rome"], sa.String())))
    many, many_params = _sql(bulk.unnested(id=(list(range(500)), sa.Integer()), city=(["Bonn"] * 500, sa.String())))
    assert few == many
    assert sorted(map(len, many_params.values())) == [500, 500]  # one array parameter per column


def test_json_travels_as_text_and_is_cast_back():
    sql, params = _sql(bulk.unnested(details=([{"a": 1}, None], sa.JSON())))
    assert "CAST(unnest(" in sql and "AS JSON)" in sql
    assert list(params.values()) == [['{"a": 1}', "null"]]
