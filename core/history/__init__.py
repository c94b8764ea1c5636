"""The SQLite history store, its journal and snapshots, signals and calibration."""
