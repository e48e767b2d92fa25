"""Reading a OneRoster 1.2 bulk CSV roster: sources (folder, zip), headers, rows and their errors.

Only what the portal needs is read: `manifest.csv`, `orgs.csv`, `users.csv` and, when `users.csv`
has no `role` column (the 1.2 layout), `roles.csv`. Every problem is a :class:`RosterError` naming
the file, the line and the column. Files are streamed with the csv module, never loaded whole.
"""

from __future__ import annotations

import contextlib
import csv
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

# User kinds as the importer sees them.
OTHER, STUDENT, GUARDIAN, RELATIVE = 0, 1, 2, 3
ROLE_KINDS = {
    "student": STUDENT,
    "parent": GUARDIAN,
    "guardian": GUARDIAN,
    "relativeOf": RELATIVE,
    "relative": RELATIVE,  # OneRoster 1.1
    # Staff roles of OneRoster 1.2: read and ignored (the portal is for families).
    "aide": OTHER,
    "counselor": OTHER,
    "districtAdministrator": OTHER,
    "principal": OTHER,
    "proctor": OTHER,
    "siteAdministrator": OTHER,
    "systemAdministrator": OTHER,
    "teacher": OTHER,
    "administrator": OTHER,  # OneRoster 1.1
}
# When roles.csv gives one user several roles, the first kind here wins.
KIND_PRIORITY = (STUDENT, GUARDIAN, RELATIVE, OTHER)

# The extension column: on a parent/guardian row, the sourcedIds (comma-separated, a subset of the
# row's agentSourcedIds) of the students for whom this guardian's link is restricted (R8).
RESTRICTED_COLUMN = "metadata.guardianRestricted"

USERS_COLUMNS_12 = (
    "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName",
    "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password",
    "userMasterIdentifier", "resourceSourcedIds", "preferredGivenName", "preferredMiddleName",
    "preferredFamilyName", "primaryOrgSourcedId", "pronouns",
)
USERS_COLUMNS_11_EXTRA = ("role", "orgSourcedIds")
USERS_REQUIRED = ("sourcedId", "enabledUser", "username", "givenName", "familyName", "email", "agentSourcedIds")
ROLES_COLUMNS = (
    "sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate",
    "orgSourcedId", "userProfileSourcedId",
)
ROLES_REQUIRED = ("userSourcedId", "roleType", "role")
ORGS_COLUMNS = ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId")
ORGS_REQUIRED = ("sourcedId", "name", "type")
MANIFEST_COLUMNS = ("propertyName", "value")


