"""Exact and near-duplicate removal: shingles, MinHash signatures, LSH band keys, verification
and connected components, as pure functions that ``pipelines.dedup`` wires into Beam."""
