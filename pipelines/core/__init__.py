"""The core: plain functions and small classes for each step of the flow.

decode (bytes -> text), pagekind and extract's helpers (is it an article), textnorm (the text
the fingerprints see), furniture (what recurs across a site's pages), fingerprint (shingles
and MinHash), grouping (LSH candidates, verification, union-find), discovery (what feeds
and sitemaps announce), records (the documents row), endofrun (a run's end as a step:
clean, fingerprint, group, name origins), clusters (published cluster rows), origin (the
likely original), metrics (how quality is scored), urls (canonical URLs), config (one config
for all of them). Nothing here imports Scrapy or touches the disk.
"""
