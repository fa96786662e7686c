"""China-specific building blocks: identifiers, phone numbers, the search key and regions.

Plain functions with no state of their own; the customer services call them and decide what to
store. ``regions`` is the only module that touches the database (the ``core.Region`` table).
"""
