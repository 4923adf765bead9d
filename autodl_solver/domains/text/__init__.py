"""Text learners; importing the package registers them."""
from . import text_cnn, text_embed_linear, text_fasttext, text_linear, text_transformer  # noqa: F401  (each registers its learners)
