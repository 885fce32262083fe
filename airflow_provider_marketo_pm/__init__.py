"""Apache Airflow provider for Marketo's Bulk Program Member Extract API."""

__version__ = "0.1.0"
