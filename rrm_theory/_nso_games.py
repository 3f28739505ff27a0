"""The numbers behind :data:`rrm_theory.nso.GAMES`, as plain Python (no numpy), for the CLI's parsers.

Guard and houdini lines ``(slope, intercept)`` (domain Elo = slope * general Elo + intercept)
that Engels, Baek, Kantamneni and Tegmark (2025, arXiv:2504.18530) fitted for their four
oversight games, from the authors' code; the general Elo of the starting guard in their
application; the most steps their code tries.
"""

from __future__ import annotations

__all__ = ["GAME_LINES", "DEFAULT_START", "DEFAULT_MAX_STEPS"]

#: name -> (guard line, houdini line), each (slope, intercept).
GAME_LINES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "mafia": ((1.5305382247861692, -622.9317463747565), (0.8344154600833648, 173.2206142928111)),
    "debate": ((1.0983942546126946, -47.49890598669299), (0.04936115584058696, 1080.3983558810423)),
    "backdoor-code": ((0.7192614624976502, 552.0221384375485), (1.9518243250891987, -1361.61176329289)),
    "wargames": ((1.1666737577004682, -229.07366870912878), (0.6795738441484533, 422.0053838057133)),
}

#: General Elo of the starting guard in the paper's application to its games.
DEFAULT_START = 1103.0

#: Largest number of oversight steps tried by default.
DEFAULT_MAX_STEPS = 20
