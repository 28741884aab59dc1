"""Built-in connectors, registered through the same registry a user's connector uses."""

from sources.connectors import files, rest, sql  # noqa: F401  (register the file, API and database connectors)
from sources.connectors.base import REGISTRY, Connector, Extract, connector_for, register

__all__ = ["REGISTRY", "Connector", "Extract", "connector_for", "register"]
