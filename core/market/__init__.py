"""The market file, and a market file made from the history store."""
