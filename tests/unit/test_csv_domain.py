"""The pure CSV pieces: encodings, delimiters, line ends, mapping suggestions, formula neutralising."""

from __future__ import annotations

import io

from mautic_app.domain import csv_import as csvi
from mautic_app.domain.fields import CORE_COMPANY_FIELDS, CORE_CONTACT_FIELDS


def records(data: bytes, **dialect):
    d = csvi.Dialect(**({"delimiter": ",", "encoding": "utf-8", "newline": csvi.detect_newline(data)} | dialect))
    f = io.BytesIO(data)
    headers, start = csvi.read_header(f, d)
    return headers, list(csvi.iter_records(f, start, d))


def test_encodings_are_detected():
    assert csvi.detect_encoding("email,name\nа@b.co,Jürgen\n".encode()) in ("utf-8", "utf-8-sig")
    bom = b"\xef\xbb\xbfemail\nx@example.com\n"
    assert records(bom, encoding=csvi.detect_encoding(bom))[0] == ["email"]  # the BOM is not part of the header
    assert csvi.detect_encoding("email;nom\nx@y.fr;Hélène Noël\n".encode("cp1252")).lower() in ("cp1252", "windows-1252", "latin-1", "iso-8859-1")


def test_semicolons_and_classic_mac_line_ends():
    data = b"email;firstname\rann@example.com;Ann\rbob@example.com;Bob\r"
    assert csvi.suggest_delimiter(data) == ";"
    headers, rows = records(data, delimiter=";")
    assert headers == ["email", "firstname"]
    assert [r.cells for r in rows] == [["ann@example.com", "Ann"], ["bob@example.com", "Bob"]]


def test_invalid_utf8_half_way_rejects_only_that_row():
    data = b"email,firstname\nann@example.com,Ann\nbad@example.com,\xff\xfe\xfa\nbob@example.com,Bob\n"
    _, rows = records(data)
    assert rows[0].cells and rows[2].cells
    assert rows[1].cells is None and rows[1].error


def test_mapping_suggestions_from_headers():
    headers = ["E-mail", "First Name", "last_name", "Company Name", "tags", "doNotEmail", "Mystery"]
    mapping = csvi.suggest_mapping(headers, CORE_CONTACT_FIELDS, CORE_COMPANY_FIELDS)
    assert mapping["E-mail"] == "email" and mapping["First Name"] == "firstname" and mapping["last_name"] == "lastname"
    assert mapping["tags"] == "tags" and mapping["doNotEmail"] == "doNotEmail"
    assert not mapping.get("Mystery")


def test_formulas_are_neutralised():
    for cell in ("=SUM(A1)", "+1", "-2", "@cmd", "\tx", "\rx"):
        assert csvi.neutralise(cell).startswith("'")
    assert csvi.neutralise("plain") == "plain"


def test_binary_files_are_refused():
    assert csvi.binary_reason(b"PK\x03\x04 zip archive")
    assert csvi.binary_reason(b"email\nx@y.co\n") is None
