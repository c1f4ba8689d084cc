"""The local EVM chain Vprime trades on outside production: anvil, Uniswap V3 from its published builds, test
contracts of our own for the venues whose deployed code is not packaged (Ostium, GMX), and their keepers."""