class RosterError(Exception):
    """A roster that cannot be imported; nothing was written."""

    def __init__(self, message: str, *, file: str = "", line: int | None = None, column: str = "",
                 column_number: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.column_number = column_number
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            number = f"{self.column_number} " if self.column_number else ""
            where.append(f"column {number}({self.column})")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


# --- Sources ---------------------------------------------------------------------------------


class RosterSource:
    """Where the CSV files come from. Files may be opened several times (the importer reads twice)."""

    def has(self, name: str) -> bool:
        raise NotImplementedError

    def open(self, name: str):
        """A binary file object for `name`."""
        raise NotImplementedError

    def label(self, name: str) -> str:
        return name

    def close(self) -> None:
        pass


class FolderSource(RosterSource):
    def __init__(self, path, labels: dict[str, str] | None = None):
        self.path = Path(path)
        self.labels = labels or {}

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def open(self, name: str):
        return open(self.path / name, "rb")  # noqa: SIM115 - closed by the caller

    def label(self, name: str) -> str:
        return self.labels.get(name, name)


class ZipSource(RosterSource):
    """A zip export; the CSV files may sit at the top or in one folder of the archive."""

    def __init__(self, path_or_file):
        try:
            self.zip = zipfile.ZipFile(path_or_file)
        except (zipfile.BadZipFile, OSError) as exc:
            raise RosterError("The upload is not a readable zip archive.") from exc
        limit = getattr(settings, "ROSTER_MAX_UNCOMPRESSED_BYTES", 4 * 1024**3)
        total = sum(info.file_size for info in self.zip.infolist())
        if total > limit:
            raise RosterError(f"The archive unpacks to {total} bytes, more than the limit of {limit}.")
        self.members: dict[str, str] = {}
        for info in sorted(self.zip.infolist(), key=lambda i: i.filename.count("/")):
            if info.is_dir():
                continue
            base = info.filename.rsplit("/", 1)[-1]
            self.members.setdefault(base, info.filename)

    def has(self, name: str) -> bool:
        return name in self.members

    def open(self, name: str):
        return self.zip.open(self.members[name])

    def close(self) -> None:
        self.zip.close()


def open_source(path) -> RosterSource:
    """A folder or a zip file."""
    path = Path(path)
    if path.is_dir():
        return FolderSource(path)
    if path.is_file():
        return ZipSource(path)
    raise RosterError(f"{os.fspath(path)} is neither a folder nor a zip file.")


# --- CSV files -------------------------------------------------------------------------------


class CsvFile:
    """One CSV file of the roster: a checked header, then (line, row) pairs of the right width."""

    def __init__(self, source: RosterSource, name: str, *, known: tuple[str, ...], required: tuple[str, ...],
                 allow_metadata: bool = True):
        self.source = source
        self.name = name
        self.label = source.label(name)
        if not source.has(name):
            raise RosterError("The file is missing.", file=self.label)
        self.known = known
        self.required = required
        self.allow_metadata = allow_metadata
        with self._reader() as reader:
            self.header = self._read_header(reader)
        self.columns = {name: i for i, name in enumerate(self.header)}

    def error(self, message: str, *, line: int | None = None, column: str = "") -> RosterError:
        number = self.columns.get(column, -1) + 1 if column and hasattr(self, "columns") else None
        return RosterError(message, file=self.label, line=line, column=column, column_number=number or None)

    @contextlib.contextmanager
    def _reader(self):
        raw = self.source.open(self.name)
        try:
            yield csv.reader(self._lines(raw), strict=True)
        finally:
            raw.close()

    def _lines(self, raw):
        """Decoded lines, so that a byte that is not UTF-8 is reported on its own line."""
        for number, data in enumerate(raw, start=1):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise RosterError("The file is not valid UTF-8.", file=self.label, line=number) from None
            yield text.lstrip("\ufeff") if number == 1 else text

    def _read_header(self, reader) -> list[str]:
        try:
            header = next(reader)
        except StopIteration:
            raise RosterError("The file is empty; a header line is required.", file=self.label, line=1) from None
        except csv.Error as exc:
            raise RosterError(f"The header cannot be read ({exc}).", file=self.label, line=1) from None
        header = [h.strip() for h in header]
        seen = set()
        for i, column in enumerate(header, start=1):
            if column in seen:
                raise RosterError("The column appears twice in the header.", file=self.label, line=1,
                                  column=column, column_number=i)
            seen.add(column)
            if column not in self.known and not (self.allow_metadata and column.startswith("metadata.")):
                raise RosterError(
                    "Unknown column; OneRoster extension columns start with 'metadata.'.",
                    file=self.label, line=1, column=column or "(empty)", column_number=i,
                )
        for column in self.required:
            if column not in seen:
                raise RosterError(f"The header lacks the required column {column!r}.", file=self.label, line=1)
        return header

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.header)
        with self._reader() as reader:
            line = 1
            try:
                next(reader)
                for row in reader:
                    line = reader.line_num
                    if len(row) != width:
                        if len(row) == 0 or row == [""]:
                            continue  # a blank line
                        column = self.header[len(row)] if len(row) < width else ""
                        raise RosterError(
                            f"Malformed row: {len(row)} fields where the header has {width}.",
                            file=self.label, line=line, column=column or "(extra field)",
                            column_number=min(len(row), width) + 1,
                        )
                    yield line, row
            except csv.Error as exc:
                raise RosterError(f"Malformed CSV: {exc} (the record breaks on line {reader.line_num}).",
                                  file=self.label, line=line + 1) from None


def read_manifest(source: RosterSource) -> dict[str, str]:
    """manifest.csv as {propertyName: value}; checks the version and that users is a bulk file."""
    manifest = CsvFile(source, "manifest.csv", known=MANIFEST_COLUMNS, required=MANIFEST_COLUMNS,
                       allow_metadata=False)
    props: dict[str, str] = {}
    lines: dict[str, int] = {}
    name_col, value_col = manifest.columns["propertyName"], manifest.columns["value"]
    for line, row in manifest.rows():
        name, value = row[name_col].strip(), row[value_col].strip()
        if name in props:
            raise manifest.error(f"The property {name!r} is repeated (first on line {lines[name]}).",
                                 line=line, column="propertyName")
        props[name], lines[name] = value, line
    version = props.get("oneroster.version")
    if version is None:
        raise manifest.error("The manifest lacks the property 'oneroster.version'.")
    if version not in ("1.2", "1.1"):
        raise manifest.error(f"OneRoster version {version!r} is not supported (1.2 or 1.1).",
                             line=lines["oneroster.version"], column="value")
    for key in ("file.users", "file.orgs", "file.roles"):
        value = props.get(key, "absent")
        if key == "file.users" and value != "bulk":
            raise manifest.error(
                "users must be a bulk file: a full roster is needed to know who left "
                f"(the manifest says {value!r}).", line=lines.get(key), column="value" if key in lines else "",
            )
        if value not in ("bulk", "absent"):
            raise manifest.error(f"{key} must be 'bulk' or 'absent' (delta files are not supported).",
                                 line=lines.get(key), column="value")
    return props


def split_ids(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
