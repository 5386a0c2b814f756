"""How the tasks of one platform hold up on telemetry a detection was not written on.

For every task: its positives and look-alike events per seed, the precision of its
naive detection (the behaviour without the distinguishing condition) per seed, the
reference detection's F1 on the explored and the unseen seeds, and the F1 of each lazy
answer (`pytest_ctirealm.scoring.lazy`) pinned to the explored seed, on the unseen ones.

    python benchmarks/generalisation_bench.py [--platform linux|aks|cloud|all] [--explored 0]
        [--unseen 1 7] [--scale 1]
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass

from pytest_ctirealm.dataset import Task, load_benchmark
from pytest_ctirealm.engines import EmbeddedEngine, EngineError
from pytest_ctirealm.scoring.events import EventScore, positive_refs, score_events
from pytest_ctirealm.scoring.lazy import lazy_answers
from pytest_ctirealm.scoring.trace import RowTracer
from pytest_ctirealm.telemetry.simulator import Telemetry, generate


@dataclass
class World:
    seed: int
    telemetry: Telemetry
    engine: EmbeddedEngine
    tracer: RowTracer

    def score(self, kql: str, task: Task) -> EventScore:
        positives = positive_refs(self.telemetry.positives(list(task.positives)))
        try:
            rows = self.engine.query(kql, max_rows=2_000_000, timeout=120).records()
        except EngineError:
            return score_events(set(), positives)
        return score_events(self.tracer.trace(rows, kql).events, positives)

    def lookalike_events(self, family: str, tables: tuple[str, ...]) -> int:
        found = self.telemetry.lookalikes.get(family, {})
        return sum(len(keys) for table, keys in found.items() if table in tables)


def world(seed: int, scale: float) -> World:
    telemetry = generate(seed=seed, scale=scale)
    engine = EmbeddedEngine.with_tables(telemetry.tables, now=telemetry.end)
    return World(seed, telemetry, engine, RowTracer(telemetry.tables))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default="all", choices=("all", "linux", "aks", "cloud"))
    parser.add_argument("--explored", type=int, default=0)
    parser.add_argument("--unseen", type=int, nargs="+", default=[1, 7])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    benchmark = load_benchmark()
    tasks = [t for t in benchmark.suite("all") if args.platform in ("all", t.platform)]
    explored = world(args.explored, args.scale)
    unseen = [world(seed, args.scale) for seed in args.unseen]
    worlds = [explored, *unseen]
    seeds = "/".join(str(w.seed) for w in worlds)
    print(f"seeds {seeds} (explored {explored.seed}), scale {args.scale:g}\n")
    print(
        f"{'task':10} {'positives':>10} {'families':>8} {'look-alikes':>12}  "
        f"{'naive precision':>15}  tables"
    )
    naive_precisions: list[float] = []
    for task in tasks:
        positives = [
            len(positive_refs(w.telemetry.positives(list(task.positives)))) for w in worlds
        ]
        events = [sum(w.lookalike_events(f, task.tables) for f in task.lookalikes) for w in worlds]
        naive = benchmark.references[task.id].naive
        precision = [w.score(naive, task).precision for w in worlds] if naive else []
        naive_precisions += precision
        print(
            f"{task.id:10} {'/'.join(map(str, positives)):>10} {len(task.lookalikes):>8} "
            f"{'/'.join(map(str, events)):>12}  "
            + ("/".join(f"{p:.2f}" for p in precision) if precision else "(none)").rjust(15)
            + "  "
            + ", ".join(task.tables)
        )
    if naive_precisions:
        print(f"naive precision: max {max(naive_precisions):.2f}\n")

    names = ["reference", "in-list", "datatable", "report indicators", "take 10", "whole table"]
    print(f"{'task':10} " + " ".join(f"{n[:17]:>17}" for n in names))
    print(f"{'':10} " + " ".join(f"{'explored/unseen':>17}" for _ in names))
    worst: dict[str, float] = {}
    for task in tasks:
        answers = {"reference": benchmark.references[task.id].kql}
        answers |= lazy_answers(task, explored.telemetry, benchmark.reports)
        cells = []
        for name in names:
            if name not in answers:
                cells.append(f"{'-':>17}")
                continue
            mine = explored.score(answers[name], task).f1
            others = [w.score(answers[name], task).f1 for w in unseen]
            bound = min if name == "reference" else max
            worst[name] = bound([worst.get(name, others[0]), *others])
            cells.append(f"{mine:.2f}/{statistics.fmean(others):.2f}".rjust(17))
        print(f"{task.id:10} " + " ".join(cells))
    print(
        "unseen F1 (min for the reference, max for the others): "
        + ", ".join(f"{n} {v:.2f}" for n, v in worst.items())
    )
    for w in worlds:
        w.engine.close()


if __name__ == "__main__":
    main()
