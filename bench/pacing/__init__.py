"""Predictive pacing benchmark: seeded discrete-event simulation of docs SCENARIOS.md."""
