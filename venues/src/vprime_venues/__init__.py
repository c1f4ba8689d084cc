"""Every venue Vprime trades on, one folder each with the same shape (as NautilusTrader keeps `adapters/<venue>/`):

    <venue>/constants.py   fees, minimums, symbol rules: defined once, read by both sides
    <venue>/catalog.py     its `CatalogReader` (markets, prices, books), used by the router
    <venue>/execution.py   its `ExecutionAdapter` (equity, place, status, close, positions), used by the executor

`paper` has the execution side only: fills on live ticks, for deployments without a venue key.
"""
