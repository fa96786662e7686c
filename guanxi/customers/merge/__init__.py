"""Merging two duplicate customers, and undoing it (C1, 客户查重 → 合并).

The customer kept (the survivor) takes the field values chosen on the compare page, the other
one's contacts, needs, tags and subsidiaries; the other goes to the recycle bin pointing at the
survivor (Customer.merged_into). A CustomerMerge row records exactly what moved, so that undoing
the merge within the recycle window moves back those rows and nothing else.

services (writes), selectors (reads), permissions (access helpers), forms, views (pages) and api
(REST) as in the app itself; kept in a package of their own because the app's modules are
already long.
"""
