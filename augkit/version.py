"""augkit's version (one place; the package, run folders and the command line read it here)."""

__version__ = "0.1.0"
