"""The live dashboard lives in ``gateway.dashboard``: it is served by the gateway's daphne
and reads the gateway's read model, which only the gateway may import."""
