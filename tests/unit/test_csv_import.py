"""CSV reading for imports: encodings, delimiters, line endings, broken rows, mapping and row validation."""

from __future__ import annotations

import codecs
import io
from datetime import UTC, datetime

import pytest
from email_validator import validate_email

from mautic_app.domain import csv_import as csvi
from mautic_app.domain.fields import CORE_COMPANY_FIELDS, CORE_CONTACT_FIELDS

CONTACT = {s.alias: s for s in CORE_CONTACT_FIELDS}
COMPANY = {s.alias: s for s in CORE_COMPANY_FIELDS}


def records(data: bytes, start: int = 0, **dialect) -> list[csvi.Record]:
    return list(csvi.iter_records(io.BytesIO(data), start, csvi.Dialect(**dialect)))


def cells(data: bytes, **dialect) -> list[list[str] | None]:
    return [r.cells for r in records(data, **dialect)]


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize(("data", "expected"), [
    ("email,name\na@example.com,Zoë\n".encode(), "utf-8"),
    (codecs.BOM_UTF8 + b"email\n", "utf-8"),
    (b"email,name\na@example.com,Ada\n", "utf-8"),
    ("email;name\na@example.com;Besançon\nb@example.com;São Paulo\n".encode("cp1252"), "cp1252"),
    ("email,name\na@example.com,Иван Петров\nb@example.com,Москва\n".encode("cp1251"), "cp1251"),
    ("email,name\na@example.com,Gödel\n".encode("utf-16"), "utf-16"),
    ("email,name\na@example.com,Gödel\n".encode("utf-16-le"), "utf-16-le"),
    ("email,name\na@example.com,Gödel\n".encode("utf-32"), "utf-32"),
    # Mostly UTF-8 with one broken line: still UTF-8, so only that row fails.
    ("email,name\na@example.com,Zoë\n".encode() + b"b@example.com,\xff\xfe\n" + "c@example.com,Chloé\n".encode(), "utf-8"),
])
def test_detect_encoding(data, expected):
    assert csvi.detect_encoding(data) == expected


def test_wide_encodings_are_transcoded_to_utf8():
    out = io.BytesIO()
    csvi.transcode_to_utf8(io.BytesIO("email\rgödel@example.com\r".encode("utf-16")), out, "utf-16")
    assert out.getvalue() == "email\rgödel@example.com\r".encode()
    assert csvi.is_wide("UTF-16") and not csvi.is_wide("cp1252")


@pytest.mark.parametrize(("head", "fragment"), [
    (b"PK\x03\x04\x14\x00", "Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1", "Excel"),
    (b"%PDF-1.7", "PDF"),
    (b"\x89PNG\r\n", "image"),
    (b"email\x00name\n", "binary"),
    (bytes(range(1, 32)) * 4, "binary"),
])
def test_binary_files_are_refused(head, fragment):
    assert fragment in csvi.binary_reason(head)


def test_text_is_not_binary():
    assert csvi.binary_reason(b"email,name\r\na@example.com,\tAda\r\n") is None


# ---------------------------------------------------------------- format


@pytest.mark.parametrize(("sample", "delimiter"), [
    (b"email,name,city\na@x.com,A,Paris\n", ","),
    (b"email;name;city\na@x.com;A;Paris, France\n", ";"),
    (b"email\tname\na@x.com\tA\n", "\t"),
    (b"email|name\na@x.com|A\n", "|"),
    (b'"email";"name"\r"a@x.com";"Ann, Jr"\r', ";"),
    (b"email\na@x.com\n", ","),
])
def test_suggest_delimiter(sample, delimiter):
    assert csvi.suggest_delimiter(sample) == delimiter


def test_newlines():
    assert csvi.detect_newline(b"a,b\rc,d\r") == b"\r"
    assert csvi.detect_newline(b"a,b\r\nc,d\r\n") == b"\n"
    assert csvi.detect_newline(b"a,b") == b"\n"


def test_line_endings_all_read_the_same():
    expected = [["a", "b"], ["1", "2"], ["3", "4"]]
    assert cells(b"a,b\n1,2\n3,4\n") == expected
    assert cells(b"a,b\r\n1,2\r\n3,4") == expected
    assert cells(b"a,b\r1,2\r3,4\r", newline=b"\r") == expected


def test_quoted_cells_span_lines_and_escapes():
    data = b'a,b\r\n1,"two\r\nlines"\r\n2,"say \\"hi\\""\r\n3,"x ""y"""\r\n'
    assert cells(data) == [["a", "b"], ["1", "two\nlines"], ["2", 'say "hi"'], ["3", 'x "y"']]
    assert cells(b"a;b\r1;C:\\Users\\x\r", delimiter=";", newline=b"\r")[1] == ["1", "C:\\Users\\x"]


