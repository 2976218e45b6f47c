"""Carrier webhooks: verify the HMAC-SHA256 signature, store the event in ``raw`` before answering.

``receiver.create_app()`` is the ASGI app behind ``waybill webhooks serve``; ``store`` holds the
durable, replay-safe write into ``raw.<carrier>__webhook_events``; ``signatures`` the HMAC check
and where each carrier's secret comes from.
"""
