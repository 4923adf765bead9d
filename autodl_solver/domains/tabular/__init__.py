"""Tabular learners; importing the package registers them."""
from . import tabular_gbdt, tabular_linear, tabular_mlp  # noqa: F401  (each module registers its learners)
