"""Exceptions raised by graphsvc.

Every error the package raises on purpose derives from one root, so callers can
catch ``GraphsvcError`` and still tell the cases apart::

    GraphsvcError
     ├── ConfigurationError      settings missing or unsafe (no HMAC key, bad region)
     ├── MissingExtraError       an optional dependency is not installed
     ├── InputError              a value given by the caller is unusable (a date, a kind, a parameter)
     ├── ContractError           an input file does not meet the data contract
     │    └── MappingError        a source mapping (loaders/*.toml) is invalid
     ├── StoreError              the store of record failed or is inconsistent
     │    └── KeyCollisionError    two natural keys hashed to one internal id
     ├── ModelError              a scorecard cannot be fitted (too few outcomes)
     ├── NotFoundError           an applicant or identifier is not in the store
     ├── ConflictError           an application id is stored with other content
     └── InvalidApplicationError an application's key field is missing or invalid
"""

from __future__ import annotations


class GraphsvcError(Exception):
    """Root of every error graphsvc raises on purpose."""


class ConfigurationError(GraphsvcError):
    """Settings are missing or unsafe."""


class MissingExtraError(GraphsvcError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class InputError(GraphsvcError, ValueError):
    """A value the caller gave cannot be used: a date that is not ISO 8601, an unknown
    kind or outcome, a missing query parameter. The API answers 400 with the message;
    the CLI prints it. A ``ValueError`` too, so pydantic validators report it as theirs."""


class ContractError(GraphsvcError):
    """An input file cannot be read as the table it claims to be."""


class MappingError(ContractError):
    """A declarative source mapping is invalid."""


class StoreError(GraphsvcError):
    """The store of record failed or holds inconsistent data."""


class KeyCollisionError(StoreError):
    """Two different natural keys produced the same 63-bit internal id."""


class ModelError(GraphsvcError):
    """A model cannot be fitted from the outcomes known (the hand-set policy stays)."""


class NotFoundError(GraphsvcError, KeyError):
    """The requested applicant or identifier does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConflictError(GraphsvcError):
    """An application id already stored with other content (score-on-write)."""


class InvalidApplicationError(GraphsvcError):
    """An application breaks the data contract in a key field; ``problems`` lists
    each problem as ``{"field", "reason", "detail"}``."""

    def __init__(self, problems: list[dict]) -> None:
        super().__init__("; ".join(f"{p['field']}: {p['detail']}" for p in problems))
        self.problems = problems
