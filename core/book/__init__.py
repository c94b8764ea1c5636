"""The book file and the position lifecycle (settle, close, the realized ledger)."""
