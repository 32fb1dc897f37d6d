"""Reading marketers' CSV files for the contact import. Pure: files in, rows out, no database.

Real-world files are messy (spec/contacts.md): `;` delimiters, classic Mac line endings,
cp1252 or UTF-16 from spreadsheets, a bad byte half way through an otherwise UTF-8 file.
So records are cut from the raw bytes line by line (a bounded buffer, resumable from any
record boundary by byte offset) and each line is decoded on its own: a line that does not
decode fails only its own row, with a reason, and the rest of the file carries on.
"""

from __future__ import annotations

import codecs
import csv
import ipaddress
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import charset_normalizer
from email_validator import SPECIAL_USE_DOMAIN_NAMES

from mautic_app.domain.fields import MAX_TEXT, FieldSpec, FieldValueError, normalize_value

SNIFF_BYTES = 64 * 1024
READ_CHUNK = 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
RAW_LIMIT = 1000
DELIMITERS = (",", ";", "\t", "|")
WIDE_ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
INT32 = 2**31 - 1

# Columns that are not plain contact fields (spec/contacts.md, "Special columns").
SPECIAL_COLUMNS: dict[str, str] = {
    "id": "Contact ID (updates that contact)",
    "dateAdded": "Date added",
    "dateModified": "Date modified",
    "lastActive": "Date last active",
    "dateIdentified": "Date identified",
    "ip": "IP addresses (comma separated)",
    "points": "Points (new contacts only)",
    "stage": "Stage (by name)",
    "doNotEmail": "Do not e-mail",
    "ownerusername": "Owner username",
    "tags": "Tags (separated by | or commas)",
}
# Contact fields a special column stands for, hidden from the targets to avoid a choice between twins.
_SHADOWED_FIELDS = {"points", "last_active"}
_SYNONYMS = {
    "emailaddress": "email", "mail": "email", "givenname": "firstname", "forename": "firstname",
    "surname": "lastname", "familyname": "lastname", "zip": "zipcode", "postcode": "zipcode",
    "postalcode": "zipcode", "cell": "mobile", "cellphone": "mobile", "mobilephone": "mobile",
    "telephone": "phone", "jobtitle": "position", "ipaddress": "ip", "ipaddresses": "ip",
    "owner": "ownerusername", "tag": "tags", "contactid": "id", "stagename": "stage",
}
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}
_SPECIAL_USE_TLDS = frozenset(SPECIAL_USE_DOMAIN_NAMES)  # all single labels (arpa, test, ...)
_DATETIME = FieldSpec(alias="datetime", label="Date", type="datetime")
_EMAIL_FAST = re.compile(
    r"[A-Za-z0-9_%+\-]{1,64}(?:\.[A-Za-z0-9_%+\-]{1,64})*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_BINARY_MAGIC = {
    b"PK\x03\x04": "This is a zip or Excel (.xlsx) file. Save it as CSV and upload that.",
    b"\xd0\xcf\x11\xe0": "This is an old Excel (.xls) or Office file. Save it as CSV and upload that.",
    b"%PDF": "This is a PDF file, not a CSV file.",
    b"\x89PNG": "This is an image, not a CSV file.",
    b"\xff\xd8\xff": "This is an image, not a CSV file.",
    b"GIF8": "This is an image, not a CSV file.",
    b"\x1f\x8b": "This is a compressed (gzip) file. Uncompress it and upload the CSV file.",
}


class RowError(ValueError):
    """Why one row cannot be imported; shown to the marketer next to the row."""


# ---------------------------------------------------------------- sniffing


@dataclass(frozen=True)
class Dialect:
    delimiter: str = ","
    enclosure: str = '"'
    escape: str = "\\"
    encoding: str = "utf-8"
    newline: bytes = b"\n"


