"""`alvh suggest --dte 45 --delta 0.16 --wings 50`: a new condor tranche, struck by delta on
the current smile, priced, and the book with it (core.capital.suggest). Writes nothing: the
cockpit's n adds it (u undoes), or type it into the book."""
from __future__ import annotations

import json
import sys

from cockpit import fmt
from cockpit.cli.args import number_type, whole_number
from core.model.errors import printable


def add_parsers(sub, files) -> None:
    p = sub.add_parser("suggest", parents=[files], help="a new condor tranche by DTE, delta and wings")
    p.add_argument("--dte", type=number_type("--dte"), default=45.0, metavar="DAYS",
                   help="calendar days to expiry; the listed expiry nearest it (default 45)")
    p.add_argument("--delta", type=number_type("--delta"), default=0.16, metavar="D",
                   help="|delta| of the short strikes, 0.01 to 0.49 (default 0.16)")
    p.add_argument("--wings", type=number_type("--wings"), default=50.0, metavar="PTS",
                   help="points from each short strike to its wing, a multiple of 5 (default 50)")
    p.add_argument("--quantity", type=whole_number, default=None, metavar="N",
                   help="condors (default: the largest within --max-loss-pct)")
    p.add_argument("--max-loss-pct", type=number_type("--max-loss-pct"), default=2.0, metavar="PCT",
                   help="one tranche's max loss, %% of equity (default 2)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=cmd_suggest)


def cmd_suggest(args) -> int:
    from cockpit.capital import spx_closes
    from cockpit.cli.inputs import load, settle_loaded
    from core.backtest.calendar import nearest_expiry
    from core.capital.suggest import check_inputs, suggest, suggestion_to_dict
    from core.export import clean
    from core.history.store import load_signals

    check_inputs(args.dte, args.delta, args.wings, args.quantity, args.max_loss_pct)  # before any file is read
    x = load(args)
    settled = settle_loaded(x)
    signals = load_signals(args.db, x.market).to_inputs()
    s = suggest(settled.priceable, x.market, int(args.dte), args.delta, args.wings, args.quantity,
                args.max_loss_pct, nearest_expiry, signals, spx_closes=spx_closes(args.db, x.market.demo))
    if args.json:
        sys.stdout.write(json.dumps(clean(suggestion_to_dict(s)), indent=2, allow_nan=False) + "\n")
        return 0
    for line in suggestion_lines(s):
        print(printable(line))
    return 0


def _odds(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.0%}"


def _ratio(a) -> str:
    r = a.alvh.ratio.current if a.alvh else None
    return "n/a" if r is None else f"{r:.2f}"


def suggestion_lines(s) -> list[str]:
    """The suggestion as the report and the cockpit's form print it."""
    c, r, o, b0, b1 = s.condor, s.result, s.odds, s.before.totals, s.after.totals
    k0, k1 = s.capital_before, s.capital_after
    held = f", {s.held:,.0f} $ held at this expiry" if s.held else ""
    cap = (f"largest within {s.max_loss_pct:g}% of equity{held}: {s.quantity_cap}" if s.quantity_cap else
           f"none fits {s.max_loss_pct:g}% of equity{held} (one loses {s.max_loss_each:,.0f} $)")
    if not s.fits:
        cap += f" — WARNING: {c.quantity} lose up to {r.max_loss:,.0f} $, over the cap"
    target = f"target {s.after.alvh.ratio.target:.2f}" if s.after.alvh else ""
    return [
        f"{c.id}: {c.quantity} x {c.root} {c.expiry} ({fmt.dte(r.dte)} d) {fmt.strikes(c)}"
        f" · expiry from {s.expiry_from}",
        f"Shorts |Δ| put {s.deltas[0]:.3f} · call {s.deltas[1]:.3f} (target {s.target_delta:g}) at vols"
        f" {s.vols[1]:.1%} / {s.vols[2]:.1%}",
        f"Credit {c.credit:.2f} pts at mid · max profit {r.max_profit:,.0f} $ · max loss {r.max_loss:,.0f} $"
        f" ({s.max_loss_each:,.0f} $ each) · quantity: {cap}",
        f"Cap: {s.cap_source}",
        f"Break-evens at expiry {fmt.levels(r.breakevens_expiry)} · T+0 {fmt.levels(r.breakevens_t0)}",
        f"PoP at expiry {_odds(o.pop)} risk-neutral, {_odds(o.pop_real)} real-world · touch put"
        f" {_odds(o.touch_put)} / call {_odds(o.touch_call)} · max loss {_odds(o.max_loss)} · expected move"
        f" ±{o.move:,.0f} pts",
        f"Δ {r.greeks.delta:+.1f} $/SPX pt · Γ {r.greeks.gamma:+.4f} /pt · Θ {r.greeks.theta:+.0f} $/day"
        f" · V {r.greeks.vega:+.0f} $/vol pt",
        f"Book after: net Δ {b1.beta_weighted_delta:+.1f} $/SPX pt ({fmt.chg(b1.beta_weighted_delta, b0.beta_weighted_delta, '+.1f') or '0'})"
        f" · Θ {b1.greeks.theta:+.0f} ({fmt.chg(b1.greeks.theta, b0.greeks.theta) or '0'}) $/day"
        f" · V {b1.spx_vega:+.0f} ({fmt.chg(b1.spx_vega, b0.spx_vega) or '0'}) $/SPX vol pt",
        f"Hedge ratio {_ratio(s.before)} -> {_ratio(s.after)} {target}".rstrip(),
        f"Beta {k0.beta:+.3f} -> {k1.beta:+.3f} (band {k1.settings.beta_band[0]:g} to {k1.settings.beta_band[1]:g})"
        f" · Reg-T {s.reg_t:,.0f} $ · book Reg-T {k0.reg_t:,.0f} -> {k1.reg_t:,.0f} $"
        f" ({k1.reg_t_pct:.1f}% of equity) · PM est. {k0.pm:,.0f} -> {k1.pm:,.0f} $",
        *(f"After: {rule.text}" for rule in k1.rules),
    ]
