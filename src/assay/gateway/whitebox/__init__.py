"""White-box access as a fixed, declarative set of operations; no tester code runs."""
