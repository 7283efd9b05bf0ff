"""Facts every stage shares (time parsing, record identity, secret patterns).

Any stage may import this package; stages never import each other. A fact lives here
when two stages need it, so that it is written once.
"""
