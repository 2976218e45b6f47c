"""Reverse ETL to the CRM: shipment statuses and exception cases from the marts, exactly once
in effect (see ``sync.py``); the mapping lives in ``include/crm_mapping.yaml``."""