def test_broken_quoting_fails_one_line_and_reading_resumes():
    rows = records(b'a,b\n1,"x"y\n2,"unclosed\n3,ok\n4,"fine"\n')
    assert [r.cells for r in rows] == [["a", "b"], None, None, ["3", "ok"], ["4", "fine"]]
    assert "quoting" in rows[1].error and rows[1].raw == '1,"x"y'
    assert rows[2].raw == '2,"unclosed'


def test_invalid_utf8_half_way_fails_only_that_row():
    good = "".join(f"p{i}@example.com,Zoë {i}\n" for i in range(5000)).encode()
    data = b"email,name\n" + good + b"bad@example.com,\xc3\x28oops\n" + good
    assert len(good) > csvi.SNIFF_BYTES and csvi.detect_encoding(data[:csvi.SNIFF_BYTES]) == "utf-8"
    rows = records(data)
    bad = [r for r in rows if r.error]
    assert len(rows) == 10_002 and len(bad) == 1
    assert "not valid utf-8" in bad[0].error and "0xc3" in bad[0].error
    assert bad[0].raw == "bad@example.com,\ufffd(oops"
    assert rows[-1].cells == ["p4999@example.com", "Zoë 4999"]


def test_nul_and_overlong_rows_are_rejected(monkeypatch):
    monkeypatch.setattr(csvi, "MAX_LINE_BYTES", 64)
    monkeypatch.setattr(csvi, "READ_CHUNK", 16)
    rows = records(b"a,b\n1,\x002\n" + b"x" * 200 + b"\n3,4\n")
    assert [r.cells for r in rows] == [["a", "b"], None, None, ["3", "4"]]
    assert "NUL" in rows[1].error and "longer than" in rows[2].error


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_records_are_the_same_whatever_the_read_chunk(monkeypatch, chunk):
    data = codecs.BOM_UTF8 + b'email,name\r\na@x.com,"multi\r\nline"\r\n\r\nb@x.com,B\r\nc@x.com,"C ""q"""'
    monkeypatch.setattr(csvi, "READ_CHUNK", chunk)
    got = records(data)
    assert [r.cells for r in got] == [["email", "name"], ["a@x.com", "multi\nline"], [], ["b@x.com", "B"], ["c@x.com", 'C "q"']]
    assert got[0].start == 3 and got[-1].end == len(data)


def test_resuming_from_a_record_end_gives_the_rest():
    data = b'h1,h2\n1,"a\nb"\n2,c\n3,d\n'
    first = records(data)
    for i, r in enumerate(first):
        assert [x.cells for x in records(data, start=r.end)] == [x.cells for x in first[i + 1:]]


def test_header_reading():
    headers, end = csvi.read_header(io.BytesIO(b"\n Email ,,Email,email\n1,2,3,4\n"), csvi.Dialect())
    assert headers == ["Email", "Column 2", "Email (2)", "email (3)"] and end == 22
    with pytest.raises(csvi.RowError):
        csvi.read_header(io.BytesIO(b"\n\n"), csvi.Dialect())


# ---------------------------------------------------------------- mapping


def test_suggest_mapping_matches_aliases_labels_specials_and_synonyms():
    headers = ["E-mail Address", "First Name", "last_name", "Company Name", "company", "Zip", "date_added", "Last Active",
               "IP Address", "Tags", "Owner", "id", "Points", "Stage", "do not email", "Notes", "email"]
    assert csvi.suggest_mapping(headers, CORE_CONTACT_FIELDS, CORE_COMPANY_FIELDS) == {
        "E-mail Address": "email", "First Name": "firstname", "last_name": "lastname", "Company Name": "companyname",
        "company": "company", "Zip": "zipcode", "date_added": "dateAdded", "Last Active": "lastActive", "IP Address": "ip",
        "Tags": "tags", "Owner": "ownerusername", "id": "id", "Points": "points", "Stage": "stage", "do not email": "doNotEmail",
    }


def test_mapping_targets_offer_each_thing_once():
    values = [t["value"] for t in csvi.mapping_targets(CORE_CONTACT_FIELDS, CORE_COMPANY_FIELDS)]
    assert len(values) == len(set(values))
    assert {"email", "companyname", "tags", "points", "lastActive"} <= set(values) and "last_active" not in values


# ---------------------------------------------------------------- rows

