"""What checks an answer before and after it is written: whether to answer at all (abstention), which sentences a
cited passage supports (grounding, facts, sentences), which passages the answer used (citations), a model that
loops (repetition), and the scoring of answers against expected ones (evaluation)."""
