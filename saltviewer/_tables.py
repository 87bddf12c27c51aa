"""Small CSV tables of the competition: ``id,rle_mask`` and ``id,z``."""

import csv
from pathlib import Path

from ._errors import DataError


def read_rows(path, header, problems=None):
    """Yield ``(line_number, fields)`` for each data row of a CSV with the given header.

    A wrong header raises `DataError`. A row with the wrong number of fields raises too,
    unless `problems` is a list, which then collects the message and skips the row.
    Blank lines are skipped.
    """
    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}).") from None
    with handle:
        reader = csv.reader(handle)
        try:
            first = next(reader, None)
            if first is None:
                raise DataError(f"{path}: is empty; expected a header line '{','.join(header)}'.")
            if [f.strip().lstrip("\ufeff") for f in first] != list(header):
                raise DataError(f"{path}: line 1 is {','.join(first)!r}; expected the header '{','.join(header)}'.")
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    message = (f"{path} line {line}: has {len(row)} fields; expected {len(header)} "
                               f"({','.join(header)}).")
                    if problems is None:
                        raise DataError(message)
                    problems.append(message)
                    continue
                yield line, [f.strip() for f in row]
        except (csv.Error, UnicodeDecodeError) as error:
            raise DataError(f"{path}: is not a readable CSV file ({error}).") from None
