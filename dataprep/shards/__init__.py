"""Packing and the shard formats (Parquet, Megatron indexed dataset)."""
