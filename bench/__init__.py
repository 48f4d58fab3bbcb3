"""Benchmarks of the pipeline on two cores: ``python -m bench`` (``make bench``) measures every
stage against its baseline in one run; ``python -m bench.scale`` (``make bench-scale``) groups a
million generated documents with the product's grouping code. See README "Benchmarks"."""