def binary_reason(sample: bytes) -> str | None:
    """Why a file's first bytes cannot be a text file, or None. The MIME type is never trusted."""
    for magic, reason in _BINARY_MAGIC.items():
        if sample.startswith(magic):
            return reason
    if b"\x00" in sample:
        return "This looks like a binary file, not a CSV file."
    controls = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    if controls > max(8, len(sample) // 100):
        return "This looks like a binary file, not a CSV file."
    return None


def detect_encoding(sample: bytes) -> str:
    """A codec name for the file that ``sample`` starts. UTF-8 wins whenever it plausibly is UTF-8."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if sample.startswith(bom):
            return name
    if len(sample) >= 4 and sample.count(b"\x00") * 4 >= len(sample):
        odd_nuls = sample[1::2].count(b"\x00")
        return "utf-16-le" if odd_nuls * 2 >= sample.count(b"\x00") else "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    good = bad = 0
    for line in sample.splitlines()[:-1] or [sample]:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
    if good and good >= bad:
        return "utf-8"  # valid multi-byte UTF-8 is no accident: the broken lines fail, the rest import
    return _guess_legacy(sample)


def _guess_legacy(sample: bytes) -> str:
    """Windows-1252 when it reads as Western text (what spreadsheets write), else charset-normalizer's guess.

    charset-normalizer alone misreads short Western samples (it offered Korean for "Besançon").
    """
    try:
        as_1252: str | None = sample.decode("cp1252")
    except UnicodeDecodeError:
        as_1252 = None
    if as_1252 is not None and _looks_western(as_1252):
        return "cp1252"
    best = charset_normalizer.from_bytes(sample).best()
    if best is not None:
        return codecs.lookup(best.encoding).name
    return "cp1252" if as_1252 is not None else "latin-1"


_WESTERN_PUNCTUATION = set("€–—“”‘’…•°«»·©®™£§")


def _looks_western(text: str) -> bool:
    """Accented letters sit alone between plain letters (Besançon, Müller); a run of them
    (Èâàí is Russian read as cp1252) or stray symbols mean another code page."""
    odd = total = 0
    for i, ch in enumerate(text):
        if ch.isascii():
            continue
        total += 1
        if ch in _WESTERN_PUNCTUATION:
            continue
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if not ch.isalpha() or not (before.isascii() and after.isascii()):
            odd += 1
    return total > 0 and odd * 10 <= total


def is_wide(encoding: str) -> bool:
    """Encodings whose line breaks are not single bytes; such files are transcoded to UTF-8 first."""
    return codecs.lookup(encoding).name in WIDE_ENCODINGS


def transcode_to_utf8(src: BinaryIO, dst: BinaryIO, encoding: str) -> None:
    """Stream ``src`` into ``dst`` as UTF-8 (bad sequences become U+FFFD rather than aborting)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    while chunk := src.read(READ_CHUNK):
        dst.write(decoder.decode(chunk).encode("utf-8"))
    dst.write(decoder.decode(b"", final=True).encode("utf-8"))


def detect_newline(sample: bytes) -> bytes:
    """``\\n`` (which also covers ``\\r\\n``) unless the file only uses classic Mac ``\\r``."""
    if b"\n" in sample or b"\r" not in sample:
        return b"\n"
    return b"\r"


def suggest_delimiter(sample: bytes, encoding: str = "utf-8", enclosure: str = '"') -> str:
    """The candidate that splits the first rows into the same, largest number of columns."""
    text = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [ln for ln in (lines[:-1] if len(lines) > 1 else lines) if ln.strip()][:20]
    best, best_score = ",", (0.0, 1)
    for delim in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=delim, quotechar=enclosure or '"')]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        score = (sum(c == counts[0] for c in counts) / len(counts), counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best


# ---------------------------------------------------------------- records


@dataclass
class Record:
    """One CSV record: its byte span in the file, and its cells or why it could not be read."""

    start: int
    end: int
    cells: list[str] | None
    lines: list[str]
    error: str | None = None

    @property
    def raw(self) -> str:
        return "\n".join(self.lines)[:RAW_LIMIT]


def _lines(f: BinaryIO, start: int, newline: bytes) -> Iterator[tuple[int, int, bytes | None]]:
    """(start, end, bytes) of each line from ``start``; bytes is None for a line over MAX_LINE_BYTES.

    Memory stays bounded: one read chunk plus one partial line, whatever the file size.
    """
    f.seek(start)
    pos, buf = start, b""
    if start == 0:
        head = f.read(len(codecs.BOM_UTF8))
        if head == codecs.BOM_UTF8:
            pos = len(head)
        else:
            buf = head
    while True:
        chunk = f.read(READ_CHUNK)
        if not chunk:
            if buf:
                yield pos, pos + len(buf), buf if len(buf) <= MAX_LINE_BYTES else None
            return
        parts = (buf + chunk).split(newline)
        buf = parts.pop()
        for part in parts:
            end = pos + len(part) + len(newline)
            yield pos, end, part if len(part) <= MAX_LINE_BYTES else None
            pos = end
        if len(buf) > MAX_LINE_BYTES:
            skipped, buf = len(buf), b""
            while chunk := f.read(READ_CHUNK):
                cut = chunk.find(newline)
                if cut >= 0:
                    buf = chunk[cut + len(newline):]
                    skipped += cut + len(newline)
                    break
                skipped += len(chunk)
            yield pos, pos + skipped, None
            pos += skipped
            if not chunk:
                return


def iter_records(f: BinaryIO, start: int, dialect: Dialect) -> Iterator[Record]:
    """Records from byte offset ``start``, which must be a record boundary (0 or a previous ``end``).

    The csv module cuts records (quoted fields may span lines); malformed quoting fails the
    record's first line only, and reading resumes on the next line.
    """
    encoding = codecs.lookup(dialect.encoding).name
    quote = dialect.enclosure
    escaped = dialect.escape + quote if dialect.escape and quote and dialect.escape != quote else None
    fmt: dict[str, Any] = {"delimiter": dialect.delimiter, "strict": True}
    if quote:
        fmt["quotechar"] = quote
    else:
        fmt["quoting"] = csv.QUOTE_NONE
    pos = start
    while True:
        consumed: list[tuple[int, int, str, str | None]] = []

        def texts(pos: int = pos, consumed: list[tuple[int, int, str, str | None]] = consumed) -> Iterator[str]:
            for s, e, data in _lines(f, pos, dialect.newline):
                error = None
                if data is None:
                    text, error = "", f"The row is longer than {MAX_LINE_BYTES // 1024 // 1024} MB."
                else:
                    if data.endswith(b"\r"):
                        data = data[:-1]
                    try:
                        text = data.decode(encoding)
                    except UnicodeDecodeError as exc:
                        text = data.decode(encoding, errors="replace")
                        error = (f"The row is not valid {dialect.encoding} text "
                                 f"(byte 0x{data[exc.start]:02x} at position {exc.start + 1}).")
                    if "\x00" in text:
                        error = "The row contains a NUL byte."
                consumed.append((s, e, text, error))
                if escaped and escaped in text:
                    text = text.replace(escaped, quote + quote)
                yield text + "\n"

        reader = csv.reader(texts(), **fmt)
        try:
            for cells in reader:
                lines = [c[2] for c in consumed]
                error = next((c[3] for c in consumed if c[3]), None)
                yield Record(consumed[0][0], consumed[-1][1], None if error else cells, lines, error)
                consumed.clear()
            return
        except csv.Error as exc:
            if not consumed:
                return
            s, e, text, _ = consumed[0]
            yield Record(s, e, None, [text], f"The row's quoting is broken ({exc}).")
            pos = e


def unique_headers(cells: Iterable[str]) -> list[str]:
    """Header names, blank ones named by position and duplicates numbered, so each maps once."""
    seen: dict[str, int] = {}
    out = []
    for i, cell in enumerate(cells, start=1):
        name = cell.strip().lstrip("\ufeff") or f"Column {i}"
        n = seen.get(name.lower(), 0) + 1
        seen[name.lower()] = n
        out.append(name if n == 1 else f"{name} ({n})")
    return out


def read_header(f: BinaryIO, dialect: Dialect) -> tuple[list[str], int]:
    """The header names and the byte offset where data rows begin."""
    for record in iter_records(f, 0, dialect):
        if record.cells is None:
            raise RowError(f"The first row must name the columns: {record.error}")
        if any(c.strip() for c in record.cells):
            return unique_headers(record.cells), record.end
    raise RowError("The file has no rows.")


# ---------------------------------------------------------------- mapping


def header_key(text: str) -> str:
    """Header comparison ignores case, spaces, underscores, hyphens and dots."""
    return re.sub(r"[\s_\-.]+", "", text.lower())


def mapping_targets(contact_specs: Iterable[FieldSpec], company_specs: Iterable[FieldSpec]) -> list[dict[str, str]]:
    """What a column can be mapped to, grouped for the mapping form."""
    out = [{"value": s.alias, "label": s.label, "group": "Contact"} for s in contact_specs if s.alias not in _SHADOWED_FIELDS]
    out += [{"value": s.alias, "label": s.label, "group": "Company"} for s in company_specs]
    out += [{"value": k, "label": v, "group": "Special"} for k, v in SPECIAL_COLUMNS.items()]
    return out


def suggest_mapping(headers: list[str], contact_specs: Iterable[FieldSpec], company_specs: Iterable[FieldSpec]) -> dict[str, str]:
    """Header -> target for headers that name a field, its label, a special column or a common synonym."""
    contact_specs, company_specs = list(contact_specs), list(company_specs)
    index: dict[str, str] = {}
    # Later entries win: aliases beat labels, contact beats company, specials and synonyms beat all.
    for spec in company_specs:
        index[header_key(spec.label)] = spec.alias
    for spec in company_specs:
        index[header_key(spec.alias)] = spec.alias
    for spec in contact_specs:
        index[header_key(spec.label)] = spec.alias
    for spec in contact_specs:
        index[header_key(spec.alias)] = spec.alias
    for key, label in SPECIAL_COLUMNS.items():
        index[header_key(label)] = key
        index[header_key(key)] = key
    index |= _SYNONYMS
    mapping: dict[str, str] = {}
    for header in headers:
        target = index.get(header_key(header))
        if target and target not in mapping.values():
            mapping[header] = target
    return mapping


# ---------------------------------------------------------------- rows


@dataclass
class ImportRow:
    """One valid row: contact values (None clears), company values and the special columns."""

    values: dict[str, Any] = field(default_factory=dict)
    company: dict[str, Any] = field(default_factory=dict)
    contact_id: int | None = None
    dates: dict[str, datetime] = field(default_factory=dict)
    points: int | None = None
    stage: str | None = None
    do_not_email: bool | None = None
    owner: str | None = None
    tags: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)


