"""Break-evens and P&L curves along SPX through the spot-vol map."""
