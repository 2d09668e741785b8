"""Batch sending: many documents, paced under the limits, each exactly once.

`_batch` is the facade and runner, `_results` what a batch reports, `_kinds` what each
kind of batch does with an item, `_engine` the exactly-once loop (with `_outcome` to
classify failures and `_finder` to look documents up by externalId), `_journal` the
SQLite journal that makes a batch resumable; `_export` downloads many documents.
"""

from ._batch import DEFAULT_CONCURRENCY, DEFAULT_UNREACHABLE_TIMEOUT, Batch, token_hash
from ._export import ExportResult, ExportStatus, ExportSummary
from ._journal import Account
from ._results import BatchSummary, Duplicate, ItemResult, ItemStatus
from ._single import read_like_a_batch

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_UNREACHABLE_TIMEOUT",
    "Account",
    "Batch",
    "BatchSummary",
    "Duplicate",
    "ExportResult",
    "ExportStatus",
    "ExportSummary",
    "ItemResult",
    "ItemStatus",
    "read_like_a_batch",
    "token_hash",
]
