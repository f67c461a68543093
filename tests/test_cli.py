import json
import subprocess
import sys

from sslviz.__main__ import main

KEYS = {"method", "dataset", "seed", "seconds", "steps", "probe_acc", "knn_acc", "raw_pixel_probe_acc",
        "raw_pixel_knn_acc", "random_init_probe_acc", "random_init_knn_acc"}


def test_bench_prints_one_json_object(capsys):
    assert main(["bench", "--method", "simclr", "--dataset", "digits", "--seconds", "30", "--steps", "3", "--seed", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert KEYS <= set(out) and out["steps"] == 3 and out["dataset"] == "digits"
    assert all(0 <= out[k] <= 1 for k in KEYS if k.endswith("_acc"))


def test_bad_flags_exit_with_a_message():
    proc = subprocess.run([sys.executable, "-m", "sslviz", "bench", "--dataset", "imagenet"], capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'imagenet'" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "sslviz", "bench", "--seconds", "-3"], capture_output=True, text=True)
    assert proc.returncode == 2 and "positive" in proc.stderr


def test_diverged_run_exits_nonzero(capsys, monkeypatch):
    from sslviz import methods

    monkeypatch.setitem(methods.REGISTRY["simclr"].train, "lr", 1e12)
    assert main(["bench", "--dataset", "digits", "--steps", "30", "--no-baselines", "--json"]) == 1
    assert "diverged" in capsys.readouterr().err
