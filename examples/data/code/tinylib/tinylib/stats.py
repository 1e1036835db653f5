"""A running mean that never stores the values it has seen."""


class RunningMean:
    """Mean of a stream of numbers in constant memory.

    >>> m = RunningMean()
    >>> for x in (2, 4, 9):
    ...     m.add(x)
    >>> m.mean
    5.0
    """

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0

    def add(self, x: float) -> None:
        # Welford's update: no running sum, so no loss of precision on long streams.
        self.count += 1
        self.mean += (x - self.mean) / self.count
