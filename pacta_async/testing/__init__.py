"""Testing aids: an in-memory reference Pacta server and a fake clock."""

from ._fakeclock import FakeClock

__all__ = ["FakeClock"]
