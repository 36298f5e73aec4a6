"""Schema version 2: whether a mitigation stopped each exposure at collection time. Frozen: do
not edit.

Scans stored before keep NULL (not known) until they are scanned again: their documents hold
the answer, but a migration does not decode documents of an older schema.
"""

from __future__ import annotations

from sqlalchemy import Connection

DESCRIPTION = "exposures: mitigated at collection time"


def apply(connection: Connection) -> None:
    connection.exec_driver_sql("ALTER TABLE exposures ADD COLUMN mitigated BOOLEAN")
