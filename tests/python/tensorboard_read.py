"""TensorBoard's own reader on one event file written by hpml (tests/nn/tensorboard_test.cpp).

  tensorboard_read.py <event file>   prints one JSON object:
    {"records": n, "file_version": "brain.Event:2",
     "scalars":    {tag: [{"step": s, "value": v, "wall_time": t}, ...]},
     "histograms": {tag: [{"step": s, "wall_time": t, "min": .., "max": .., "num": .., "sum": ..,
                           "sum_squares": .., "bucket_limit": [..], "bucket": [..]}, ...]}}

Runs with the venv scripts/setup makes (build/python-tensorboard/bin/python3, PyPI tensorboard),
never with /usr/bin/python3. The file is read twice: record by record by TensorBoard's record
reader (the TFRecord length and data CRCs are checked; a bad one raises DataLossError and this
script exits 1), then by EventAccumulator, the reader behind TensorBoard's scalar and histogram
views, keeping every event (size guidance 0). Exit 2: tensorboard cannot be imported.
"""
import json
import sys

try:
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.compat import tf
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub import pywrap_tensorflow
except ImportError as e:  # exit 2: the reader is not installed (the test says: run scripts/setup)
    print("tensorboard_read.py: %s cannot import TensorBoard's reader: %s" % (sys.executable, e), file=sys.stderr)
    sys.exit(2)


def records(path):
    """Every record's bytes, CRCs checked (the stub reader raises on a mismatch or truncation)."""
    reader = pywrap_tensorflow.PyRecordReader_New(tf.compat.as_bytes(path), 0, b"", None)
    out = []
    while True:
        try:
            reader.GetNext()
        except tf.errors.OutOfRangeError:
            return out
        out.append(reader.record())


def main():
    path = sys.argv[1]
    raw = records(path)
    first = event_pb2.Event.FromString(raw[0]) if raw else event_pb2.Event()
    acc = event_accumulator.EventAccumulator(
        path, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0})
    acc.Reload()
    tags = acc.Tags()
    scalars = {
        tag: [{"step": e.step, "value": e.value, "wall_time": e.wall_time} for e in acc.Scalars(tag)]
        for tag in tags[event_accumulator.SCALARS]
    }
    histograms = {}
    for tag in tags[event_accumulator.HISTOGRAMS]:
        histograms[tag] = []
        for e in acc.Histograms(tag):
            h = e.histogram_value
            histograms[tag].append({
                "step": e.step, "wall_time": e.wall_time, "min": h.min, "max": h.max, "num": h.num,
                "sum": h.sum, "sum_squares": h.sum_squares,
                "bucket_limit": list(h.bucket_limit), "bucket": list(h.bucket)})
    json.dump({"records": len(raw), "file_version": first.file_version, "scalars": scalars,
               "histograms": histograms}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
