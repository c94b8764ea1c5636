"""Files: atomic writes, where files live, TOML with line-numbered errors."""
