"""`alvh report`: the analysis as rich tables or one JSON object."""
from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from cockpit import fmt
from core.model.errors import printable
from core.model.results import Analysis

if TYPE_CHECKING:  # rich is imported by the tables only: --json starts without it
    from rich.console import Console
    from rich.table import Table


def load_analysis(args):
    """Read the files named on the command line (or the defaults), settle what has
    expired (in memory: `alvh settle` writes it) and analyze the rest."""
    from cockpit.cli.inputs import load, settle_loaded
    from core.engine import analyze
    from core.model.inputs import WhatIf
    from core.history.store import load_signals

    x = load(args)
    settled = settle_loaded(x)
    whatif = WhatIf(spx_move=args.spx_move / 100, vix_move=args.vol_move, days=args.days)
    sset = load_signals(args.db, x.market)
    return analyze(settled.priceable, x.market, whatif, sset.to_inputs()), sset, settled


def run_report(args) -> int:
    a, sset, settled = load_analysis(args)
    if args.json:
        from core.export import analysis_to_dict, clean
        out = analysis_to_dict(a)
        from cockpit.capital import load_capital
        from core.capital.calculator import capital_to_dict
        cap = load_capital(a, args.db)
        out["capital"], out["tranches"] = (clean(x) for x in capital_to_dict(cap))
        add_probability(out, *load_odds(a, args.db, cap))
        out["signals"] = clean(sset.to_json())
        # the beta the engine used (the book's), beside what the history fits
        out["signals"].update(beta=a.book.model.beta, beta_source=a.book.model.beta_source,
                              beta_calibrated=clean(sset.beta))
        out["settled_now"] = [r.id for r in settled.records]
        out["awaiting_settlement"] = [{"id": w.id, "what": w.what, "underlying": w.underlying,
                                       "date": w.day.isoformat(), "style": w.style} for w in settled.awaiting]
        if getattr(args, "grid", False):
            from core.capital.grid import grid_to_dict, scenario_grid
            out["grid"] = clean(grid_to_dict(scenario_grid(a.book, a.market, a.whatif.days)))
        # strict JSON (a non-finite number is an error, not NaN), all serialized before
        # the first byte is written; main() ends quietly if the reader closes the pipe
        text = json.dumps(out, indent=2, allow_nan=False)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return 0
    from rich.console import Console
    # a pipe gets full rows rather than rich's 80-column default
    console = Console() if sys.stdout.isatty() else Console(width=150)

    def broken_pipe():  # rich would exit 1 itself; main() ends a closed pipe as 141
        raise BrokenPipeError("stdout closed")
    console.on_broken_pipe = broken_pipe
    print_report(a, console)
    from cockpit.capital import load_capital
    cap = load_capital(a, args.db)
    print_capital(cap, console)
    print_probability(a, *load_odds(a, args.db, cap), console)
    print_lifecycle(a, settled, console)
    print_signals(sset, console, a.book.model)
    if getattr(args, "grid", False):
        print_grid(a, console)
    return 0


def print_grid(a: Analysis, console: Console) -> None:
    """The SPX x VIX grid as the cockpit's g shows it, without colour: T+0, then the what-if date."""
    from cockpit.screens.grid import grid_table, legend
    from core.capital.grid import scenario_grid
    g = scenario_grid(a.book, a.market, a.whatif.days)
    for horizon in (False, True) if g.days else (False,):
        console.print(grid_table(g, horizon))
    console.print(printable(legend(g)), markup=False, highlight=False)


def print_capital(c, console: Console) -> None:
    """The capital section (a CapitalResult): the rules' pass / warn / fail lines, then the figures."""
    from cockpit.capital import capital_lines
    console.print("[b]Capital[/b] (the book's \\[capital] table; formulas in the README)", highlight=False)
    for text, _ in capital_lines(c):
        console.print(printable(text), markup=False, highlight=False)


def load_odds(a: Analysis, db, cap=None):
    """The odds under both measures and each tranche's risk, from the store's SPX closes;
    the equal-risk sizes held to the tranche cap the capital result `cap` puts in force."""
    from cockpit.capital import spx_closes
    from core.capital.probability import odds, real_world_for
    from core.capital.risk import history_moves, tranche_risk
    from core.capital.rules import cap_in_force
    spx = spx_closes(db, a.market.demo)
    moves = history_moves(spx, a.market.as_of.date())
    s = a.book.capital
    cap_pct = None if cap is None else cap_in_force(100 * cap.wacc, s.wacc_trigger_pct, s.notional_pct)
    risk = tranche_risk(a.book, a.market, moves, a.whatif, cap_pct)
    return odds(a, real_world_for(a.book, a.market, spx)), risk, len(moves), bool(spx is not None and spx.demo)


