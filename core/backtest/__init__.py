"""The backtest room: the ALVH program replayed on history, hedged and unhedged.

Floor: above core/engine and the rooms below it; never the cockpit. Its parts:
config (the run's TOML), tape (history aligned into day arrays), model (how a day is
priced when a market is missing), simulate (the day-step), metrics (the figures and
the claims), bootstrap (paths resampled from the tape).
"""
