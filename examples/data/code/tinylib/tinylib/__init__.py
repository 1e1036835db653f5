"""tinylib: running statistics and friendly number formatting."""

from tinylib.stats import RunningMean

__all__ = ["RunningMean"]
__version__ = "0.1.0"
