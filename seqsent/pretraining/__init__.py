"""Learning from unlabelled text before the classifier trains: word vectors (word2vec.py)."""
