"""The one key table: it feeds the app's bindings, the footer, the F1 help and ctrl+p.

Plain printable keys first so everything works over SSH, in tmux and in screen.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma-separated alternatives
    action: str
    description: str
    group: str
    footer: bool = False  # shown in the footer (the rest: F1 and ctrl+p)
    display: str | None = None  # how the key is written on screen
    scope: str = "app"  # "app", or "list": the condor and hedge panes
    short: str = ""  # footer label; the description elsewhere


KEYS: tuple[Key, ...] = (
    Key("right_square_bracket", "spx(0.005)", "SPX +0.5%", "What-if", True, "]", short="SPX+"),
    Key("left_square_bracket", "spx(-0.005)", "SPX -0.5%", "What-if", True, "[", short="SPX-"),
    Key("right_curly_bracket", "spx(0.02)", "SPX +2%", "What-if", False, "}"),
    Key("left_curly_bracket", "spx(-0.02)", "SPX -2%", "What-if", False, "{"),
    Key("plus,equals_sign", "vix(1)", "VIX +1 pt", "What-if", True, "+", short="VIX+"),
    Key("minus,underscore", "vix(-1)", "VIX -1 pt", "What-if", True, "-", short="VIX-"),
    Key("full_stop", "days(1)", "1 day forward", "What-if", False, ".", short="+1d"),
    Key("comma", "days(-1)", "1 day back", "What-if", False, ","),
    Key("greater_than_sign", "days(7)", "7 days forward", "What-if", False, ">"),
    Key("less_than_sign", "days(-7)", "7 days back", "What-if", False, "<"),
    Key("r", "reset_whatif", "Reset what-if to live", "What-if", True, "r", short="live"),
    Key("a", "add_condor", "Add a condor", "Edit", False, "a", short="add"),
    Key("e,enter", "edit_selected", "Edit the selected condor or hedge", "Edit", False, "e"),
    Key("c", "close_selected", "Close the selected position at a fill (into the ledger)", "Edit", False, "c"),
    Key("x,delete", "delete_selected", "Delete a typo (no P&L recorded: c closes)", "Edit", False, "x"),
    Key("L", "ledger", "The realized ledger: every close and settlement", "Edit", False, "L"),
    Key("S", "enter_settlement", "Enter the settlement price an expired position awaits", "Edit", False, "S"),
    Key("A", "apply_trades", "Apply the hedge engine's trades", "Edit", False, "A"),
    Key("u", "undo", "Undo", "Edit", True, "u", short="undo"),
    Key("U,ctrl+y", "redo", "Redo", "Edit", False, "U"),
    Key("ctrl+s", "save", "Save the book", "Edit", True, "^s", short="save"),
    Key("m", "market", "Enter market levels by hand", "Edit", False, "m"),
    Key("n", "suggest_tranche", "New tranche: propose a condor by DTE, delta and wings (a what-if)", "Edit",
        False, "n"),
    Key("N", "commit_proposed", "Add the proposed condor to the book (as a typed one: u undoes)", "Edit",
        False, "N"),
    Key("X", "drop_proposed", "Drop the proposed condor (r drops it too)", "Edit", False, "X"),
    Key("up,k", "select(-1)", "Select the row above", "Panes", False, "↑", "list"),
    Key("down,j", "select(1)", "Select the row below", "Panes", False, "↓", "list"),
    Key("1", "pane('condors')", "Condors pane", "Panes", False, "1"),
    Key("2", "pane('hedges')", "Hedge layers pane", "Panes", False, "2"),
    Key("3", "pane('greeks')", "Greeks pane", "Panes", False, "3"),
    Key("4", "pane('gauges')", "Signal gauges pane", "Panes", False, "4"),
    Key("5", "pane('risk')", "Risk graph pane", "Panes", False, "5"),
    Key("z", "toggle_panes", "One pane / all panes", "Panes", False, "z"),
    Key("b", "research", "Research: backtest the book's settings on history", "App", False, "b"),
    Key("g", "scenario_grid", "SPX x VIX grid: package P&L by SPX move and VIX level", "App", False, "g"),
    Key("C", "capital", "Capital: beta, CAPM, WACC, IRR, buying power and the caps", "App", False, "C"),
    Key("t", "cycle_theme", "Next colour theme", "App", False, "t"),
    Key("f1,question_mark", "help", "Keys, units and model assumptions", "App", True, "F1", short="help"),
    Key("q", "quit_app", "Quit (asks when edits are unsaved)", "App", True, "q", short="quit"),
)
PANES = ("condors", "hedges", "greeks", "gauges", "risk")


def bindings(scope: str = "app") -> list[Binding]:
    # list keys live on the panes (they shadow scrolling) but act on the app
    prefix = "app." if scope != "app" else ""
    return [Binding(k.keys, prefix + k.action, k.short or k.description, show=k.footer,
                    key_display=k.display, tooltip=k.description)
            for k in KEYS if k.scope == scope]
