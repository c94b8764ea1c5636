"""What the instruments are: underlying codes, contract multipliers and settlement times."""
from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
SPX, VIX_OPT, VIX_FUT, VXX_OPT = 0, 1, 2, 3
SPX_SETTLE = time(16, 0)  # SPXW settles on the 16:00 New York close
AM_SETTLE = time(9, 30)  # VIX legs and SPX (AM) monthlies settle on the 09:30 opening prints
MULT = {SPX: 100.0, VIX_OPT: 100.0, VIX_FUT: 1000.0, VXX_OPT: 100.0}


@lru_cache(maxsize=4096)
def settle_time(expiry: date, underlying: int, am: bool = False) -> float:
    """POSIX seconds of settlement: VIX legs and AM SPX at 09:30, the rest at 16:00."""
    when = AM_SETTLE if am or underlying in (VIX_OPT, VIX_FUT) else SPX_SETTLE
    return datetime.combine(expiry, when, NEW_YORK).timestamp()
