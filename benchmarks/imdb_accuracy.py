"""Accuracy on full IMDB, each configuration run with `seqsent` commands as a user runs them, in one run.

    python benchmarks/imdb_accuracy.py [--archive ../shared/datasets/aclImdb_v1.tar.gz] [--only b3,e,f,g,h,i]

Rows (train: the 25k train reviews, validation = whole movies held out of them; test: all 25k test reviews,
scored on the EXPORTED SavedModel, as `seqsent train` does):
  (a)  the official Keras BiLSTM example's configuration, with seqsent's builders;
  (b)  linear bag-of-words baselines: TF-IDF unigrams, counts of 1-2-grams, BM25-weighted unigrams, and the
       NBSVM of 1-3-grams (the strongest linear baseline of the literature; every other row is compared with it);
  (c)  --preset imdb-best (NBSVM + 2 BiGRUs), supervised only; (d) the same with word2vec vectors;
  (e)  one recurrent model (--preset imdb-supervised), supervised only: its word vectors learned from the
       labelled train texts alone (no unlabelled text at all);
  (e2) the same with word2vec vectors learned from train + the 50,000 unlabelled reviews;
  (f)  the same started from a language model pretrained on train + the unlabelled reviews (pretrain-lm);
  (g)  virtual adversarial training on the unlabelled reviews, word2vec vectors of train + unlabelled
       (--preset imdb-unlabelled: a BiGRU(64));
  (g2) (e2) + VAT: the same BiGRU(128) as (e2), so the pair is VAT's controlled ablation;
  (h)  (g) started from a language model of its shape instead of word2vec;
  (i), (j), (k) the NBSVM and (g) / (h) / (e2) combined by `seqsent ensemble` (log-odds weights chosen on validation; nothing
       trained again; the time of both rows counted);
  (l)  --preset few-labels with all the labels: (e2)'s BiGRU(128) with its word2vec vectors frozen and the vocabulary
       learned from the labelled and the unlabelled reviews; (l2) the same with the vectors trained, which
       separates freezing from (l)'s longer schedule (60 epochs, patience 8, against (e2)'s 4 and 1);
       (l3) reads 1,000 tokens instead of 400; (l4) has 192 recurrent units instead of 128; (l5), (l6) are (l)
       with other seeds of weights, shuffling and dropout (the same split and vectors: the seed's spread);
  (m)  the NBSVM and (l) combined ((m3), (m4): with (l3), (l4)); (n), (o), (p) the NBSVM, (l) and (e2) / (g2) / both: recurrent members that
       differ in how their vectors were trained (frozen, fine-tuned, fine-tuned with VAT); (q) the NBSVM and the
       four recurrent models of (e)-(g2); (m5) the NBSVM, (l) and (l4); (m6) the NBSVM and the three seeds of (l); (m7) all five;
       (r), (r2) recurrent models only ((l) + (l4); the three seeds of (l)), no n-gram model in the export.
       The best ensemble is the one with the best validation accuracy, not test.
Every setting was chosen on the validation split; the test split is read only by this final scoring. Each
row's wall time is split into pretraining (word2vec or the language model, done once and counted in every row
that uses it) and the rest (reading the data, training, export and scoring). Each export is then compared
with the NBSVM's on the same test reviews (McNemar's test, benchmarks/paired_accuracy.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from imdb_bilstm import REFERENCE_FLAGS  # noqa: E402  (the Keras example, as the serving benchmark runs it)
from paired_accuracy import mcnemar  # noqa: E402

SEQSENT = [sys.executable, "-c", "from seqsent_cli.main import main; main()"]
EMBEDDINGS = "imdb-w2v.vec"
ENCODER = "imdb-encoder"
NBSVM = "b3"

# What the pretraining steps produce; a row lists the ones it needs.
TRAIN_VECTORS = "train-w2v.vec"
PRETRAINING = {
    # One word2vec thread: the same vectors on every run (threads race), so rows of two runs can be compared.
    "word2vec": ["pretrain-embeddings", "--workers", "1", "--output", EMBEDDINGS],
    "word2vec, labelled texts only": ["pretrain-embeddings", "--workers", "1", "--no-unsup", "--output", TRAIN_VECTORS],
    "language model": ["pretrain-lm", "--output", ENCODER, "--preset", "imdb-supervised"],
    "language model (GRU 64)": ["pretrain-lm", "--output", ENCODER + "-64", "--preset", "imdb-unlabelled"],
}
UNLABELLED = ["--unlabelled", "{archive}"]  # its train/unsup reviews: the 50,000 unlabelled ones
# key: (label, pretraining steps, `seqsent train` flags) or (label, "ensemble", [row keys to combine]).
ROWS = {
    "a": ("(a) Keras example BiLSTM", [], ["--arch", "bilstm", *REFERENCE_FLAGS]),
    "b": ("(b) TF-IDF unigrams, linear", [], ["--arch", "tfidf", "--max-tokens", "30000"]),
    "b2": ("(b) 1-2-gram counts, linear", [], ["--arch", "ngram", "--max-tokens", "200000"]),
    "b4": ("(b) BM25 unigrams, linear", [], ["--arch", "bm25", "--max-tokens", "30000"]),
    "b3": ("(b) NBSVM, 1-3-grams", [], ["--arch", "nbsvm", "--max-tokens", "1048576"]),
    "c": ("(c) imdb-best, supervised only", [], ["--preset", "imdb-best"]),
    "d": ("(d) imdb-best + word2vec vectors", ["word2vec"], ["--preset", "imdb-best", "--embeddings", EMBEDDINGS]),
    "e": ("(e) one recurrent model, supervised only (word2vec of the labelled texts)",
          ["word2vec, labelled texts only"], ["--preset", "imdb-supervised", "--embeddings", TRAIN_VECTORS]),
    "e2": ("(e2) one recurrent model + word2vec of train + unlabelled", ["word2vec"],
           ["--preset", "imdb-supervised", "--embeddings", EMBEDDINGS]),
    "f": ("(f) one recurrent model + language-model pretraining", ["language model"],
          ["--preset", "imdb-supervised", "--encoder", ENCODER]),
    "g": ("(g) --preset imdb-unlabelled: BiGRU(64) + word2vec + VAT", ["word2vec"],
          ["--preset", "imdb-unlabelled", "--embeddings", EMBEDDINGS, *UNLABELLED]),
    "g2": ("(g2) (e2) + VAT: BiGRU(128), up to 8 epochs, patience 2", ["word2vec"],
           ["--preset", "imdb-supervised", "--embeddings", EMBEDDINGS, "--vat", *UNLABELLED, "--epochs", "8",
            "--patience", "2"]),
    "h": ("(h) (g) started from a language model of its shape", ["language model (GRU 64)"],
          ["--preset", "imdb-unlabelled", "--encoder", ENCODER + "-64", *UNLABELLED]),
    "i": ("(i) NBSVM + (g), log-odds averaged", "ensemble", ["b3", "g"]),
    "j": ("(j) NBSVM + (h), log-odds averaged", "ensemble", ["b3", "h"]),
    "k": ("(k) NBSVM + (e2), log-odds averaged", "ensemble", ["b3", "e2"]),
    "l": ("(l) --preset few-labels: BiGRU(128), frozen word2vec of train + unlabelled, their vocabulary", ["word2vec"],
          ["--preset", "few-labels", "--embeddings", EMBEDDINGS, *UNLABELLED]),
    "l2": ("(l2) (l) with its word vectors trained (--train-embeddings): the frozen vectors' share of (l)", ["word2vec"],
           ["--preset", "few-labels", "--train-embeddings", "--embeddings", EMBEDDINGS, *UNLABELLED]),
    "l3": ("(l3) (l) reading the last 1,000 tokens of a review instead of 400 (--sequence-length 1000)",
           ["word2vec"], ["--preset", "few-labels", "--sequence-length", "1000", "--embeddings", EMBEDDINGS,
                          *UNLABELLED]),
    "l4": ("(l4) (l) with BiGRU(192) instead of 128 (--units 192): more capacity over the same frozen vectors",
           ["word2vec"], ["--preset", "few-labels", "--units", "192", "--embeddings", EMBEDDINGS, *UNLABELLED]),
    "l5": ("(l5) (l) with another seed of weights, shuffling and dropout (--train-seed 1338)", ["word2vec"],
           ["--preset", "few-labels", "--train-seed", "1338", "--embeddings", EMBEDDINGS, *UNLABELLED]),
    "l6": ("(l6) (l) with a third seed (--train-seed 1339)", ["word2vec"],
           ["--preset", "few-labels", "--train-seed", "1339", "--embeddings", EMBEDDINGS, *UNLABELLED]),
    "m": ("(m) NBSVM + (l), log-odds averaged", "ensemble", ["b3", "l"]),
    "m3": ("(m3) NBSVM + (l3), log-odds averaged", "ensemble", ["b3", "l3"]),
    "m4": ("(m4) NBSVM + (l4), log-odds averaged", "ensemble", ["b3", "l4"]),
    "n": ("(n) NBSVM + (l) + (e2), log-odds averaged", "ensemble", ["b3", "l", "e2"]),
    "o": ("(o) NBSVM + (l) + (g2), log-odds averaged", "ensemble", ["b3", "l", "g2"]),
    "p": ("(p) NBSVM + (l) + (e2) + (g2), log-odds averaged", "ensemble", ["b3", "l", "e2", "g2"]),
    "q": ("(q) NBSVM + (e) + (e2) + (g) + (g2), log-odds averaged", "ensemble", ["b3", "e", "e2", "g", "g2"]),
    "m5": ("(m5) NBSVM + (l) + (l4), log-odds averaged", "ensemble", ["b3", "l", "l4"]),
    "m6": ("(m6) NBSVM + (l) + (l5) + (l6): three seeds of (l)", "ensemble", ["b3", "l", "l5", "l6"]),
    "m7": ("(m7) NBSVM + (l) + (l4) + (l5) + (l6), log-odds averaged", "ensemble", ["b3", "l", "l4", "l5", "l6"]),
    "r": ("(r) (l) + (l4), no n-gram model: two recurrent models averaged", "ensemble", ["l", "l4"]),
    "r2": ("(r2) (l) + (l5) + (l6), no n-gram model: three seeds of (l) averaged", "ensemble", ["l", "l5", "l6"]),
}


RESULTS = "results.jsonl"


def _earlier_results(work: Path) -> tuple[dict[str, dict], dict[str, float]]:
    """Rows and pretraining times already measured in this work dir (their exports are there too)."""
    done, pretrained = {}, {}
    if (work / RESULTS).is_file():
        for line in (work / RESULTS).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            done[record["row"]["key"]] = record["row"]
            pretrained.update(record["pretrained"])
    for key, row in done.items():  # rows written before ensembles counted a shared pretraining step once
        if key in ROWS and ROWS[key][1] == "ensemble":
            row["pretraining_s"] = pretraining_seconds(key, pretrained)
    return done, pretrained


def pretraining_steps(key: str) -> set[str]:
    """The pretraining steps a row needs; an ensemble's members share theirs (word2vec done once serves both)."""
    _, steps, flags = ROWS[key]
    return {step for member in flags for step in pretraining_steps(member)} if steps == "ensemble" else set(steps)


