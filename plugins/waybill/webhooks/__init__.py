"""Carrier webhooks: verify the signature, store the event in ``raw`` before answering.

``receiver.create_app()`` is the ASGI app behind ``waybill webhooks serve``; ``store`` holds the
durable, replay-safe write into ``raw.<carrier>__webhook_events``; ``signatures`` the
``t=…,v1=…`` HMAC check (timestamp, event id and body) and each carrier's own secret; ``limits``
the body size, signature age, timeouts and concurrency; ``server`` the uvicorn server that cuts
off clients slow to send their headers.
"""
