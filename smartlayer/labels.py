"""The label vocabulary of labelled traffic: which labels mean "a client the site wants to serve".

A leaf module (no imports), shared by the traffic generator (which writes the
labels), training (which evaluates against them) and the replay (which
reports per label) — so none of them loads another to learn a word.
"""

#: Labels of generated traffic a site wants to serve.  Every other label is hostile.
BENIGN_LABELS = frozenset({"human", "api_client", "crawler", "office", "customer", "telemetry", "product_order"})

#: Labels counted as benign when a labelled log is evaluated: the generator's
#: benign scenarios plus the spellings hand-labelled logs use for "no attack".
BENIGN = frozenset({"", "-", "normal", "benign"}) | BENIGN_LABELS
