"""The exception tree of exhunt.

Every error exhunt raises on purpose derives from :class:`ExhuntError`, so a caller can catch
one type. The CLI maps each family to its own exit code (see ``docs/cli.md``)::

    ExhuntError
    ├── UsageError                 bad options (exit 2)
    ├── EvidenceError              evidence cannot be used
    │   ├── EvidenceNotFoundError      the path does not exist (exit 10)
    │   ├── EvidenceUnreadableError    permission denied or I/O error (exit 11)
    │   ├── UnsupportedEvidenceError   not a kind of evidence exhunt reads (exit 12)
    │   └── ArchiveError               unsafe or damaged archive (exit 13)
    ├── ArtifactError              one artifact could not be parsed (recorded, scan goes on)
    ├── RuleError                  invalid detection content, with file and line (exit 14)
    ├── StoreError                 result store failures (exit 15)
    └── FleetError                 fleet job failures (exit 16)
"""

from __future__ import annotations


class ExhuntError(Exception):
    """Root of every error exhunt raises on purpose."""

    exit_code = 1


class UsageError(ExhuntError):
    """Options or arguments that cannot work together."""

    exit_code = 2


class EvidenceError(ExhuntError):
    """The evidence cannot be opened or read."""

    exit_code = 12

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class EvidenceNotFoundError(EvidenceError):
    exit_code = 10


class EvidenceUnreadableError(EvidenceError):
    exit_code = 11


class UnsupportedEvidenceError(EvidenceError):
    exit_code = 12


class ArchiveError(EvidenceError):
    """An archive that is damaged, or that would escape its extraction folder or limits."""

    exit_code = 13


class ArtifactError(ExhuntError):
    """An artifact file could not be parsed; recorded in the document, never fatal."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class RuleError(ExhuntError):
    """Detection content that cannot be loaded, located by file and line."""

    exit_code = 14

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        location = path if line is None else f"{path}:{line}"
        super().__init__(f"{location}: {message}" if path else message)
        self.path = path
        self.line = line
        self.reason = message


class StoreError(ExhuntError):
    exit_code = 15


class FleetError(ExhuntError):
    exit_code = 16