def pretraining_seconds(key: str, pretrained: dict[str, float]) -> float:
    return sum(pretrained.get(step, 0.0) for step in pretraining_steps(key))


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(SEQSENT + args, cwd=cwd, check=True)
    return time.perf_counter() - started


def pretrain(step: str, archive: Path, work: Path, done: dict[str, float]) -> float:
    """Run a pretraining step once per benchmark run; its time is counted in every row that uses it."""
    if step not in done:
        done[step] = timed([*PRETRAINING[step], "--data", str(archive)], work)
    return done[step]


def bench(key: str, archive: Path, work: Path, pretrained: dict[str, float], done: dict[str, dict]) -> dict:
    label, steps, flags = ROWS[key]
    name = f"bench-{key}"
    if steps == "ensemble":  # trained rows combined, nothing trained again; their own times counted too
        missing = [k for k in flags if k not in done]
        if missing:
            sys.exit(f"row {key} combines rows {flags}: run {missing} in the same benchmark run first")
        seconds = timed(["ensemble", *[done[k]["export"] for k in flags], "--name", name], work)
        metrics = _newest_metrics(work / "saved_models" / name, exported=True)
        return {"key": key, "label": label, "accuracy": metrics["test_metrics"]["accuracy"],
                "examples": metrics["test_metrics"]["examples"],
                "pretraining_s": pretraining_seconds(key, pretrained),
                "rest_s": seconds + sum(done[k]["rest_s"] for k in flags),
                "train_s": sum(done[k]["train_s"] for k in flags),
                "parameters": sum(done[k]["parameters"] for k in flags), "export": str(_newest_version(work, name)),
                "members": {}}
    pretraining = sum(pretrain(step, archive, work, pretrained) for step in steps)
    flags = [flag.format(archive=archive) for flag in flags]
    training = timed(["train", "--data", str(archive), "--name", name, "--quiet", *flags], work)
    metrics = _newest_metrics(work / "runs" / name)
    return {"key": key, "label": label, "accuracy": metrics["test"]["accuracy"],
            "examples": metrics["split_sizes"]["test"], "pretraining_s": pretraining, "rest_s": training,
            "train_s": metrics["train_seconds"], "parameters": metrics["parameters"],
            "export": str(work / metrics["export_dir"]), "members": member_accuracies(work / metrics["export_dir"],
                                                                                     archive)}


