"""Helpers shared by frr-ha topotests (on top of FRR's topotest library)."""
