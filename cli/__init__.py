"""The seqsent command line: a thin Click layer over the seqsent library."""
