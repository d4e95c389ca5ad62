"""signals: Chinese financial news → structured market events → event studies in DuckDB."""

__version__ = "0.1.0"
