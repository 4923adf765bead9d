"""Image and video learners; importing the package registers them."""
from . import image_cnn, video_nets, vision_linear  # noqa: F401  (each module registers its learners)
