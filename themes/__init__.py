"""Colour themes of the cockpit: dark (default), light and high contrast.

P&L up/down, row alerts and gauge states are theme variables; `DEFAULTS` gives
them for every other theme (Textual's built-ins) so switching never fails.
"""
from __future__ import annotations

from textual.theme import Theme

DEFAULT = "alvh-dark"

# variable -> the standard theme colour it falls back to
FALLBACK = {
    "pnl-up": "success",
    "pnl-down": "error",
    "row-warn": "warning",
    "row-alert": "error",
    "gauge-ok": "success",
    "gauge-warn": "warning",
    "gauge-alert": "error",
    "gauge-off": "foreground-muted",
    "badge": "accent",
}

THEMES = (
    Theme(
        name="alvh-dark", primary="#4fa3e0", secondary="#2a6f97", accent="#e0a84f",
        warning="#e8a33d", error="#e05561", success="#5cbf6e",
        foreground="#d8dde3", background="#14181d", surface="#1b2027", panel="#232a33", dark=True,
        variables={"pnl-up": "#6fd67f", "pnl-down": "#ff6b73", "row-warn": "#f0b441",
                   "row-alert": "#ff5c5c", "gauge-ok": "#6fd67f", "gauge-warn": "#f0b441",
                   "gauge-alert": "#ff5c5c", "gauge-off": "#7a8592", "badge": "#e0a84f",
                   "footer-key-foreground": "#e0a84f"}),
    Theme(
        name="alvh-light", primary="#1f5f99", secondary="#3b7dbf", accent="#a85d00",
        warning="#a86400", error="#b3261e", success="#1e7b34",
        foreground="#1d232a", background="#f7f7f4", surface="#ecece6", panel="#dfe3e8", dark=False,
        variables={"pnl-up": "#1e7b34", "pnl-down": "#b3261e", "row-warn": "#9a5b00",
                   "row-alert": "#b3261e", "gauge-ok": "#1e7b34", "gauge-warn": "#9a5b00",
                   "gauge-alert": "#b3261e", "gauge-off": "#6b7580", "badge": "#a85d00"}),
    # only the 16 ANSI colours at full strength: the same on a 16-colour terminal
    Theme(
        name="alvh-contrast", primary="#ffff00", secondary="#00ffff", accent="#ffff00",
        warning="#ffff00", error="#ff0000", success="#00ff00",
        foreground="#ffffff", background="#000000", surface="#000000", panel="#000000",
        boost="#000000", dark=True, luminosity_spread=0.0, text_alpha=1.0,
        variables={"pnl-up": "#00ff00", "pnl-down": "#ff0000", "row-warn": "#ffff00",
                   "row-alert": "#ff0000", "gauge-ok": "#00ff00", "gauge-warn": "#ffff00",
                   "gauge-alert": "#ff0000", "gauge-off": "#c0c0c0", "badge": "#00ffff",
                   "foreground-muted": "#ffffff", "border": "#ffffff",
                   "footer-key-foreground": "#ffff00", "footer-description-foreground": "#ffffff"}),
)
NAMES = tuple(t.name for t in THEMES)
