"""The engine: pure Python and numpy, no Textual and no I/O in the math.

Rooms, from the ground up (each imports only rooms below it): model, io, book and market,
pricing, history, risk, hedge; then `engine.analyze`, the one entry point, here as
`core.analyze`."""


def __getattr__(name: str):
    if name == "analyze":  # lazy: importing one room must not load the whole engine
        from core.engine import analyze
        return analyze
    raise AttributeError(f"module 'core' has no attribute {name!r}")
