"""Which transaction set types get a canonical record, and the header every record carries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from waybill.connectors.edi.freight_invoice import build_freight_invoice
from waybill.connectors.edi.models import element
from waybill.connectors.edi.ship_notice import build_ship_notice
from waybill.connectors.edi.shipment_status import build_shipment_status
from waybill.connectors.edi.shipping_advice import build_shipping_advice
from waybill.connectors.edi.shipping_order import build_shipping_order

if TYPE_CHECKING:
    from collections.abc import Callable

    from waybill.connectors.edi.models import FunctionalGroup, Interchange, Segment
    from waybill.connectors.edi.shared_segments import RecordIssue

    RecordBuilder = Callable[
        [list[Segment], dict[str, Any]], tuple[dict[str, Any], list[RecordIssue]]
    ]

# Set types without an entry here (204, 990, 997, ...) parse to segments with their
# envelope checked and `record = None`; that is not an error.
RECORD_BUILDERS: dict[str, RecordBuilder] = {
    "210": build_freight_invoice,
    "214": build_shipment_status,
    "856": build_ship_notice,
    "940": build_shipping_order,
    "945": build_shipping_advice,
}


def record_header(interchange: Interchange, group: FunctionalGroup) -> dict[str, Any]:
    """The identifying fields every record of a group carries: control numbers, partner ids.

    The caller adds `transaction_set` (ST01) and `transaction_set_control` (ST02).
    """
    return {
        "interchange_control": interchange.control,
        "group_control": group.control,
        "sender_qualifier": interchange.sender_qualifier,
        "sender_id": interchange.sender_id,
        "receiver_qualifier": interchange.receiver_qualifier,
        "receiver_id": interchange.receiver_id,
        "group_sender_id": group.sender_id,
        "group_receiver_id": group.receiver_id,
        "interchange_date": element(interchange.isa, 9),
        "interchange_time": element(interchange.isa, 10),
        "usage_indicator": element(interchange.isa, 15),
    }
