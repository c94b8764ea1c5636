"""Synthetic Cboe-format option chains, built from Black-76 with known forwards and smiles.

SYNTHETIC: no real VIX option chain is in ../shared/data, so the VIX tests read chains made
here, in the layout of Cboe's delayed-quotes download (the real SPX chain shows it). Each
quote is the model price -/+ a half-spread written with ten decimals, so the mids are the
model prices and parity gives the forwards back exactly.
"""
from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
from scipy.special import ndtr

from core.market.smile import Svi, black
from core.model.instruments import NEW_YORK, SPX, VIX_OPT, settle_time

QUOTE_TIME = datetime(2023, 9, 14, 16, 31, tzinfo=NEW_YORK)
HEADER = ("Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,"
          "Strike,Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest")
# VIX futures by expiry (the Wednesdays VIX options settle on); a smile from SSVI below
VIX_FUTURES = {("VIX", date(2023, 9, 20)): 14.35, ("VIXW", date(2023, 9, 27)): 15.10,
               ("VIX", date(2023, 10, 18)): 16.42, ("VIX", date(2023, 11, 15)): 17.65,
               ("VIX", date(2023, 12, 20)): 18.30}
VIX_RATE = 0.053


def ssvi(theta: float, rho: float, eta: float) -> Svi:
    """Gatheral and Jacquier's SSVI slice (power law, gamma 1/2) as raw SVI: ATM total
    variance theta; free of butterfly arbitrage for eta (1 + |rho|) <= 2, and of calendar
    arbitrage across slices whose theta rises with T."""
    phi = eta / math.sqrt(theta * (1.0 + theta))
    return Svi(a=0.5 * theta * (1 - rho * rho), b=0.5 * theta * phi, rho=rho, m=-rho / phi,
               sigma=math.sqrt(1 - rho * rho) / phi)


def vix_smile(t: float) -> Svi:
    """The synthetic VIX slice at T years: ATM vol 95% at 5.7 days, falling as T^-0.15,
    skewed up (rho 0.6) as VIX smiles are."""
    atm = 0.95 * (t / 0.0156) ** -0.15
    return ssvi(atm * atm * t, 0.6, 1.0)


def cboe_chain(index: str, last: float, expiries: dict, strikes, smile_of, rate: float,
               half_spread: float = 0.01, quote_time: datetime = QUOTE_TIME) -> str:
    """The text of a Cboe chain download: expiries {(root, expiry): forward}, one row per
    strike, each option at D x Black(F, K, T, vol) -/+ half_spread (bid 0 when the price is
    below it), vol from smile_of(T).w(ln(K / F)). IV and Delta columns are the model's."""
    lines = ["", f"{index},Last: {last:.4f},Change: 0.0",
             f'"Date: {quote_time:%B} {quote_time.day}, {quote_time.year} at'
             f' {quote_time.hour % 12 or 12}:{quote_time:%M} {quote_time:%p} {quote_time:%Z}",'
             f"Bid: {last:.2f},Ask: {last:.2f},Size: 1*1,Volume: 0", HEADER]
    for (root, day), fwd in expiries.items():
        underlying = VIX_OPT if root.startswith("VIX") else SPX
        t = (settle_time(day, underlying, am=root == "SPX") - quote_time.timestamp()) / (365 * 86400)
        t = max(t, 1 / (365 * 24))  # a settled expiry, still listed: quoted as if an hour were left
        disc = math.exp(-rate * t)
        k = np.asarray(strikes, float)
        vol = np.sqrt(smile_of(t).w(np.log(k / fwd)) / t)
        d1 = np.log(fwd / k) / (vol * math.sqrt(t)) + 0.5 * vol * math.sqrt(t)
        for K, v, d in zip(k, vol, d1):
            cells = [f"{day:%a %b %d %Y}"]
            for kind, sign in (("C", 1.0), ("P", -1.0)):
                price = disc * float(black(sign > 0, fwd, K, t, v))
                bid, ask = ((price - half_spread, price + half_spread) if price > half_spread
                            else (0.0, 2 * half_spread))
                symbol = f"{root}{day:%y%m%d}{kind}{round(K * 1000):08d}"
                delta = float(ndtr(sign * d)) * sign
                cells += [symbol, "0", "0", f"{bid:.10f}", f"{ask:.10f}", "0", f"{v:.4f}", f"{delta:.4f}",
                          "0", "0"]
                if kind == "C":
                    cells.append(f"{K:.2f}")
            lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def vix_chain(futures: dict | None = None, smile_of=vix_smile, half_spread: float = 0.01) -> str:
    """A synthetic Cboe VIX option chain (roots VIX and VIXW), strikes 10 to 40 by 0.5."""
    return cboe_chain("CBOE Volatility Index", 13.79, futures or VIX_FUTURES,
                      np.arange(10.0, 40.01, 0.5), smile_of, VIX_RATE, half_spread)
