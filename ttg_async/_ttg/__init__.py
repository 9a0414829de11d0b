"""TTG's own room: the TTG v3 protocol, models, resources, client and crawl.

Everything public here is re-exported from :mod:`ttg_async`.
"""
