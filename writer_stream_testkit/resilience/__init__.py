"""The resilience run: every test's own streams under every fault, judged, and its reports."""
