"""paperscope: a self-hosted research radar for machine-learning papers."""

__version__ = "0.1.0"
