"""Prompt templates, kept as data so they can be read, diffed and replaced without code."""
