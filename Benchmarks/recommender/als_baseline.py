"""The ALS side of `weft-bench recommender`: the `implicit` library's alternating least
squares, trained offline on the same feedback events Weft learnt from online.

Reads JSON on stdin: {"users": U, "items": I, "k": 10, "checkpoints": [rounds…],
"events": [[user, item, reward, round], …]}. For each checkpoint, trains on the events of
earlier rounds and prints, as JSON on stdout, {"checkpoints": [[top-k items per user], …]}
(rated items left out, as Weft's recommend does). Needs `pip install implicit`.
"""

import json
import sys

import numpy as np
import scipy.sparse as sparse
from implicit.als import AlternatingLeastSquares

FACTORS = 32
REGULARIZATION = 0.05
ITERATIONS = 15
# Implicit-feedback confidence: 1 + ALPHA * reward for liked items; disliked and
# indifferent ones are still "seen" (confidence 1), so they are filtered as rated.
ALPHA = 20.0


def train_and_recommend(events, users, items, k):
    rows = [event[0] for event in events]
    columns = [event[1] for event in events]
    values = [1.0 + ALPHA * max(event[2], 0.0) for event in events]
    matrix = sparse.csr_matrix((values, (rows, columns)), shape=(users, items), dtype=np.float32)
    matrix.sum_duplicates()
    model = AlternatingLeastSquares(
        factors=FACTORS, regularization=REGULARIZATION, iterations=ITERATIONS, random_state=1)
    model.fit(matrix, show_progress=False)
    ids, _ = model.recommend(np.arange(users), matrix, N=k, filter_already_liked_items=True)
    return [[int(item) for item in row] for row in ids]


def main():
    task = json.load(sys.stdin)
    users, items, k = task["users"], task["items"], task["k"]
    results = []
    for checkpoint in task["checkpoints"]:
        events = [event for event in task["events"] if event[3] < checkpoint]
        if not events:
            results.append([[] for _ in range(users)])
            continue
        results.append(train_and_recommend(events, users, items, k))
    json.dump({"checkpoints": results}, sys.stdout)


if __name__ == "__main__":
    main()