def fast_email(text: str) -> str | None:
    """The normalised form of a plain ASCII address, or None when the full validator must decide.

    email_validator costs ~30 us per call, a third of an import's budget per row; for the
    common shape it would return the address with its domain lower-cased, so do that here.
    """
    if not _EMAIL_FAST.fullmatch(text) or len(text) > 254:
        return None
    local, domain = text.rsplit("@", 1)
    domain = domain.lower()
    if "--" in domain or domain.rsplit(".", 1)[-1] in _SPECIAL_USE_TLDS:
        return None
    return f"{local}@{domain}"


class RowParser:
    """Turns a row's cells into an ImportRow, or raises RowError. Built once per batch."""

    def __init__(self, headers: list[str], mapping: dict[str, str],
                 contact_specs: dict[str, FieldSpec], company_specs: dict[str, FieldSpec]):
        self.width = len(headers)
        self.columns: list[tuple[int, str, str, FieldSpec | None]] = []
        for i, header in enumerate(headers):
            target = mapping.get(header)
            if not target:
                continue
            if target in SPECIAL_COLUMNS:
                self.columns.append((i, header, target, None))
            elif target in contact_specs:
                self.columns.append((i, header, "field", contact_specs[target]))
            elif target in company_specs:
                self.columns.append((i, header, "company", company_specs[target]))
        self._cache: dict[tuple[str, str], Any] = {}

    def parse(self, cells: list[str]) -> ImportRow | None:
        """None for an empty row (skipped, not an error)."""
        if len(cells) > self.width and any(c.strip() for c in cells[self.width:]):
            raise RowError(f"The row has {len(cells)} columns but the header has {self.width}.")
        if not any(c.strip() for c in cells):
            return None
        row = ImportRow()
        errors: list[str] = []
        found = False
        for i, header, kind, spec in self.columns:
            if i >= len(cells):
                continue
            text = cells[i].strip()
            if not text:
                continue
            found = True
            try:
                if spec is None:  # a special column (tags, owner, ...)
                    self._special(row, kind, text)
                elif kind == "field":
                    row.values[spec.alias] = None if text == "NULL" else self._value(spec, text)
                elif text != "NULL":
                    row.company[spec.alias] = self._value(spec, text)
            except (FieldValueError, RowError) as exc:
                label = spec.label if spec else SPECIAL_COLUMNS[kind]
                errors.append(f'Column "{header}" ({label}): {exc}')
        if errors:
            raise RowError(" ".join(errors))
        if not found:
            raise RowError("Every mapped column is empty in this row.")
        return row

    def _value(self, spec: FieldSpec, text: str) -> Any:
        if spec.type == "text" and len(text) <= MAX_TEXT:
            return text  # what normalize_value returns for valid text, without its type dispatch
        if spec.type == "email":
            fast = fast_email(text)
            if fast is not None:
                return fast
        elif spec.type in ("text", "textarea", "html", "tel", "url"):
            return normalize_value(spec, text)
        key = (spec.alias, text)
        if key in self._cache:
            return self._cache[key]
        value = normalize_value(spec, text)
        if spec.type == "number":
            limit = INT32 if spec.alias == "points" else None
            try:
                if (limit and abs(value) > limit) or not math.isfinite(float(value)):
                    raise FieldValueError("The number is too large.")
            except OverflowError as exc:
                raise FieldValueError("The number is too large.") from exc
        if len(self._cache) < 20_000:
            self._cache[key] = value
        return value

    def _special(self, row: ImportRow, kind: str, text: str) -> None:
        if kind == "id":
            if not text.isdigit() or not 0 < int(text) <= 2**63 - 1:
                raise RowError("A contact ID is a positive whole number.")
            row.contact_id = int(text)
        elif kind in ("dateAdded", "dateModified", "dateIdentified"):
            column = {"dateAdded": "date_added", "dateModified": "date_modified", "dateIdentified": "date_identified"}[kind]
            row.dates[column] = normalize_value(_DATETIME, text)
        elif kind == "lastActive":
            row.values["last_active"] = normalize_value(_DATETIME, text)
        elif kind == "ip":
            try:
                row.ips = list(dict.fromkeys(str(ipaddress.ip_address(p.strip())) for p in text.split(",") if p.strip()))
            except ValueError as exc:
                raise RowError("List IP addresses separated by commas, like 192.0.2.1, 2001:db8::1.") from exc
        elif kind == "points":
            value = self._value(FieldSpec(alias="points", label="Points", type="number"), text)
            row.points = int(value)
        elif kind == "stage":
            if len(text) > 191:
                raise RowError("Keep stage names under 191 characters.")
            row.stage = text
        elif kind == "doNotEmail":
            flag = text.lower()
            if flag not in _TRUE | _FALSE:
                raise RowError("Use 1 or 0 (yes or no).")
            row.do_not_email = flag in _TRUE
        elif kind == "ownerusername":
            row.owner = text
        elif kind == "tags":
            row.tags = list(dict.fromkeys(t.strip()[:191] for t in text.replace(",", "|").split("|") if t.strip()))


# ---------------------------------------------------------------- export


def neutralise(text: str) -> str:
    """Stop spreadsheets running a cell as a formula (CSV injection): prefix an apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
