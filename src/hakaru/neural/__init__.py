"""A real, tiny neural language model behind the :class:`~hakaru.backends.base.Backend` interface.

``neural-sum`` is the HBPO decoder (:mod:`hakaru.hbpo.model`) trained by hakaru on CPU to add up
to 8 numbers of tree-sum's distribution (:mod:`~hakaru.neural.data`,
:mod:`~hakaru.neural.train`), with its own tokenizer (:mod:`~hakaru.neural.tokenizer`). Its
weights and model card are committed in ``hakaru/neural/weights/``; ``--backend neural --model
neural-sum`` serves them (:mod:`~hakaru.neural.backend`: real tokens, real forward passes
counted, temperature sampling with a seed, dynamic batching). Its errors are the model's, not
parameters: measured on a model, not exact by construction as on the simulator.

``neural-hanoi`` (:mod:`~hakaru.neural.hanoi_data`) is the same decoder trained on the optimal
Towers of Hanoi solution's steps (3 … 10 disks): MAKER's step, served with ``--backend neural
--model neural-hanoi`` to ``hakaru maker calibrate`` and ``hakaru maker run``.

Importing this package does not import torch; loading, training and serving do, and say
``pip install 'hakaru[train]'`` when it is missing.

>>> from hakaru.neural import SumTokenizer
>>> len(SumTokenizer())
15
"""

from hakaru.neural.tokenizer import SumTokenizer, numbers_of_prompt
from hakaru.neural.weights import default_weights, load_card, require_torch

__all__ = ["SumTokenizer", "default_weights", "load_card", "numbers_of_prompt", "require_torch"]
