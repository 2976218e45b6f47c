"""X12 EDI: parse interchanges into checked transaction sets and records; acknowledge with a 997.

Public API (others call these names):

- `parse_file(path) -> ParseResult` and `parse_bytes(data, source) -> ParseResult` (every set kept)
- `stream_file(path) -> X12Stream` (sets yielded one at a time, none kept; `.result` after)
- `build_997(result, ...) -> str` and `write_997(result, outbound_dir) -> Path | None`
"""

from waybill.connectors.edi.acknowledgment import build_997, write_997
from waybill.connectors.edi.errors import EdiError
from waybill.connectors.edi.models import (
    FunctionalGroup,
    Interchange,
    ParseResult,
    TransactionSet,
)
from waybill.connectors.edi.parser import (
    X12Stream,
    parse_bytes,
    parse_file,
    parse_text_chunks,
    stream_file,
    stream_text_chunks,
)

__all__ = [
    "EdiError",
    "FunctionalGroup",
    "Interchange",
    "ParseResult",
    "TransactionSet",
    "X12Stream",
    "build_997",
    "parse_bytes",
    "parse_file",
    "parse_text_chunks",
    "stream_file",
    "stream_text_chunks",
    "write_997",
]
