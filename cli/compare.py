"""`seqsent compare`: options -> RunConfig + archs -> seqsent.comparison -> progress lines, a table, three files."""

from __future__ import annotations

import click

from seqsent_cli.main import import_tensorflow

from seqsent_cli.options import DATA_OPTIONS, TRAIN_OPTIONS, add_options, flags_not_given, resolve_config
from seqsent_cli.output import Output, json_option, verbose_option
from seqsent.config import ARCHS

# Every training option but --arch (the architectures are what is compared), those only recurrent archs take, and
# the streaming reader's and --steps-per-epoch: compare holds its data in memory (it scores the test texts by
# length), where an epoch is one pass.
STREAMING_ONLY = ("streaming", "classes", "split_key", "stream_validation_rows", "vocabulary_sample", "shuffle_buffer",
                  "on_bad_shard")
COMPARE_OPTIONS = [spec for spec in DATA_OPTIONS if spec.field not in STREAMING_ONLY] + [
    spec for spec in TRAIN_OPTIONS if spec.flag != "--arch" and spec.section != "semi"
    and spec.field not in ("encoder_path", "steps_per_epoch")]


@click.command("compare")
@add_options(COMPARE_OPTIONS)
@click.option("--archs", default=",".join(ARCHS), show_default=True,
              help="Comma-separated architectures, trained in this order (case and spaces ignored; one named twice "
                   "is trained once).")
@click.option("--output", type=click.Path(file_okay=False), default="comparison", show_default=True,
              help="Directory for compare.md, compare.csv and compare.png (written atomically).")
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty --output directory.")
@click.option("--quiet", is_flag=True, help="No progress from Keras (the per-architecture lines stay).")
@verbose_option
@json_option
@click.pass_context
def command(ctx, archs, output, overwrite, quiet, verbose, as_json, **_):
    """Train each architecture on the same splits, budget and seed, and compare them.

    Measures trainable parameters, training seconds per epoch, inference speed, validation
    and test accuracy and F1, the epoch of the lowest validation loss, and test accuracy
    by review length (short / medium / long: terciles of the test set's token counts).

    The data is read into memory (one table file, an aclImdb archive or directory, 'sample' or 'imdb'): compare
    architectures on a sample file of sharded or larger-than-memory data, then train the chosen one on all of it.

    Every arch's options are checked against each other and the data before any trains. An arch
    that fails while training (e.g. a NaN loss) is a "failed" row; the others still run, the
    files are written, and the command exits 1.
    """
    from seqsent.comparison import arch_configs, parse_archs
    from seqsent.errors import TrainingError
    from seqsent.files import check_output_dir
    from seqsent.layout import COMPARE_FILES

    out = Output(as_json, verbose, quiet)
    arch_list = parse_archs(archs)
    config = resolve_config(ctx, COMPARE_OPTIONS)
    given = {f"{spec.section}.{spec.field}" for spec in COMPARE_OPTIONS} - set(flags_not_given(ctx, COMPARE_OPTIONS))
    config.name = "compare"
    config.validate()
    arch_configs(config, arch_list)  # every arch's options, before hours of training, not after
    check_output_dir(output, overwrite, owned=COMPARE_FILES)
    import_tensorflow(click.get_current_context())
    from seqsent.comparison import compare, format_table, write_comparison

    progress = _Progress(out, config.train.epochs)
    with out.keras_progress():
        comparison = compare(config, arch_list, verbose=out.verbose, on_data=progress.data, on_start=progress.start,
                             on_result=progress.result, given=given)
    written = write_comparison(comparison, output, overwrite)
    if as_json:
        out.result({"data": comparison.data_description, "class_names": comparison.class_names,
                    "split_sizes": comparison.split_sizes, "rows": comparison.rows(), "output": str(written),
                    "notes": comparison.notes})
    else:
        out.say("")
        out.say(format_table(comparison))
        out.say(f"\nSaved {written / 'compare.md'}, {written / 'compare.csv'} and {written / 'compare.png'}")
    failed = comparison.failed()
    if failed:  # the table is kept, but a script must not mistake a partial comparison for a whole one
        raise TrainingError(f"{len(failed)} of {len(arch_list)} architecture(s) failed: {', '.join(failed)} "
                            f"(why is in the table and {written / 'compare.csv'})")


class _Progress:
    """The per-architecture lines of `seqsent compare`."""

    def __init__(self, out: Output, epochs: int):
        self.out, self.epochs = out, epochs

    def data(self, dataset) -> None:
        self.out.say(f"Data: {dataset.description}")
        self.out.say(f"Splits: train {len(dataset.train):,} / validation {len(dataset.validation):,} / "
                     f"test {len(dataset.test):,}; classes: {', '.join(dataset.class_names)}")
        for note in dataset.notes:
            self.out.say(f"Note: {note}")

    def start(self, index: int, total: int, arch: str) -> None:
        self.out.say(f"[{index}/{total}] {arch}: training (at most {self.epochs} epoch(s))")

    def result(self, index: int, total: int, r) -> None:
        for note in r.notes:
            self.out.say(f"Note: {note}")
        if r.error:
            self.out.say(f"[{index}/{total}] {r.arch}: failed: {r.error}")
            return
        self.out.say(f"[{index}/{total}] {r.arch}: {r.trainable_parameters:,} parameters, {r.epochs_run} epoch(s) in "
                     f"{r.train_seconds:.0f} s ({r.train_seconds_per_epoch:.1f} s/epoch), "
                     f"{r.inference_reviews_per_second:,.0f} reviews/s, val acc {r.val_accuracy:.3f}, "
                     f"test acc {r.test_accuracy:.3f}")
