"""The ALVH hedge engine: stress set, rules, layer sizing, rolls, parity."""
