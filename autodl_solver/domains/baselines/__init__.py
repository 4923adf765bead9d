"""The seed paper's baselines (Baselines 0-2 on any domain, AutoSpeech, AutoNLP 0); importing it registers them.

The AutoNLP Baselines 1 and 2 are word CNNs: ``text/text_cnn.py`` registers them beside ``text_cnn``.
"""
from . import autonlp_baselines, autospeech_baseline, baselines  # noqa: F401  (each module registers its learners)