def add_probability(out: dict, odds, risk: list[dict], moves: int, demo: bool) -> None:
    """condors[].{pop, pop_real, touch_*, max_loss_prob, expected_move}, book.probability,
    tranches[].risk_share (rows keyed by expiry) and the hedges' share."""
    from core.export import add_odds, clean
    add_odds(out, odds)
    rows = {r["expiry"]: r for r in out.setdefault("tranches", [])}
    for r in risk:
        if r["kind"] == "tranche":
            row = rows.get(r["expiry"]) or {"expiry": r["expiry"], "condors": r["condors"]}
            if r["expiry"] not in rows:
                out["tranches"].append(row)
            row.update(clean({k: r[k] for k in ("risk_share", "pnl_sd", "equal_risk_multiplier", "equal_risk_quantity",
                                                "equal_risk_uncapped", "equal_risk_capped",
                                                "equal_risk_max_loss_pct")}))
    hedges = next((r for r in risk if r["kind"] == "hedges"), None)
    cap = next((r["cap_pct"] for r in risk if r["kind"] == "tranche"), None)
    out["risk_contribution"] = clean({"moves": moves, "horizon_days": 5, "hedges_share": hedges and hedges["risk_share"],
                                      "demo": demo, "cap_pct": cap})


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def print_probability(a: Analysis, odds, risk: list[dict], moves: int, demo: bool, console: Console) -> None:
    """Per condor both measures side by side (risk-neutral · real-world), the package's PoP
    and each tranche's share of the book's P&L variance."""
    real = odds.real
    world = ("real-world: no realized vol (too few SPX closes in the history store)" if real is None else
             f"real-world: lognormal, realized vol {100 * real.vol:.1f}% over {real.window} closes to {real.last}"
             f"{' (DEMO history)' if real.demo else ''}, drift rf + MRP {100 * real.drift:.1f}%/yr")
    t = _table(f"Probability, % (risk-neutral from the smile · {world})")
    days = a.whatif.days
    for col in ("ID", "PoP expiry", *((f"PoP {days:+g}d",) if days else ()), "Touch put", "Touch call",
                "Max loss", "±1σ pts"):
        t.add_column(col, justify="left" if col == "ID" else "right")
    for c, o in zip(a.condors, odds.condors):
        move = f"{o.move:,.0f}" + ("" if o.move_straddle is None else f" (straddle {o.move_straddle:,.0f})")
        _add(t, c.condor.id, f"{pct(o.pop)} · {pct(o.pop_real)}",
             *((f"{pct(o.pop_whatif)} · {pct(o.pop_whatif_real)}",) if days else ()),
             f"{pct(o.touch_put)} · {pct(o.touch_put_real)}", f"{pct(o.touch_call)} · {pct(o.touch_call_real)}",
             f"{pct(o.max_loss)} · {pct(o.max_loss_real)}", move)
    console.print(t)
    b = odds.book
    if b:
        line = f"Package (condors + hedges) PoP at {b.horizon}: {pct(b.pop)} · {pct(b.pop_real)} %"
        if days:
            line += f"; at the what-if date ({days:+g} d): {pct(b.pop_whatif)} · {pct(b.pop_whatif_real)} %"
        console.print(printable(line), markup=False, highlight=False)
    if risk:
        r = _table(f"Risk contribution: share of the book's P&L variance over {moves} 5-day SPX moves"
                   f" of the history store{' (DEMO)' if demo else ''}, VIX by the spot-vol map")
        for col in ("Tranche", "Condors", "Share %", "P&L sd $", "Equal-risk qty"):
            r.add_column(col, justify="left" if col in ("Tranche", "Condors", "Equal-risk qty") else "right")
        for x in risk:
            mark = "*" if x.get("equal_risk_capped") else ""
            qty = " ".join(f"{k} {v}{mark}" for k, v in x.get("equal_risk_quantity", {}).items())
            _add(r, x["expiry"] or "hedges", ", ".join(x.get("condors") or x.get("hedges")), pct(x["risk_share"]),
                 f"{x['pnl_sd']:,.0f}", qty)
        console.print(r)
        console.print(printable(cap_note(risk, a.book.capital)), markup=False, highlight=False)


