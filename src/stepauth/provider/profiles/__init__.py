"""Security profiles a client can be held to (``[[clients]] profile = "…"``).

Only ``"fapi2"`` exists: the FAPI 2.0 Security Profile (:mod:`.fapi2`).
"""

from stepauth.provider.profiles.fapi2 import FAPI2, FAPI2_ALGS, PROFILES

__all__ = ["FAPI2", "FAPI2_ALGS", "PROFILES"]
