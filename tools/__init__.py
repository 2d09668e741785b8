"""Maintainer tooling (spec pull, diff and update; the demo): not part of the wheel."""
