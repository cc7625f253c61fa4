"""The live dashboard: pages, the WebSocket feed, the projector's publisher and the monitor.

It lives in the gateway: its consumers run in the gateway's daphne and it reads the
gateway's read model, which no other service may import.
"""
