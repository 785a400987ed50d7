"""xfd matching library: pure functions and scikit-learn-style components.

Nothing here loads a model, opens a database or talks HTTP; see ``models/``
and ``api/`` for the edges.
"""
