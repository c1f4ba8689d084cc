"""The venue simulator: Hyperliquid, Ostium, GMX and a SPOT venue, offline, from the catalog fixture.

Every venue's markets, prices and books come from one `Exchange` state: one seeded random walk per
canonical instrument, each venue quoting it with its own spread, depth, fees and funding. Admin
endpoints set books, open or close and delist markets, and inject faults (`ok`, `down`, `timeout`,
`reject`) per venue.
"""
