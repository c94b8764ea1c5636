"""Modal screens: help, forms and confirmations."""
