"""Beam wiring: one composite PTransform per stage, and the commands that run them."""
