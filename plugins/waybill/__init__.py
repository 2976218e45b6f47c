"""Waybill: shipment-to-invoice data platform (connectors, loader, quality gate, billing)."""
