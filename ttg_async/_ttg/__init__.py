"""TTG's own room: the TTG v3 protocol, models, resources, client and crawl.

Everything public here is re-exported from `ttg_async`.
"""