def cap_note(risk: list[dict], s) -> str:
    """What the equal-risk sizes are held to: the [capital] tranche cap in force, else none."""
    cap = next((x["cap_pct"] for x in risk if x["kind"] == "tranche"), None)
    if cap is None:
        return (f"Equal-risk sizes: the tranche cap is not in force (WACC <= {s.wacc_trigger_pct:g}%),"
                " so they are not held to it")
    capped = [f"{k} {v}" for x in risk if x.get("equal_risk_capped") for k, v in x["equal_risk_uncapped"].items()]
    return (f"Equal-risk sizes within the [capital] tranche cap (WACC > {s.wacc_trigger_pct:g}%): a tranche's max loss"
            f" <= {cap:g}% of equity; " + (f"* capped (equal risk alone: {', '.join(capped)})" if capped
                                           else "none capped"))


def print_lifecycle(a: Analysis, settled, console: Console) -> None:
    """Settlements made on loading (not yet written: `alvh settle` does), positions
    awaiting a settlement price, and the realized total."""
    for r in settled.records:
        console.print(printable(f"SETTLED {r.id} x{r.quantity} ({r.description}): {r.realized:+,.2f} $ — {r.how}"
                                " (not yet written: run `alvh settle`)"), markup=False, highlight=False)
    for w in settled.awaiting:
        console.print(printable(f"{w.id}: {w.label} — add a [[settlement]] to the market file"), markup=False,
                      highlight=False)
    t = a.totals
    console.print(f"P&L: unrealized {t.pnl:+,.0f} $, realized {t.realized:+,.0f} $,"
                  f" total {t.pnl_total:+,.0f} $ ({len(a.book.closed)} ledger records)", highlight=False)


def print_report(a: Analysis, console: Console) -> None:
    console.print(fmt.headline(a), highlight=False)
    console.print(condor_table(a))
    console.print(condor_risk_table(a))
    if a.hedges:
        console.print(hedge_table(a))
    console.print(book_table(a))
    if a.alvh:
        for table in hedge_engine_tables(a):
            console.print(table)
        for line in hedge_engine_notes(a):
            console.print(printable(line), markup=False)
    console.print("[b]Assumptions[/b]")
    for line in a.assumptions:
        console.print(printable(f"  • {line}"), markup=False)


def _add(table: Table, *cells: str) -> None:
    """Cells are data, never markup: an id or note may contain [brackets] (or escapes)."""
    from rich.markup import escape
    table.add_row(*(escape(printable(c)) for c in cells))


def _table(title: str) -> Table:
    from rich import box
    from rich.table import Table
    # compact: an 80-column terminal over SSH is the common case
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                 collapse_padding=True)


def condor_table(a: Analysis) -> Table:
    t = _table("Open condors (points per condor; $ for the position)")
    for col in ("ID", "Expiry", "DTE", "Strikes", "Qty", "Credit", "Mark", "P&L $", "Real $", "Life $",
                "Max P $", "Max L $"):
        t.add_column(col, justify="left" if col in ("ID", "Strikes") else "right")
    for c in a.condors:
        x = c.condor
        _add(t, x.id, f"{x.expiry:%Y-%m-%d}", fmt.dte(c.dte), fmt.strikes(x), str(x.quantity),
                  f"{x.credit:.2f}", fmt.num(c.mark, ".2f"), fmt.money(c.pnl), fmt.money(c.pnl_realized),
                  fmt.money(c.pnl_lifetime), f"{c.max_profit:,.0f}",
                  f"{-c.max_loss:,.0f}")
    return t


def condor_risk_table(a: Analysis) -> Table:
    t = _table("Condor risk")
    for col in ("ID", "BE at expiry", "BE T+0", "To short", "Δ $/pt", "Θ $/day", "V $/SPX vol pt"):
        t.add_column(col, justify="left" if col in ("ID", "BE at expiry", "BE T+0") else "right")
    for c in a.condors:
        _add(t, c.condor.id, fmt.levels(c.breakevens_expiry), fmt.levels(c.breakevens_t0),
                  fmt.distance(c), fmt.num(c.greeks.delta, "+,.1f"), fmt.money(c.greeks.theta),
                  fmt.money(c.greeks.vega))
    return t


