"""Vprime's shared package: event contracts and the plumbing every service uses.

Services import contracts from here and nowhere else; no service defines a topic
payload privately.
"""
