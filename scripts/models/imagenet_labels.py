#!/usr/bin/env python3
"""Writes the 1000 ImageNet-1k class names, one per line in class-index order.

    imagenet_labels.py SYNSET_DIR OUTPUT

SYNSET_DIR holds timm's `imagenet_synsets.txt` (the 1000 WordNet ids in class order)
and `imagenet_synset_to_lemma.txt` (id, tab, comma-separated names).
"""
import os
import sys


def labels(synset_dir):
    with open(os.path.join(synset_dir, "imagenet_synsets.txt")) as f:
        synsets = [line.strip() for line in f if line.strip()]
    lemmas = {}
    with open(os.path.join(synset_dir, "imagenet_synset_to_lemma.txt")) as f:
        for line in f:
            synset, _, names = line.rstrip("\n").partition("\t")
            lemmas[synset] = names
    if len(synsets) != 1000:
        raise SystemExit(f"expected 1000 synsets, found {len(synsets)}")
    missing = [s for s in synsets if not lemmas.get(s)]
    if missing:
        raise SystemExit(f"no names for {len(missing)} synsets, e.g. {missing[0]}")
    return [lemmas[s] for s in synsets]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-3].strip())
    with open(sys.argv[2], "w") as out:
        out.write("\n".join(labels(sys.argv[1])) + "\n")
