"""Speech learners; importing the package registers them."""
from . import speech_cnn, speech_linear  # noqa: F401  (each module registers its learners)
