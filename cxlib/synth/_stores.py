"""The sample company's 50 stores: each customer's home store, nested in its region.

Drawn from a stream of its own (the fifth child of the company's seed), so adding the
column changed no other value of the sample. Store sizes are unequal (gamma weights),
and two stores opened late (a fiftieth of a usual store's customers): below a report's
minimum n, as small units are in real store networks.
"""

from __future__ import annotations

import numpy as np

STORES: dict[str, tuple[str, ...]] = {  # region -> its stores (the city each one is in)
    "Kanto": ("Shinjuku", "Shibuya", "Ikebukuro", "Ginza", "Ueno", "Kichijoji", "Tachikawa",
              "Machida", "Yokohama", "Kawasaki", "Fujisawa", "Chiba", "Funabashi", "Kashiwa",
              "Omiya", "Kawagoe", "Utsunomiya"),
    "Kansai": ("Umeda", "Namba", "Tennoji", "Sakai", "Kyoto", "Karasuma", "Sannomiya",
               "Himeji", "Nara", "Wakayama"),
    "Chubu": ("Nagoya", "Sakae", "Kanayama", "Shizuoka", "Hamamatsu", "Niigata", "Kanazawa",
              "Gifu"),
    "Kyushu": ("Tenjin", "Hakata", "Kokura", "Kumamoto", "Kagoshima", "Nagasaki"),
    "Tohoku": ("Sendai", "Morioka", "Aomori", "Koriyama"),
    "Hokkaido": ("Sapporo", "Asahikawa", "Hakodate"),
    "Chugoku": ("Hiroshima", "Okayama"),
}
NEW_STORES = ("Hakodate", "Koriyama")  # opened late: a fiftieth of a usual store's weight
_STREAM = 4  # the company's seed spawns streams 0-3 for everything else


def draw_stores(region: np.ndarray, seed: int) -> np.ndarray:
    """Each customer's home store, a store of the customer's region (text, one per row)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(_STREAM + 1)[_STREAM])
    region = np.asarray(region).astype(str)
    out = np.empty(len(region), dtype=object)
    for name, stores in STORES.items():
        weights = rng.gamma(4.0, size=len(stores))
        weights *= [0.02 if s in NEW_STORES else 1.0 for s in stores]
        at = np.flatnonzero(region == name)
        out[at] = np.asarray(stores, dtype=object)[
            rng.choice(len(stores), size=len(at), p=weights / weights.sum())]
    if (missing := np.flatnonzero(out == None)).size:  # noqa: E711 - a region without stores
        out[missing] = region[missing]
    return out
