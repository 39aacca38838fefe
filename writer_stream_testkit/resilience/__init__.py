"""The resilience run: every test's own Writer streams under every fault, judged test by test.

``kinds`` names the faults and where each lands, ``inject`` applies one to the
first attempt of each streaming request a double answers, ``judge`` turns what
happened into a verdict by a table of rules, ``report`` renders the verdicts
(terminal grid, JSON), ``chaos`` is the seeded, probabilistic form for whole
sessions, and ``plugin`` is the thin pytest edge.
"""