def _newest_version(work: Path, name: str) -> Path:
    base = work / "saved_models" / name
    return base / str(max(int(p.name) for p in base.iterdir() if p.name.isdigit()))


def _newest_metrics(base: Path, exported: bool = False) -> dict:
    if exported:
        version = max((p for p in base.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
        return json.loads((version / "assets.extra" / "seqsent.json").read_text(encoding="utf-8"))
    runs = sorted(base.glob("*/metrics.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(runs[-1].read_text(encoding="utf-8"))


def test_split(archive: Path):
    from seqsent.config import DataConfig
    from seqsent.data import load_dataset

    return load_dataset(DataConfig(source=str(archive))).test


def member_accuracies(export: Path, archive: Path) -> dict[str, float]:
    """Test accuracy of each model inside an ensemble export ({} for a single model)."""
    import numpy as np

    from seqsent.layout import keras_file
    from seqsent.serving.inference import load_model

    keras_model = load_model(keras_file(export)).text_model  # keras_model.json (or an older export's model.keras)
    if "ensemble_members" not in [layer.name for layer in keras_model.layers]:
        return {}
    test = test_split(archive)
    outputs = keras_model.get_layer("ensemble_members").predict(np.array(test.texts, dtype=object), batch_size=256,
                                                                 verbose=0)
    names = [f"recurrent model {i}" for i in range(1, len(outputs))] + ["NBSVM"]
    return {name: float(np.mean((output[:, 0] > 0.5) == np.asarray(test.labels))) for name, output in zip(names, outputs)}


def compare_with_nbsvm(rows: list[dict], archive: Path) -> None:
    """Each row's export against the NBSVM's of the same run, on the same test reviews (McNemar)."""
    import numpy as np

    from seqsent.serving.inference import load_model

    baseline = next((row for row in rows if row["key"] == NBSVM), None)
    if baseline is None:
        return
    test = test_split(archive)
    labels = np.asarray(test.labels)
    right = {row["key"]: load_model(row["export"]).predict_proba(test.texts).argmax(axis=1) == labels for row in rows}
    for row in rows:
        only_row = int(np.sum(right[row["key"]] & ~right[NBSVM]))
        only_nbsvm = int(np.sum(~right[row["key"]] & right[NBSVM]))
        row["vs_nbsvm"] = (only_row, only_nbsvm, mcnemar(only_row, only_nbsvm)[1])


def print_table(rows: list[dict]) -> None:
    print("\n| configuration | test accuracy | vs NBSVM (right only here / only NBSVM, McNemar p) | wall time "
          "| of which pretraining | training | trainable parameters |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        versus = "–"
        if "vs_nbsvm" in row and row["key"] != NBSVM:
            only_row, only_nbsvm, p = row["vs_nbsvm"]
            versus = f"{100 * (only_row - only_nbsvm) / row['examples']:+.2f} pt ({only_row} / {only_nbsvm}, p = {p:.3g})"
        wall = (row["pretraining_s"] + row["rest_s"]) / 60
        print(f"| {row['label']} | {100 * row['accuracy']:.2f}% | {versus} | {wall:.1f} min | "
              f"{row['pretraining_s'] / 60:.1f} min | {row['train_s'] / 60:.1f} min | {row['parameters']:,} |")
    for row in rows:
        for member, accuracy in row["members"].items():
            print(f"{row['label']}: its {member} alone {100 * accuracy:.2f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz")
    parser.add_argument("--only", default="b3,e2,g,i,k,e,b4,f", help=f"comma-separated rows of {','.join(ROWS)}")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keeps results.jsonl: rows measured there before are reused, not run again")
    args = parser.parse_args()
    if not args.archive.is_file():
        sys.exit(f"no archive at {args.archive}")
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ROWS]
    if unknown:
        sys.exit(f"unknown rows {unknown}; choose from {','.join(ROWS)}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="seqsent-accuracy-"))
    work.mkdir(parents=True, exist_ok=True)
    archive, rows = args.archive.resolve(), []
    done, pretrained = _earlier_results(work)
    for key in keys:
        if key in done:  # measured by an earlier invocation with this --workdir (a long run can be split)
            rows.append(done[key])
            continue
        rows.append(bench(key, archive, work, pretrained, done))
        done[key] = rows[-1]
        print(json.dumps(rows[-1]), flush=True)
        with open(work / RESULTS, "a", encoding="utf-8") as results:
            results.write(json.dumps({"row": rows[-1], "pretrained": pretrained}) + "\n")
    compare_with_nbsvm(rows, archive)
    print_table(rows)
    print(f"\n(test: {rows[0]['examples']:,} reviews, scored on each exported SavedModel; pretraining steps: "
          + ", ".join(f"{step} {seconds / 60:.1f} min" for step, seconds in pretrained.items())
          + f"; work dir {work})")


if __name__ == "__main__":
    main()
