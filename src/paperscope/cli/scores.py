"""`paperscope score`, `paperscope explain <paper>` and `paperscope model card`."""

from __future__ import annotations

import sys
from typing import Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from paperscope.cli.base import app, console, fail, runtime_or_exit
from paperscope.cli.embed import ADDRESS_HELP, ENGINE_HELP, runner_or_exit
from paperscope.services.display import counted, group

model_app = typer.Typer(help="The models behind the scores.")
app.add_typer(model_app, name="model")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@app.command("score")
def score_command(
    embedder: str = typer.Option(None, help="minilm, model2vec or tfidf: whose generation to bring up to date "
                                 "(default: the active one's, else PAPERSCOPE_EMBEDDER, else minilm)"),
    refit: bool = typer.Option(False, "--refit", help="Refit the TF-IDF embedder now (a new generation)"),
    k: int = typer.Option(10, min=1, max=100, help="Earlier neighbours behind each Novelty"),
    as_of_year: int = typer.Option(None, help="Year citation counts are taken as of (default: this year)"),
    engine_name: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: str = typer.Option(None, "--address", help=ADDRESS_HELP),
) -> None:
    """Compute every score: embeddings (only new or changed papers), Novelty, categories, AI Score."""
    from paperscope.analytics.embedders import EmbedderUnavailable
    from paperscope.services import scores

    runner = runner_or_exit(engine_name, address)
    runtime = runtime_or_exit()
    settings, engine = runtime.settings, runtime.engine
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                for other in tasks.values():  # the previous stage is over
                    task = progress.tasks[other]
                    progress.update(other, completed=task.total or 1, total=task.total or 1)
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            summary = scores.run_scores(engine, embedder, refit=refit, k=k, as_of_year=as_of_year, progress=report,
                                        data_dir=settings.data_dir, runner=runner, default_embedder=settings.embedder)
        except (EmbedderUnavailable, ValueError) as exc:
            fail(str(exc))
            raise
    if summary.refit_reason:
        console.print(f"[yellow]refitted {summary.embedder}:[/] {summary.refit_reason} — a new generation, "
                      "every paper embedded")
    console.print(
        f"[green]scored {summary.papers:,} papers[/] with generation {summary.generation} "
        f"({summary.embedder}@{summary.version}): "
        f"{summary.embedded:,} embedded, {summary.unchanged:,} unchanged · novelty {summary.novelty_raw:,} "
        f"({summary.novelty_pct:,} with a percentile, {summary.novelty_searched:,} searched, "
        f"{summary.novelty_search}) · "
        f"{summary.categories_predicted:,} categories predicted · "
        f"AI Score {summary.ai_scored:,}", soft_wrap=True
    )
    if summary.ai_status != "trained":
        console.print(f"[yellow]no AI Score:[/] {summary.ai_reason}")
    console.print("  see why with: paperscope explain <paper id> · paperscope model card")