def hedge_table(a: Analysis) -> Table:
    t = _table("Hedges (VIX legs: Black-76 on the future of their expiry)")
    for col in ("ID", "L", "Qty", "Legs", "DTE", "Entry", "Mark", "P&L $", "Real $", "Life $", "Δ own",
                "Δ β-wtd", "Θ $/day", "V $/own vol pt"):
        t.add_column(col, justify="left" if col in ("ID", "Legs") else "right")
    for h in a.hedges:
        _add(t, h.hedge.id, str(h.hedge.layer), str(h.hedge.quantity), fmt.legs(h),
                  fmt.dte(h.days_left), f"{h.entry:.2f}", fmt.num(h.mark, ".2f"), fmt.money(h.pnl),
                  fmt.money(h.pnl_realized), fmt.money(h.pnl_lifetime),
                  fmt.num(h.greeks.delta, "+,.1f"), fmt.num(h.beta_delta, "+,.1f"), fmt.money(h.greeks.theta),
                  fmt.money(h.greeks.vega))
    return t


def book_table(a: Analysis) -> Table:
    t = a.totals
    table = _table("Book (Δ in SPX-equivalent $ per SPX point; vega apart by unit)")
    vxx = bool(t.vxx_vega)
    for col in ("", "P&L $", "Δ $/SPX pt", "Γ /pt", "Θ $/day", "V $/SPX vol pt", "V $/VIX-opt vol pt",
                *(("V $/VXX-opt vol pt",) if vxx else ()), "$ per +1 VIX pt (spot-vol map)"):
        table.add_column(col, justify="right" if col else "left")
    rows = (("Condors", t.condor_pnl, t.condor_greeks, t.spx_vega, None, None, t.condor_vix_point),
            ("Hedges", t.hedge_pnl, t.hedge_greeks, None, t.vix_vega, t.vxx_vega, t.hedge_vix_point),
            ("Net", t.pnl, None, t.spx_vega, t.vix_vega, t.vxx_vega, t.vix_point))
    for name, pnl, g, v_spx, v_vix, v_vxx, vix_pt in rows:
        gamma = f"{g.gamma:+.3f}" if name == "Condors" else "—" if g else ""  # VIX gamma is per VIX point
        delta, theta = (g.delta, g.theta) if g else (t.beta_weighted_delta, t.greeks.theta)
        vegas = [v_spx, v_vix] + ([v_vxx] if vxx else [])
        _add(table, name, fmt.money(pnl), f"{delta:+,.1f}", gamma, fmt.money(theta),
             *("—" if v is None else fmt.money(v) for v in vegas), fmt.money(vix_pt))
    table.caption = (f"Condor book break-evens — at expiry: {fmt.levels(t.breakevens_expiry)};"
                     f" T+0: {fmt.levels(t.breakevens_t0)}\n"
                     "$ per +1 VIX pt: every leg repriced with VIX + 1, each future + e^(-kappa T),"
                     " SPX vols x VIX'/VIX, VXX x (VIX'/VIX)^exponent, SPX unchanged")
    return table


def hedge_engine_tables(a: Analysis) -> list[Table]:
    x = a.alvh
    r = x.ratio
    current = "n/a (the condor book does not lose)" if r.current is None else f"{r.current:.2f}"
    rules = _table(f"Hedge ratio in \"{r.reference}\": current {current}, target {r.target:.2f}"
                   f" = base {r.base:g} x multiplier {r.multiplier:.2f}")
    for col in ("Rule", "Fired", "Effect", "Inputs"):
        rules.add_column(col)
    for rule in r.rules:
        fired = {True: "FIRED", False: "no", None: "unknown"}[rule.fired]
        _add(rules, rule.name, fired, rule.effect, rule.inputs)

    stress = _table("Stress (P&L $ from now; VIX follows the spot-vol map unless fixed)")
    for col in ("Scenario", "SPX", "Days", "VIX", "Condors", "L1", "L2", "L3", "Hedges", "Package"):
        stress.add_column(col, justify="left" if col == "Scenario" else "right")
    for s in x.stress:
        _add(stress, s.name, fmt.num(s.spx_move, "+.0%"), f"{s.days:g}", f"{s.vix:.1f}", fmt.money(s.book_pnl),
                       *(fmt.money(v) for v in s.layer_pnl), fmt.money(s.hedge_pnl), fmt.money(s.package_pnl))

    layers = _table("ALVH layers (stress P&L in each layer's own stress, named below; drag = (theta"
                    " + futures roll-down) x 365 / equity)")
    for col in ("Layer", "Stress", "Held $", "Target $", "Cover", "Trade", "Cost $", "Θ $/day", "Drag %/yr"):
        layers.add_column(col, justify="left" if col in ("Layer", "Stress", "Trade") else "right")
    for l in x.layers:  # held against target in stress dollars: contracts of different instruments differ
        _add(layers, f"L{l.layer} {l.name}" + (" (dormant)" if l.dormant else ""), l.stress,
                       fmt.money(l.stress_pnl_held), fmt.money(l.stress_pnl_target), fmt.coverage(l),
                       fmt.trades_short(l.trades),
                       fmt.money(sum(t.cost for t in l.trades)), fmt.money(l.theta), fmt.num(l.drag_pct, ".2f"))
    menu = _table("Candidates, cheapest coverage first (one unit, in the layer's own stress; the first is chosen)")
    for col in ("Layer", "Instrument", "Gain $", "Premium $", "Drag %/yr", "Gain $ per $/yr drag"):
        menu.add_column(col, justify="left" if col in ("Layer", "Instrument") else "right")
    for l in x.layers:
        for i, c in enumerate(l.candidates):
            _add(menu, f"L{l.layer}" + (" chosen" if i == 0 else ""), c.instrument, fmt.money(c.gain),
                 fmt.money(c.premium), fmt.num(c.drag_pct, ".3f"),
                 fmt.per_drag(c).replace(" $ per $/yr", ""))
    return [rules, stress, layers, menu]