HEADERS = ["email", "first", "country", "company", "tags", "ip", "dnc", "points", "added", "id", "stage", "owner"]
MAPPING = {"email": "email", "first": "firstname", "country": "country", "company": "companyname", "tags": "tags", "ip": "ip",
           "dnc": "doNotEmail", "points": "points", "added": "dateAdded", "id": "id", "stage": "stage", "owner": "ownerusername"}


def parse(*cells: str):
    return csvi.RowParser(HEADERS, MAPPING, CONTACT, COMPANY).parse(list(cells))


def test_row_with_every_kind_of_column():
    row = parse("Ada@Example.COM", " Ada ", "fr", "Initech", "vip| webinar |vip", "192.0.2.1, 2001:DB8::1", "yes", "12",
                "2020-01-02 03:04:05", "42", "Lead", "sales")
    assert row.values == {"email": "Ada@example.com", "firstname": "Ada", "country": "France"}
    assert row.company == {"companyname": "Initech"}
    assert row.tags == ["vip", "webinar"] and row.ips == ["192.0.2.1", "2001:db8::1"]
    assert (row.do_not_email, row.points, row.contact_id, row.stage, row.owner) == (True, 12, 42, "Lead", "sales")
    assert row.dates == {"date_added": datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)}


def test_tags_split_on_pipes_and_commas_alike():
    """The mapping and the import's own tag option both say "| or commas": a file may use either."""
    assert parse("a@example.com", "", "", "", "vip, webinar|trial").tags == ["vip", "webinar", "trial"]


def test_empty_cells_are_left_out_and_null_clears():
    row = parse("a@example.com", "", "NULL")
    assert row.values == {"email": "a@example.com", "country": None}
    assert row.tags == [] and row.do_not_email is None


def test_empty_row_is_skipped_and_blank_mapped_columns_fail():
    assert parse() is None and parse("", "  ") is None
    with pytest.raises(csvi.RowError, match="Every mapped column is empty"):
        csvi.RowParser(["email", "note"], {"email": "email"}, CONTACT, COMPANY).parse(["", "just a note"])


def test_column_count():
    assert parse("a@example.com", *[""] * 11, "", " ").values == {"email": "a@example.com"}  # empty extras are fine
    with pytest.raises(csvi.RowError, match="14 columns but the header has 12"):
        parse("a@example.com", *[""] * 11, "", "surprise")


@pytest.mark.parametrize(("cells", "fragment"), [
    (("not-an-email",), 'Column "email" (Email): Enter a valid e-mail address.'),
    (("a@example.com", "", "Atlantis"), "Choose a country"),
    (("a@example.com", "x" * 192), "under 191"),
    (("a@example.com", "", "", "", "", "300.1.1.1"), "IP addresses"),
    (("a@example.com", "", "", "", "", "", "maybe"), "Use 1 or 0"),
    (("a@example.com", "", "", "", "", "", "", "99999999999"), "too large"),
    (("a@example.com", "", "", "", "", "", "", "", "yesterday"), "Enter a date"),
    (("a@example.com", "", "", "", "", "", "", "", "", "-3"), "positive whole number"),
])
def test_invalid_values_name_the_column_and_field(cells, fragment):
    with pytest.raises(csvi.RowError) as err:
        parse(*cells)
    assert fragment in str(err.value)


def test_all_errors_of_a_row_are_reported_together():
    with pytest.raises(csvi.RowError) as err:
        parse("nope", "", "Atlantis")
    assert "Email" in str(err.value) and "Country" in str(err.value)


@pytest.mark.parametrize("address", [
    "Ada@Example.COM", "first.last+tag@sub.example.co.uk", "x_y-z%1@a-b.io", "UPPER@EXAMPLE.ORG", "a@b.cd",
])
def test_fast_email_agrees_with_the_validator(address):
    assert csvi.fast_email(address) == validate_email(address, check_deliverability=False).normalized


@pytest.mark.parametrize("address", ["a@localhost", "a@x.test", "a@xn--bcher-kva.example", "a..b@example.com", "ünï@example.com",
                                     "a@example", "a@-x.com"])
def test_fast_email_leaves_unusual_addresses_to_the_validator(address):
    assert csvi.fast_email(address) is None


# ---------------------------------------------------------------- export


@pytest.mark.parametrize(("cell", "expected"), [
    ("=1+2", "'=1+2"), ("+33 1 23", "'+33 1 23"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Ada", "Ada"), ("a=b", "a=b"), ("", ""),
])
def test_neutralise_formulas(cell, expected):
    assert csvi.neutralise(cell) == expected
