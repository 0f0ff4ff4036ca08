"""One bucket: ``_core.BucketCore`` (meta reads, THE compare-and-set meta commit, purge,
meta scan, link resolution) and the operations beside it (``_put``, ``_get``, ``_meta``,
``_objects``, ``_listing``, ``_sweep``, ``_watch``). Every part depends on the core, never
on the ``ObjectStore`` facade above it.
"""
