"""Suite-wide settings.

Hypothesis runs with no per-example deadline and without the too-slow health
check: CI machines here have two noisy cores, and speed is measured by the
benchmarks, never by timing a test. The number of examples is unchanged.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "writer-stream-testkit",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("writer-stream-testkit")
