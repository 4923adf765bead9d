"""Code the learners of several domains share: tensors, shapes, caches, the linear learner, the CNN trainer.

Nothing here registers a learner; every other sub-package of ``domains`` may import it, and it imports
none of them.
"""
