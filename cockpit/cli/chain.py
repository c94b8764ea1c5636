"""`alvh chain import FILE`: a Cboe option-chain CSV (SPX/SPXW or VIX/VIXW) into the market
file: as_of, the index, the implied rate and dividend, each expiry's forward and SVI smile,
and bid/ask marks for the legs the book holds. Prints what it found per expiry."""
from __future__ import annotations

from cockpit.cli.args import path_arg
from cockpit.cli.output import say_done
from core.model.errors import InputError, printable


def add_parsers(sub, files) -> None:
    chain = sub.add_parser("chain", help="option chains")
    csub = chain.add_subparsers(dest="chain_command", required=True, metavar="COMMAND")
    p = csub.add_parser("import", parents=[files], help="a Cboe chain CSV into the market file")
    p.add_argument("file", type=path_arg, help="the CSV as downloaded from Cboe's delayed quotes")
    p.add_argument("-o", "--output", type=path_arg, default=None,
                   help="market file to write (default: --market, or your own market file)")
    p.set_defaults(func=cmd_import)


def cmd_import(args) -> int:
    from pathlib import Path

    from cockpit.cli.inputs import load, resolve_inputs
    from core.io import paths
    from core.io.atomic import describe_save
    from core.market.chain import read_chain
    from core.market.chainfile import market_from_chain
    from core.market.marketfile import save_market

    x = load(args)
    chain = read_chain(args.file)
    got = market_from_chain(chain, x.market, x.book)
    _, _, market_path, demo = resolve_inputs(args.book, args.market)
    target = Path(args.output) if args.output else (paths.user_market() if demo else Path(market_path))
    _prices(x.book, got.market, chain.source)
    lines = _summary(chain, got)
    try:
        existed = target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        save_market(got.market, target)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=str(target)) from None
    say_done(*(printable(line) for line in lines), f"wrote {describe_save(target, existed)}")
    return 0


def _prices(book, market, source: str) -> None:
    """The book must price on the market about to be written: else nothing is written."""
    from core.engine import analyze

    try:
        analyze(book, market)
    except InputError as exc:
        raise InputError(f"not written: the book does not price on the market this chain makes ({exc})",
                         file=source) from None


def _summary(chain, got) -> list[str]:
    import numpy as np

    h, m = chain.header, got.market
    out = [f"{chain.source}: {h.index} {h.last:,.2f} at {h.quote_time:%Y-%m-%d %H:%M} New York"]
    counts = chain.counts
    out.append("quotes (calls/puts): " + ", ".join(f"{r} {c:,}/{p:,}" for r, (c, p) in counts.items()))
    out.append(f"{'root':5} {'expiry':10} {'days':>6} {'forward':>10} {'rate':>7} {'div':>7} {'pairs':>5}  smile")
    for e in chain.expiries:
        fwd = "—" if e.forward is None else f"{e.forward:,.2f}"
        rate = "—" if e.rate is None else f"{e.rate:.2%}"
        div = "—" if e.dividend is None else f"{e.dividend:.2%}"
        smile = f"SVI, fit {e.rmse:.2f} vol pts" if e.svi is not None else (e.smile_reason or e.forward_reason or "")
        if e.repair:
            smile += f" ({e.repair})"
        out.append(f"{e.root:5} {e.expiry} {e.t * 365:6.1f} {fwd:>10} {rate:>7} {div:>7} {e.pairs:5d}  {smile}")
    ours, cboe = [], []
    for e in chain.expiries:
        for s in (e.calls, e.puts):
            ok = np.isfinite(s.iv) & (s.cboe_iv > 0) & (np.abs(s.cboe_delta) >= 0.05) & (np.abs(s.cboe_delta) <= 0.5)
            if e.t * 365 > 7:
                ours.append(s.iv[ok])
                cboe.append(s.cboe_iv[ok])
    if ours and sum(len(x) for x in ours):
        gap = np.abs(np.concatenate(ours) - np.concatenate(cboe)) * 100
        out.append(f"our IV vs Cboe's IV column (its own model), |delta| 0.05-0.5, over 7 days: median"
                   f" {np.median(gap):.2f}, 95th percentile {np.percentile(gap, 95):.2f} vol pts ({gap.size:,} quotes)")
    if got.carry_from:
        out.append(f"rate {m.rate:.3%} and dividend {m.dividend_yield:.3%}: the median over {got.carry_from}"
                   " expiries of 7-120 days (the engine prices with one of each)")
    out.append(f"{got.smiles} smiles and {got.marks} marks written")
    out += [f"not marked: {x}" for x in got.unmarked]
    return out
