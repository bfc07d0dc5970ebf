"""Data: image loading, distortions, databases, pairs and the embedded default data set."""
