"""Data layer: Metadata, Dataset, the AutoDL TFRecord reader/writer, converters."""
from .dataset import ArrayDataset, Dataset
from .metadata import Metadata

__all__ = ["ArrayDataset", "Dataset", "Metadata"]
