"""Suite-wide Hypothesis settings.

No per-example deadline: timing belongs in ``benchmarks/`` (DEVELOPERS.md), and a
deadline makes a correct test fail on a slow or busy machine. Tests that guard
against hangs set their own (``test_fuzz.py``).
"""

from hypothesis import HealthCheck, settings

settings.register_profile("rrm-theory", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("rrm-theory")
