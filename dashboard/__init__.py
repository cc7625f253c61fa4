"""The live dashboard: its pages, the WebSocket feed, and the monitor.

A Django app of the gateway's project (its consumers run in the gateway's daphne): it
reads the read model and receives what the projector broadcasts on the channel layer.
Nothing imports it but the composition root, ``gateway/urls.py`` and ``gateway/asgi.py``.
"""