def hedge_engine_notes(a: Analysis) -> list[str]:
    x = a.alvh
    out = [f"  L{l.layer} trade: {fmt.trade(t)} ({fmt.money(t.cost)} $)" for l in x.layers for t in l.trades]
    out += [f"  L{l.layer}: {l.instrument} — {l.note}" for l in x.layers if l.note]
    out.append(f"Package break-evens (condors + hedges, spot-vol map) — T+0: {fmt.levels(x.breakevens_t0)};"
               f" at {x.horizon}: {fmt.levels(x.breakevens_horizon)}")
    out.append(f"Hedge drag {x.drag_pct:.2f}%/yr of equity" + (f" — WARNING: {x.drag_warning}" if x.drag_warning else ""))
    if x.budget_line:
        out.append(x.budget_line)
    if any(l.trades for l in x.layers):
        ratio = "n/a" if x.coverage_after is None else f"{x.ratio.current or 0:.2f} -> {x.coverage_after:.2f}"
        out.append(f"After the proposed trades: drag {x.drag_pct_after:.2f}%/yr, premium at risk"
                   f" {x.premium_pct_after:.1f}% of equity, hedge ratio in \"{x.ratio.reference}\" {ratio}")
    if x.upside_note:
        out.append(f"WARNING: {x.upside_note}")
    out += [f"ROLL {r.hedge_id} (L{r.layer}, {r.expiry}, {fmt.dte(r.days_left)} days left) to {r.roll_to}:"
            f" est. cost {fmt.money(r.cost)} $" for r in x.rolls]
    out += [f"PARITY BREAK {p.underlying} {p.expiry} {p.strike:g}: C - P off by {p.deviation:+.2f} pts"
            for p in x.parity]
    return out


def beta_lines(model, calibrated: float | None) -> list[str]:
    """The report's two betas, one line each: the one the numbers use, and the one the history fits."""
    source = {"default": "the default", "book": "the book's [model] beta"}.get(model.beta_source, model.beta_source)
    fitted = (f"{calibrated:.2f}" if calibrated is not None else "n/a (too little VIX and SPX history)")
    return [f"β in use {model.beta:.2f} ({source}): the spot-vol map's d ln VIX / d ln SPX;"
            " it moves VIX in what-ifs and stresses and beta-weights the hedge deltas",
            f"β calibrated {fitted}: the same slope fitted to the stored VIX and SPX closes;"
            " not used until `alvh data calibrate --save` writes it to the book"]


def print_signals(sset, console: Console, model=None) -> None:
    demo = " (DEMO history)" if sset.demo else ""
    t = _table(f"Signals{demo} — regime: {sset.regime}" + (f", calibrated β {sset.beta:.2f}" if sset.beta else ""))
    for col in ("Signal", "Value", "Threshold", "State", "As of", "Note"):
        t.add_column(col, justify="right" if col in ("Value", "Threshold") else "left")
    for s in sset.signals:
        _add(t, s.name, fmt.value(s.value), fmt.value(s.threshold), s.state,
                  s.as_of.isoformat() if s.as_of else "—", s.note)
    console.print(t)
    if model is not None:
        for line in beta_lines(model, sset.beta):
            console.print(printable(line), markup=False, highlight=False)
