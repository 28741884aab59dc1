"""Built-in connectors, registered through the same registry a user's connector uses."""

from sources.connectors import files  # noqa: F401  (registers the file connector)
from sources.connectors.base import REGISTRY, Connector, Extract, connector_for, register

__all__ = ["REGISTRY", "Connector", "Extract", "connector_for", "register"]
