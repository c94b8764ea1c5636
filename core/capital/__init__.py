"""The capital room: what the book costs and earns as capital, and how likely it pays.

Floor: above core/engine (it reads analyze()'s results), beside core/backtest; never the
cockpit. Every input is in the book's [capital] table, every output has its formula in the
README.
"""