@app.command("explain")
def explain_command(
    paper: str = typer.Argument(..., help="Paper id (arXiv id, DOI, paperscope id)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Each score of one paper with its evidence."""
    from paperscope.services import scores

    engine = runtime_or_exit().engine
    out = scores.explain_paper(engine, paper)
    if out is None:
        fail(f"no paper {paper!r} in the store")
        return
    if as_json:
        sys.stdout.write(orjson.dumps(out).decode() + "\n")
        return
    console.print(
        f"[bold]{out['title']}[/] ({out['id']}, {out['published'] or out['year'] or '—'}, "
        f"{out['category'] or 'no category'})"
    )
    if not out["scored"]:
        console.print(out["reason"])
        return
    n = out["novelty"]
    console.print(
        f"\n[bold]Novelty[/] {_fmt(n['percentile'], 0)}% (raw {_fmt(n['raw'], 3)}; "
        f"percentile among {counted(n['peers'] or 0, 'paper')} of {group(n['group'])}; computed by embedder "
        f"generation {n['generation'] if n['generation'] is not None else '?'}, {n['model']})"
    )
    if n["reason"]:
        console.print(f"  {n['reason']}")
    if n["neighbours"]:
        table = Table(title=f"{len(n['neighbours'])} nearest earlier papers ({n['model']})")
        for column in ("similarity", "year", "id", "title"):
            table.add_column(column, overflow="fold")
        for nb in n["neighbours"]:
            table.add_row(f"{nb['similarity']:.3f}", str(nb["year"] or "—"), nb["id"], nb["title"] or "")
        console.print(table)
    a = out["ai_score"]
    console.print(f"\n[bold]AI Score[/] {_fmt(a['score'])}")
    if a["reason"]:
        console.print(f"  {a['reason']}")
    if a["contributions"]:
        table = Table(title=f"score = 100 × (baseline {a['baseline']:.3f} + contributions), clipped to 0–100")
        for column in ("feature", "value", "contribution (points)"):
            table.add_column(column)
        for c in a["contributions"]:
            table.add_row(c["feature"], f"{c['value']:.3g}", f"{100 * c['contribution']:+.1f}")
        table.add_row("all other features", "", f"{100 * a['other']:+.1f}")
        console.print(table)
    p = out["predicted_category"]
    console.print(
        f"\n[bold]Predicted category[/] {p['category'] or '—'}"
        + (f" ({p['confidence']:.0%})" if p["confidence"] else "")
        + (f" — {p['reason']}" if p["reason"] else "")
    )
    code = out["code"]
    console.print(f"[bold]Code[/] {', '.join(code['urls']) if code['urls'] else '—'}")


@model_app.command("card")
def model_card_command(as_json: bool = typer.Option(False, "--json")) -> None:
    """What each model was trained on, how it was evaluated, and where it does not apply."""
    from paperscope.services import scores

    engine = runtime_or_exit().engine
    cards = scores.model_cards(engine)
    if as_json:
        sys.stdout.write(orjson.dumps(cards, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    ai = cards["ai_score"]
    console.print("[bold]AI Score[/]")
    if ai is None:
        console.print("  no model yet: run `paperscope score`")
    elif ai["status"] != "trained":
        console.print(f"  not trained: {ai['reason']}")
    else:
        ev = ai["evaluation"]
        console.print(f"  model: {ai['model']} (alpha {ai['alpha']:g}), embeddings {ai['embedder']}")
        console.print(f"  trained on: {ai['trained_on']}")
        console.print(f"  evaluation: {ev['split']}")
        table = Table()
        for column in ("test set", "n", "Spearman", "NDCG@20", "NDCG@20 random"):
            table.add_column(column)
        table.add_row(
            "all",
            str(ev["test"]["n"]),
            _fmt(ev["spearman"], 3),
            _fmt(ev["ndcg@20"], 3),
            _fmt(ev["ndcg@20_random"], 3),
        )
        for source, m in ev["by_label_source"].items():
            table.add_row(
                source,
                str(m["n"]),
                _fmt(m["spearman"], 3),
                _fmt(m["ndcg@20"], 3),
                _fmt(m["ndcg@20_random"], 3),
            )
        console.print(table)
        console.print("  strongest features: " + "; ".join(f"{n} {c:+.3f}" for n, c in ai["strongest_features"][:6]))
        console.print("  does not apply to: " + "; ".join(ai["does_not_apply"]))
    cat = cards["category"]
    console.print("\n[bold]Category classifier[/]")
    if cat is None:
        console.print("  no model yet: run `paperscope score`")
    elif cat["status"] != "trained":
        console.print(f"  not trained: {cat['reason']}")
    else:
        h, lc = cat["held_out"], cat.get("listing_check")
        console.print(f"  {cat['model']}, {cat['n_usable']:,} papers in {len(cat['classes'])} classes")
        console.print(
            f"  held-out accuracy {h['accuracy']:.1%} on {h['n_test']} "
            f"(majority class {h['majority_baseline']:.1%});"
            f" {h['confident_share']:.0%} above {cat['min_confidence']:.0%} confidence, "
            f"{_fmt(h['confident_accuracy'] and 100 * h['confident_accuracy'])}% right"
        )
        if lc:
            console.print(f"  against listing tags: {lc['accuracy']:.1%} of {lc['n']} ({lc['note']})")
    emb = cards["embedder"]
    if emb:
        console.print(
            f"\n[bold]Embedder[/] {emb['name']}@{emb['version']}: fitted on {emb['fitted_on']:,} texts "
            f"({emb['reason']})"
        )
    code = cards["code_detection"]
    console.print(
        f"\n[bold]Code detection[/] against {code['badges']} listing badges on {code['cards']} cards: "
        f"precision {_fmt(code['precision'] and 100 * code['precision'])}%, "
        f"recall {_fmt(code['recall'] and 100 * code['recall'])}%"
    )
    cov = cards["coverage"]
    console.print(
        f"\n[bold]Coverage[/] novelty {cov['novelty_raw']:,} ({cov['novelty_pct']:,} with percentile) · "
        f"AI Score {cov['ai_score']:,} · predicted categories {cov['predicted_category']:,}"
    )
