"""The command line: `alvh` and its commands (report, data, market, close, settle, ledger, journal, snapshot, serve)."""
