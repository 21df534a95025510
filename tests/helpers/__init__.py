"""Helpers shared by several test files (``from helpers.lived_in import World``); no tests in here."""
