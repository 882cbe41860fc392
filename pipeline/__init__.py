"""mir: build MIR-style multi-image reasoning datasets with Apache Beam."""

__version__ = "0.1.0"
